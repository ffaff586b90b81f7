"""Real NWB files written by other tools (shared_data/nwb_corpus, see its README)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from neurodecode.errors import NWBFormatError, SpikeTimesWarning
from neurodecode.io import read_nwb


@pytest.fixture(scope="module")
def corpus(shared_data):
    return shared_data / "nwb_corpus"


def _read_quiet(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpikeTimesWarning)
        return read_nwb(path, **kwargs)


def test_pynapple_file(corpus):
    s = _read_quiet(corpus / "pynapple_A8604-211122.nwb")
    assert s.unit_ids.tolist() == [6, 191, 206]
    assert s.spikes.counts.tolist() == [11020, 4690, 5644]
    lo, hi = s.spikes.time_range()
    assert 0 <= lo < 1 and 1087 < hi < 1088
    # Electrodes have empty location: the area is unknown, not invented.
    assert s.units["brain_area"].tolist() == ["", "", ""]
    # Object references become the referenced group's name.
    assert s.units["electrode_group"].tolist() == ["group0_psb"] * 3
    epochs = s.intervals["epochs"]
    assert len(epochs) == 1 and epochs["tags"].iloc[0] == ["wake"]
    assert s.metadata["session_id"] == "A8604-211122"
    assert s.metadata["nwb_version"] == "2.4.0"


def test_neuroconv_file_uint16_index(corpus, shared_data):
    import h5py

    path = corpus / "neuroconv_hippocampus_subset.nwb"
    with h5py.File(path, "r") as f:
        assert f["units/spike_times_index"].dtype == np.uint16
    s = _read_quiet(path)
    assert s.n_units == 10 and s.spikes.n_spikes == 1725
    assert s.spikes.offsets.dtype == np.int64
    assert list(s.units.columns) == ["brain_area"]  # spike_times only in the file
    # Units carry no electrode link, so no area is guessed from the 96 electrodes.
    assert set(s.units["brain_area"]) == {""}
    assert s.metadata["lab"] == "Buzsaki"
    assert s.metadata["subject"]["species"] == "Rattus norvegicus"


def test_dandi_file_compound_location_unsorted(corpus):
    path = corpus / "sub-anm369963_ses-20170228.nwb"
    with pytest.warns(SpikeTimesWarning, match=r"sub-anm369963.*unit ids 1001"):
        s = read_nwb(path)
    assert s.unit_ids.tolist() == [1001] and s.spikes.n_spikes == 1679
    assert np.all(np.diff(s.spikes.times) >= 0)
    assert s.units["brain_area"].tolist() == ["ALM"]
    assert s.units["quality"].tolist() == ["Excellent"]
    assert s.units["depth"].tolist() == [780.0]
    assert s.units["electrodes"].iloc[0].tolist() == [49]  # row 48 of electrodes -> id 49
    trials = s.intervals["trials"]
    assert len(trials) == 178
    assert {"type", "response", "stim_present", "is_good", "cue_start_time", "pole_in_time",
            "pole_out_time"} <= set(trials.columns)
    assert trials["stim_present"].dtype == np.int32
    assert set(trials["response"]) <= {"correct", "incorrect", "early lick", "no response"}
    assert set(s.behavior.data_vars) == {"lick_left_times", "lick_right_times"}
    assert s.behavior["lick_left_times"].sizes["lick_left_times_time"] == 782
    with pytest.raises(NWBFormatError, match=r"sub-anm369963.*not sorted.*1001"):
        read_nwb(path, sort_spikes="raise")


def test_pynwb_file_without_units(corpus):
    path = corpus / "pynwb_2.1.0_no_units.nwb"
    with pytest.raises(NWBFormatError, match=r"pynwb_2\.1\.0_no_units\.nwb: no Units table"):
        read_nwb(path)


def test_matnwb_region_reference_index(corpus):
    s = _read_quiet(corpus / "matnwb_ecephys_tutorial.nwb")
    assert s.unit_ids.tolist() == [1, 2, 3]
    assert s.spikes.counts.tolist() == [4, 4, 2]
    np.testing.assert_allclose(s.spikes.unit(3), [0.4, 0.43])
    assert s.metadata["nwb_version"] == "2.0b"
    assert s.intervals["trials"]["correct"].tolist() == [0, 1, 0]


def test_linear_track_units_and_position(shared_data):
    s = _read_quiet(shared_data / "hippocampus_linear_track" / "linear_track_units_position.nwb")
    assert s.n_units == 31 and s.spikes.n_spikes == 28829
    assert {"tetrode", "cluster", "brain_area"} <= set(s.units.columns)
    pos = s.behavior["led_xy"]
    assert pos.dims == ("led_xy_time", "led_xy_axis")
    assert pos.shape == (118965, 2)
    assert pos["led_xy_axis"].values.tolist() == ["x", "y"]
    assert pos.attrs["units"] == "pixels"
    assert np.all(np.diff(pos["led_xy_time"].values) >= 0)  # one repeated timestamp in the file
    lo, hi = s.spikes.time_range()
    assert 4396 < lo < 4398 and 6365 < hi < 6366
