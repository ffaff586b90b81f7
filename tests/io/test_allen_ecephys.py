"""Allen Neuropixels reader on fixtures in the DANDI:000021 / DANDI:000713 layouts.

Expected ids and counts come from AllenSDK's documented rules applied by hand to the
fixture (see tests/io/allen_fixtures.py), not from the reader.
"""

from __future__ import annotations

import logging

import h5py
import numpy as np
import pandas as pd
import pytest

from neurodecode.data import validate_spike_tensor
from neurodecode.errors import NWBFormatError
from neurodecode.io import align_stimulus, describe_allen, read_allen_ecephys
from neurodecode.io.allen_ecephys import ALLEN_UNIT_FILTER
from tests.io.allen_fixtures import (
    CHANNELS,
    DG_ORI,
    EXPECTED,
    FRAME_DT,
    MOVIE_FRAMES,
    MOVIE_REPEATS,
    MOVIE_START,
    NS_FRAMES,
    PROBE_IDS,
    UNITS,
    VB_EXPECTED_CONDITIONS,
    VB_IMAGES,
    expected_presentations,
    write_ophys_nwb1,
    write_visual_behavior_session,
    write_visual_coding_session,
)


@pytest.fixture(scope="module")
def vc_path(tmp_path_factory):
    return write_visual_coding_session(tmp_path_factory.mktemp("vc") / "session_715093703.nwb")


@pytest.fixture(scope="module")
def vc_eye_path(tmp_path_factory):
    return write_visual_coding_session(tmp_path_factory.mktemp("vce") / "session_eye.nwb",
                                       eye_tracking=True)


@pytest.fixture(scope="module")
def vc(vc_path):
    return read_allen_ecephys(vc_path)


@pytest.fixture(scope="module")
def vbn_path(tmp_path_factory):
    return write_visual_behavior_session(tmp_path_factory.mktemp("vbn") / "ecephys.nwb")


@pytest.fixture(scope="module")
def vbn(vbn_path):
    return read_allen_ecephys(vbn_path, quality_filter=True)


# --------------------------------------------------------------------- units
def test_default_filter_keeps_allensdk_units_in_allensdk_order(vc):
    assert vc.unit_ids.tolist() == EXPECTED["kept_units"]
    report = vc.metadata["unit_filter"]
    assert report["applied"] and report["criteria"] == ALLEN_UNIT_FILTER
    assert report["rule"] == "AllenSDK default for Visual Coding (EcephysSession)"
    assert report["n_units_file"] == len(UNITS) and report["n_units_kept"] == 4
    assert report["n_failing"] == EXPECTED["n_failing"]
    assert vc.spikes.n_units == 4


def test_units_get_area_probe_and_channel_from_peak_channel(vc):
    units = vc.units
    for uid, area in EXPECTED["areas"].items():
        peak = UNITS[uid][0]
        probe, location, _, vpos, hpos = CHANNELS[peak]
        assert units.loc[uid, "brain_area"] == area == location
        assert units.loc[uid, "probe"] == probe
        assert units.loc[uid, "probe_id"] == PROBE_IDS[probe]
        assert units.loc[uid, "probe_vertical_position"] == vpos
        assert units.loc[uid, "probe_horizontal_position"] == hpos
    assert vc.metadata["probes"]["probeA"]["probe_id"] == 1001
    assert vc.metadata["probes"]["probeB"]["sampling_rate"] == 30000.0


def test_filter_off_keeps_every_unit_and_marks_outside_brain(vc_path):
    s = read_allen_ecephys(vc_path, quality_filter=False, sort_units=False)
    assert s.unit_ids.tolist() == list(UNITS)
    areas = s.units["brain_area"]
    assert areas[104] == "" and areas[108] == ""  # location "" and "None"
    assert s.units.loc[105, "channel_valid_data"] == np.False_
    assert s.metadata["unit_filter"] == {"applied": False, "criteria": {}, "n_units_file": 12,
                                         "n_units_kept": 12, "rule": "quality_filter=False"}


