"""write_nwb: round trips through read_nwb, pynwb reads and validates the files, atomic writes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neurodecode.data import Session, SpikeTrains
from neurodecode.errors import NWBFormatError
from neurodecode.io import read_nwb, write_nwb


def _full_session(rng) -> Session:
    trains = [np.sort(rng.uniform(0, 30, n)) for n in (40, 0, 7, 1)]  # unit 2 has no spikes
    spikes = SpikeTrains.from_list(trains, unit_ids=[3, 8, 21, 22])
    units = pd.DataFrame(
        {"brain_area": ["CA1", "CA3", "", "V1"], "quality": ["good", "mua", "good", "noise"],
         "snr": [4.5, np.nan, 2.0, 1.0], "is_good": [True, False, True, False],
         "channel": np.array([5, 9, 12, 40], dtype=np.int32),
         "waveform": [rng.normal(size=4), rng.normal(size=4), np.zeros(0), rng.normal(size=2)]},
        index=pd.Index([3, 8, 21, 22], name="unit_id"))
    trials = pd.DataFrame(
        {"start_time": [1.0, 5.0, 9.0], "stop_time": [2.0, 6.0, 10.0],
         "stimulus": ["grating", "blank", "grating"], "correct": [True, False, True],
         "reaction_time": [0.31, np.nan, 0.52], "tags": [["a"], [], ["b", "c"]]})
    presentations = pd.DataFrame(
        {"start_time": [0.0, 0.25, 0.5], "stop_time": [0.25, 0.5, 0.75],
         "frame": [0, 1, 2], "contrast": [0.8, 0.8, 1.0]},
        index=pd.Index([100, 101, 102], name="id"))
    t_pos = np.arange(600) / 20.0
    t_run = 0.5 + np.arange(150) / 5.0
    behavior = xr.Dataset({
        "position": xr.DataArray(rng.normal(size=(600, 2)), dims=("position_time", "position_axis"),
                                 coords={"position_time": t_pos, "position_axis": ["x", "y"]},
                                 attrs={"units": "cm"}),
        "running_speed": xr.DataArray(rng.gamma(2.0, size=150), dims=("running_speed_time",),
                                      coords={"running_speed_time": t_run},
                                      attrs={"units": "cm/s"}),
        "pupil": xr.DataArray(rng.normal(size=(100, 3)), dims=("pupil_time", "pupil_axis"),
                              coords={"pupil_time": np.arange(100) / 10.0,
                                      "pupil_axis": [0, 1, 2]}),
    })
    stimuli = {
        "natural_movie": xr.DataArray(rng.integers(0, 255, (5, 8, 10), dtype=np.uint8),
                                      dims=("frame", "y", "x")),
        "colour_scenes": xr.DataArray(rng.random((2, 4, 6, 3)).astype(np.float32),
                                      dims=("frame", "y", "x", "channel")),
        "named_scenes": xr.DataArray(rng.random((3, 4, 5)), dims=("frame", "y", "x"),
                                     coords={"image": ("frame", ["zebra", "apple", "mango"])}),
    }
    metadata = {"session_id": "rt-1", "session_start_time": "2021-05-04T09:30:00+02:00",
                "session_description": "round trip", "subject": {"subject_id": "m1",
                                                                 "species": "Mus musculus"},
                "institution": "Lab U", "lab": "Lab"}
    return Session(spikes, units, {"trials": trials, "natural_movie_presentations": presentations},
                   behavior, stimuli, metadata)


def test_round_trip_everything(tmp_path, rng):
    s = _full_session(rng)
    path = write_nwb(s, tmp_path / "full.nwb")
    assert path == tmp_path / "full.nwb"
    back = read_nwb(path)
    assert back.equals(s)
    # equals() does not look at dtypes: check the ones that matter.
    assert back.units["channel"].dtype == np.int32
    assert back.units["is_good"].dtype == bool
    assert back.intervals["trials"]["correct"].dtype == bool
    assert back.intervals["trials"]["tags"].tolist() == [["a"], [], ["b", "c"]]
    assert back.stimuli["natural_movie"].dtype == np.uint8
    assert back.spikes.counts.tolist() == [40, 0, 7, 1]
    for key in ("session_id", "session_description", "subject", "institution", "lab"):
        assert back.metadata[key] == s.metadata[key]
    assert pd.Timestamp(back.metadata["session_start_time"]) == pd.Timestamp(
        s.metadata["session_start_time"])
    assert back.behavior["position"].attrs["units"] == "cm"
    # Nothing left behind but the file itself.
    assert [p.name for p in tmp_path.iterdir()] == ["full.nwb"]


def test_pynwb_reads_and_validates(tmp_path, rng):
    from pynwb import NWBHDF5IO, validate

    s = _full_session(rng)
    path = write_nwb(s, tmp_path / "full.nwb")
    assert validate(path=str(path)) == []
    with NWBHDF5IO(str(path), "r") as nwb_io:
        f = nwb_io.read()
        units = f.units.to_dataframe()
        assert units.index.tolist() == [3, 8, 21, 22]
        np.testing.assert_array_equal(units.loc[21, "spike_times"], s.spikes.unit(21))
        assert units["brain_area"].tolist() == ["CA1", "CA3", "", "V1"]
        assert f.trials.to_dataframe()["stimulus"].tolist() == ["grating", "blank", "grating"]
        assert len(f.intervals["natural_movie_presentations"]) == 3
        pos = f.processing["behavior"]["Position"]["position"]
        np.testing.assert_array_equal(pos.data[()], s.behavior["position"].values)
        assert f.stimulus_template["natural_movie"].data.shape == (5, 8, 10)
        scenes = f.stimulus_template["named_scenes"]
        assert [img.name for img in scenes.order_of_images] == ["zebra", "apple", "mango"]
        assert f.identifier == "rt-1"


def test_round_trip_real_files(tmp_path, shared_data):
    corpus = shared_data / "nwb_corpus"
    for name in ("sub-anm369963_ses-20170228.nwb", "pynapple_A8604-211122.nwb",
                 "matnwb_ecephys_tutorial.nwb"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = read_nwb(corpus / name)
        back = read_nwb(write_nwb(s, tmp_path / name))
        assert back.equals(s), name
    # Electrodes and areas survive as an electrodes table, not only as a column.
    import h5py

    with h5py.File(tmp_path / "sub-anm369963_ses-20170228.nwb", "r") as f:
        location = f["general/extracellular_ephys/electrodes/location"].asstr()[()]
        assert location.tolist() == ["ALM"]
        assert f["general/extracellular_ephys/electrodes/id"][()].tolist() == [49]


def test_overwrite_and_failure_leaves_nothing(tmp_path, rng):
    s = _full_session(rng)
    path = write_nwb(s, tmp_path / "s.nwb")
    with pytest.raises(FileExistsError, match="s.nwb exists"):
        write_nwb(s, path)
    smaller = s.select_units(unit_ids=[3])
    write_nwb(smaller, path, overwrite=True)
    assert read_nwb(path).n_units == 1
    bad_units = s.units.assign(extra=[{"a": 1}, {}, {}, {}])
    bad = Session(s.spikes, bad_units)
    with pytest.raises(NWBFormatError, match="units column 'extra'"):
        write_nwb(bad, tmp_path / "bad.nwb")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.nwb"]


def test_units_without_area_and_compression(tmp_path):
    spikes = SpikeTrains.from_list([[0.1, 0.2], []], unit_ids=[0, 1])
    s = Session(spikes)
    back = read_nwb(write_nwb(s, tmp_path / "a.nwb", compression="gzip"))
    # The reader always adds brain_area ("" when unknown).
    assert back.units["brain_area"].tolist() == ["", ""]
    assert back.spikes.equals(s.spikes)


def test_bad_start_time(tmp_path):
    s = Session(SpikeTrains.from_list([[0.1]]), metadata={"session_start_time": "yesterday"})
    with pytest.raises(ValueError, match="session_start_time.*'yesterday' is not a date"):
        write_nwb(s, tmp_path / "t.nwb")
    assert list(tmp_path.iterdir()) == []


def test_bad_stimulus_dims(tmp_path):
    s = Session(SpikeTrains.from_list([[0.1]]),
                stimuli={"odd": xr.DataArray(np.zeros((2, 3, 4)), dims=("y", "x", "frame"))})
    with pytest.raises(NWBFormatError, match="stimulus 'odd' has dims"):
        write_nwb(s, tmp_path / "odd.nwb")
    assert not (tmp_path / "odd.nwb").exists()


def test_plain_string_tags_become_nwb_ragged_tags(tmp_path):
    """NWB's `tags` column is ragged text; one label per row is written as a one-item list."""
    import pandas as pd

    from neurodecode.data import Session, SpikeTrains
    from neurodecode.io import read_nwb, write_nwb

    epochs = pd.DataFrame({"start_time": [0.0, 1.0], "stop_time": [1.0, 2.0],
                           "tags": ["run", ""]})
    session = Session(SpikeTrains.from_list([[0.1, 0.5]]), intervals={"epochs": epochs})
    back = read_nwb(write_nwb(session, tmp_path / "tags.nwb")).intervals["epochs"]
    assert [list(t) for t in back["tags"]] == [["run"], []]