def test_filter_overrides_and_substructure_stripping(vc_path):
    s = read_allen_ecephys(vc_path, quality_filter={"amplitude_cutoff_maximum": None},
                           strip_substructure=True)
    # Without the amplitude bound, 102 (0.2) and 110 (NaN) come back.
    assert sorted(s.unit_ids.tolist()) == [101, 102, 103, 110, 111, 112]
    assert s.units.loc[103, "brain_area"] == "DG"
    assert s.units.loc[103, "ecephys_structure_acronym"] == "DG-mo"
    with pytest.raises(ValueError, match="unknown `quality_filter` keys"):
        read_allen_ecephys(vc_path, quality_filter={"snr_minimum": 2})
    with pytest.raises(ValueError, match="must be 'auto', True, False or a dict"):
        read_allen_ecephys(vc_path, quality_filter="strict")


def test_filter_is_logged(vc_path, caplog):
    with caplog.at_level(logging.INFO, logger="neurodecode.io"):
        read_allen_ecephys(vc_path)
    assert any("kept 4 of 12 units" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------ presentations
def test_presentations_ids_names_blocks_conditions_match_allensdk_rules(vc):
    table = vc.intervals["stimulus_presentations"]
    expected = expected_presentations()
    assert table.index.name == "stimulus_presentation_id"
    assert table.index.tolist() == list(range(len(expected)))
    assert table["stimulus_name"].tolist() == expected["stimulus_name"].tolist()
    np.testing.assert_allclose(table["start_time"], expected["start_time"])
    assert table["stimulus_condition_id"].tolist() == expected["stimulus_condition_id"].tolist()
    assert len(vc.intervals["stimulus_conditions"]) == 23
    assert vc.metadata["n_invalid_presentations"] == 2
    assert "tags" not in table and "timeseries" not in table
    assert [k for k in vc.intervals if k.endswith("_presentations")] == ["stimulus_presentations"]
    blocks = table["stimulus_block"].to_numpy()  # float64 in the file, NaN for spontaneous
    valid = expected["stimulus_block"].to_numpy() >= 0
    assert np.array_equal(blocks[valid & (table["stimulus_name"] != "invalid_presentation")],
                          expected["stimulus_block"].to_numpy()[
                              valid & (expected["stimulus_name"] != "invalid_presentation")])


def test_text_parameters_are_parsed(vc):
    dg = vc.intervals["drifting_gratings"]
    assert dg["size"].iloc[0] == (250.0, 250.0)
    assert dg["phase"].iloc[0] == (42471.86666667, 42471.86666667)
    assert dg["spatial_frequency"].iloc[0] == 0.04
    assert np.isnan(dg["spatial_frequency"].iloc[4]) and np.isnan(dg["orientation"].iloc[4])
    assert dg["color_triplet"].iloc[0] == (1.0, 1.0, 1.0)
    flashes = vc.intervals["flashes"]
    assert flashes["color"].tolist() == [-1.0, 1.0]
    assert dg["stimulus_block"].dtype == np.int64
    # the blank sweep is a condition of its own, the repeated grating reuses its id
    assert dg["stimulus_condition_id"].tolist() == [11, 12, 13, 14, 15, 11]
    assert dg["repeat"].tolist() == [0, 0, 0, 0, 0, 1]
    assert [o is None for o in DG_ORI] == np.isnan(dg["orientation"]).tolist()


def test_views_and_invalid_times(vc):
    movie = vc.intervals["natural_movie_one"]
    assert len(movie) == MOVIE_FRAMES * MOVIE_REPEATS
    assert movie["frame"].dtype == np.int64
    assert movie["repeat"].tolist() == np.repeat(np.arange(MOVIE_REPEATS), MOVIE_FRAMES).tolist()
    scenes = vc.intervals["natural_scenes"]
    # rows 5 and 6 of the scenes overlap the invalid interval tagged "stimulus"
    kept = [f for i, f in enumerate(NS_FRAMES) if i not in (5, 6)]
    assert scenes["frame"].tolist() == kept
    assert scenes["repeat"].tolist() == [0, 0, 0, 1, 0, 0]
    invalid = vc.intervals["invalid_presentation"]
    assert invalid.index.tolist() == [37 + 5, 37 + 6]
    table = vc.intervals["stimulus_presentations"]
    assert np.isnan(table.loc[42, "frame"]) and table.loc[42, "stimulus_condition_id"] == -1
    # the probe-tagged invalid interval (12.0-12.5 s) masks nothing: all 30 movie rows stay
    assert set(vc.intervals["invalid_times"].columns) >= {"start_time", "stop_time", "tags"}


def test_running_speed_and_missing_eye_tracking(vc):
    speed = vc.behavior["running_speed"]
    assert speed.dims == ("running_speed_time",)
    np.testing.assert_allclose(speed["running_speed_end_time"] - speed["running_speed_time"], 0.5)
    assert "running_speed_end_times" not in vc.behavior
    assert not vc.metadata["has_eye_tracking"]
    assert "pupil" not in vc.behavior


def test_eye_tracking_when_present(vc_eye_path):
    s = read_allen_ecephys(vc_eye_path)
    assert s.metadata["has_eye_tracking"]
    pupil = s.behavior["pupil"]
    assert list(pupil["pupil_axis"].values) == ["center_x", "center_y", "width", "height", "phi"]
    # AllenSDK reports full width/height: twice the fitted half-lengths (12, 10)
    np.testing.assert_allclose(pupil.sel(pupil_axis="width"), 24.0)
    np.testing.assert_allclose(pupil.sel(pupil_axis="height"), 20.0)
    assert "pupil_area" in s.behavior and "corneal_reflection" in s.behavior


# --------------------------------------------------------------- alignment
def test_align_per_frame_counts_the_known_spikes(vc):
    X = align_stimulus(vc, "natural_movie_one", per="frame", bin_size=FRAME_DT)
    validate_spike_tensor(X)
    assert X.dims == ("trial", "time", "unit") and X.sizes["trial"] == 30
    assert X.frame.values.tolist() == list(range(MOVIE_FRAMES)) * MOVIE_REPEATS
    counts = X.sel(unit=101).sum("time").values
    assert counts.tolist() == [1 - f % 2 for f in X.frame.values]
    assert X.stimulus_presentation_id.values[0] == 1
    # Session.align on the view gives the same tensor
    Y = vc.align("natural_movie_one", (0.0, FRAME_DT), FRAME_DT)
    assert np.array_equal(X.values, Y.values)


def test_align_per_repeat_has_frame_and_repeat_coords(vc):
    X = align_stimulus(vc, "natural_movie_one", per="repeat", bin_size=FRAME_DT)
    assert X.sizes["trial"] == MOVIE_REPEATS and X.sizes["time"] == MOVIE_FRAMES
    assert X.repeat.values.tolist() == [0, 1, 2]
    assert X.frame.dims == ("trial", "time")
    assert (X.frame.values == np.arange(MOVIE_FRAMES)).all()
    assert X.event_time.values.tolist() == [MOVIE_START + r for r in range(MOVIE_REPEATS)]
    assert X.sel(unit=101).values.tolist() == [[1 - f % 2 for f in range(10)]] * 3


def test_align_scenes_gratings_and_blanks(vc):
    X = align_stimulus(vc, "natural_scenes", bin_size=0.05)
    assert X.frame.values.tolist() == [3, 0, -1, 3, 1, 2]
    Y = align_stimulus(vc, "natural_scenes", bin_size=0.05, include_blank=False)
    assert -1 not in Y.frame.values.tolist()
    G = align_stimulus(vc, "drifting_gratings", bin_size=0.5, include_blank=False)
    assert G.sizes["trial"] == 5 and G.sizes["time"] == 4
    assert G.orientation.values.tolist() == [0.0, 90.0, 0.0, 90.0, 0.0]
    with pytest.raises(ValueError, match="needs a movie"):
        align_stimulus(vc, "drifting_gratings", per="repeat", bin_size=0.5)
    with pytest.raises(KeyError, match="no stimulus 'natural_movie_two'"):
        align_stimulus(vc, "natural_movie_two", bin_size=0.5)


def test_describe_allen_prints_areas_and_blocks(vc):
    text = describe_allen(vc)
    assert "kept 4 of 12 units" in text
    assert "VISp" in text and "LGd" in text and "DG-mo" in text
    assert "natural_movie_one" in text and "23 stimulus conditions" in text
    assert "Eye tracking: no" in text


# ----------------------------------------------------------- visual behavior
def test_visual_behavior_default_is_no_filter_as_in_allensdk(vbn_path):
    # BehaviorEcephysSession.get_units filters nothing by default
    s = read_allen_ecephys(vbn_path, sort_units=False)
    assert s.unit_ids.tolist() == list(UNITS)
    assert not s.metadata["unit_filter"]["applied"]
    assert "Visual Behavior" in s.metadata["unit_filter"]["rule"]


def test_visual_behavior_layout(vbn):
    assert vbn.metadata["allen_dataset"] == "visual_behavior_neuropixels"
    assert vbn.unit_ids.tolist() == EXPECTED["kept_units"]  # quality_filter=True
    assert vbn.units["probe_channel_number"].tolist() == [0, 1, 2, 0]
    table = vbn.intervals["stimulus_presentations"]
    assert table["stimulus_condition_id"].tolist() == VB_EXPECTED_CONDITIONS
    name = "Natural_Images_Lum_Matched_set_ophys_G_2019"
    flashes = vbn.intervals[name]
    assert flashes["image_name"].tolist() == VB_IMAGES
    assert flashes["stimulus_block"].dtype == np.int64 and flashes["is_change"].dtype == bool
    assert vbn.intervals["image_changes"]["image_name"].tolist() == ["im031", "im054"]
    trials = vbn.intervals["trials"]
    assert trials["change_time_no_display_delay"].tolist() == [21.5, 24.5]
    assert "running_speed" in vbn.behavior and "speed" not in vbn.behavior
    assert vbn.metadata["has_eye_tracking"]
    assert "area" in vbn.behavior["pupil"]["pupil_axis"].values
    X = align_stimulus(vbn, "image_changes", bin_size=0.05, window=(-0.25, 0.5))
    assert X.sizes["trial"] == 2 and X.image_name.values.tolist() == ["im031", "im054"]
    T = vbn.align("trials", (-0.5, 0.5), 0.05, event_column="change_time_no_display_delay")
    assert T.sizes["trial"] == 2
    movie = vbn.intervals["natural_movie_one"]  # movie_frame_index / movie_repeat layout
    assert movie["frame"].tolist() == [0, 1, 2, 0, 1, 2]
    assert movie["repeat"].tolist() == movie["movie_repeat"].tolist() == [0, 0, 0, 1, 1, 1]
    M = align_stimulus(vbn, "natural_movie_one", per="repeat", bin_size=0.1)
    assert M.sizes["trial"] == 2 and (M.frame.values == [0, 1, 2]).all()


# ---------------------------------------------------------------- bad input
def test_bad_input_errors_name_file_and_table(tmp_path, vc_path):
    broken = tmp_path / "no_peak.nwb"
    broken.write_bytes(vc_path.read_bytes())
    with h5py.File(broken, "r+") as f:
        del f["units/peak_channel_id"]
        cols = [c for c in f["units"].attrs["colnames"] if c != "peak_channel_id"]
        f["units"].attrs["colnames"] = cols
    with pytest.raises(NWBFormatError, match="no_peak.nwb.*peak_channel_id"):
        read_allen_ecephys(broken)
    no_stim = tmp_path / "no_stim.nwb"
    no_stim.write_bytes(vc_path.read_bytes())
    with h5py.File(no_stim, "r+") as f:
        for k in list(f["intervals"]):
            if k.endswith("_presentations"):
                del f["intervals"][k]
    with pytest.raises(NWBFormatError, match="no_stim.nwb.*_presentations"):
        read_allen_ecephys(no_stim)
    no_quality = tmp_path / "no_quality.nwb"
    no_quality.write_bytes(vc_path.read_bytes())
    with h5py.File(no_quality, "r+") as f:
        del f["units/quality"]
        f["units"].attrs["colnames"] = [c for c in f["units"].attrs["colnames"]
                                        if c != "quality"]
    with pytest.raises(NWBFormatError, match="no 'quality' column"):
        read_allen_ecephys(no_quality)
    assert read_allen_ecephys(no_quality, quality_filter={"filter_by_validity": False}).n_units
    with pytest.raises(NWBFormatError, match="NWB 1.x.*read_allen_ophys"):
        read_allen_ecephys(write_ophys_nwb1(tmp_path / "ophys.nwb"))
    with pytest.raises(FileNotFoundError):
        read_allen_ecephys(tmp_path / "missing.nwb")


def test_condition_table_lists_each_condition_once(vc):
    conditions = vc.intervals["stimulus_conditions"]
    assert conditions.index.name == "stimulus_condition_id"
    assert conditions["n_presentations"].sum() == len(expected_presentations()) - 2
    assert isinstance(conditions, pd.DataFrame) and "start_time" in conditions


# ------------------------------------------------- the simulated visual cortex
def test_reads_the_simulated_session_like_a_real_one(tmp_path):
    from neurodecode.datasets.visual_cortex import make_visual_coding_session

    sim = make_visual_coding_session({"VISp": 8, "LGd": 4}, n_movie_frames=30, movie_repeats=3,
                                     n_scenes=3, scene_repeats=2, dg_temporal_frequencies=(2.0,),
                                     dg_repeats=1, spontaneous_duration=2.0,
                                     fraction_failing=0.3, random_state=3,
                                     path=tmp_path / "sim.nwb")
    s = read_allen_ecephys(sim.path)
    truth = sim.truth
    expected = truth["unit"].values[truth["passes_default_filter"].values]
    assert sorted(s.unit_ids.tolist()) == sorted(expected.tolist())
    assert s.metadata["unit_filter"]["n_units_file"] == truth.sizes["unit"]
    areas = sim.session.units["brain_area"]
    assert all(s.units.loc[u, "brain_area"] == areas[u] for u in s.unit_ids)
    movie = s.intervals["natural_movie_one"]
    n_invalid = (s.intervals["stimulus_presentations"]["stimulus_name"]
                 == "invalid_presentation").sum()
    assert len(movie) + n_invalid >= 30 * 3 and set(movie["repeat"]) <= {0, 1, 2}
    X = align_stimulus(s, "natural_movie_one", per="frame", bin_size=1 / 30)
    assert X.sizes["trial"] == len(movie) and X.sizes["unit"] == len(expected)
    assert s.stimuli["natural_movie_one"].sizes["frame"] == 30


def test_is_allen_ecephys(vc_path, tmp_path, shared_data):
    from neurodecode.io.allen_ecephys import is_allen_ecephys

    assert is_allen_ecephys(vc_path)
    assert not is_allen_ecephys(write_ophys_nwb1(tmp_path / "ophys.nwb"))
    assert not is_allen_ecephys(tmp_path / "missing.nwb")
    assert not is_allen_ecephys(shared_data / "nwb_corpus" / "pynapple_A8604-211122.nwb")
