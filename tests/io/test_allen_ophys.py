"""Visual Coding 2-photon NWB 1.x reader on a fixture written with h5py in that layout."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from neurodecode.data import validate_spike_tensor
from neurodecode.errors import NWBFormatError
from neurodecode.io import read_allen_ophys
from tests.io.allen_fixtures import (
    OPHYS_CELLS,
    OPHYS_DG,
    OPHYS_FRAME_DT,
    OPHYS_MOVIE,
    OPHYS_N_FRAMES,
    OPHYS_NS,
    OPHYS_SPONT,
    write_ophys_nwb1,
    write_visual_coding_session,
)


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return write_ophys_nwb1(tmp_path_factory.mktemp("ophys") / "501940850.nwb")


@pytest.fixture(scope="module")
def exp(path):
    return read_allen_ophys(path)


def test_dff_is_time_by_cell_with_cell_coords(exp):
    dff = validate_spike_tensor(exp.dff)  # float dF/F passes the tensor contract
    assert dff.dims == ("time", "unit")
    assert dff.sizes == {"time": OPHYS_N_FRAMES, "unit": len(OPHYS_CELLS)}
    assert dff.unit.values.tolist() == OPHYS_CELLS
    assert dff.cell_specimen_id.values.tolist() == OPHYS_CELLS
    assert dff.brain_area.values.tolist() == ["VISp"] * 3
    assert dff.imaging_depth.values.tolist() == [175.0] * 3
    np.testing.assert_allclose(dff.time.values[:2], [5.0, 5.0 + OPHYS_FRAME_DT])
    assert dff.attrs["bin_size"] == pytest.approx(OPHYS_FRAME_DT)
    with h5py.File(exp.metadata["source"]) as f:  # cells x frames on disk, transposed here
        raw = f["processing/brain_observatory_pipeline/DfOverF/imaging_plane_1/data"][()]
    np.testing.assert_array_equal(dff.values, raw.T)
    assert exp.metadata["session_id"] == "501940850"
    assert exp.metadata["cre_line"] == "Cux2-CreERT2"
    assert exp.metadata["session_type"] == "three_session_A"


def test_stimulus_tables_in_imaging_frames(exp):
    table = exp.intervals["stimulus_presentations"]
    first, n_movie, reps = OPHYS_MOVIE
    n = len(OPHYS_DG) + n_movie * reps + len(OPHYS_NS) + 1
    assert table.index.tolist() == list(range(n))
    assert table["start_frame"].is_monotonic_increasing
    times = exp.dff.time.values
    np.testing.assert_allclose(table["start_time"], times[table["start_frame"]])
    dg = exp.intervals["drifting_gratings"]
    assert dg["start_frame"].tolist() == [s for *_, s, _ in OPHYS_DG]
    assert dg["orientation"].tolist()[:2] == [0.0, 90.0] and np.isnan(dg["orientation"].iloc[2])
    assert dg["blank_sweep"].tolist() == [0.0, 0.0, 1.0]
    movie = exp.intervals["natural_movie_one"]
    assert movie["frame"].tolist() == list(range(n_movie)) * reps
    # AllenSDK numbers movie repeats as row // frames per repeat
    assert movie["repeat"].tolist() == (np.arange(n_movie * reps) // n_movie).tolist()
    ns = exp.intervals["natural_scenes"]
    assert ns["frame"].tolist() == [k for k, _, _ in OPHYS_NS]
    assert ns["repeat"].tolist() == [0, 0, 1]
    spont = exp.intervals["spontaneous"]
    assert spont[["start_frame", "end_frame"]].values.tolist() == [list(OPHYS_SPONT)]


def test_each_imaging_frame_knows_the_stimulus_on_screen(exp):
    dff = exp.dff
    first, n_movie, reps = OPHYS_MOVIE
    frames = dff.stimulus_frame.values
    names = dff.stimulus_name.values
    assert frames[first: first + n_movie * reps].tolist() == list(range(n_movie)) * reps
    assert dff.repeat.values[first + n_movie] == 1
    assert set(names[OPHYS_DG[0][3]: OPHYS_DG[0][4]]) == {"drifting_gratings"}
    assert frames[OPHYS_NS[1][1]] == -1 and names[OPHYS_NS[1][1]] == "natural_scenes"
    assert names[OPHYS_SPONT[0]] == "spontaneous" and names[0] == ""
    assert dff.stimulus_presentation_id.values[0] == -1


def test_align_gratings(exp):
    X = exp.align("drifting_gratings", (-0.5, 2.0))
    assert X.dims == ("trial", "time", "unit") and X.sizes["trial"] == 3
    assert X.sizes["time"] == 75
    # the fixture's cell 0 responds (dF/F + 1) during the first grating only
    resp = X.sel(unit=OPHYS_CELLS[0], time=slice(0, 1.9)).mean("time").values
    assert resp[0] > 0.8 and abs(resp[1]) < 0.1
    assert np.isnan(X.values[0, 0, 0])  # 15 frames before frame 10: outside the recording
    Y = exp.align("drifting_gratings", include_blank=False)
    assert Y.sizes["trial"] == 2 and Y.sizes["time"] == 60
    with pytest.raises(KeyError, match="no stimulus 'locally_sparse_noise'"):
        exp.align("locally_sparse_noise")


def test_behaviour_and_missing_eye_tracking(exp, tmp_path):
    assert set(exp.behavior.data_vars) == {"running_speed", "pupil_location", "pupil_size"}
    assert exp.metadata["has_eye_tracking"]
    no_eye = read_allen_ophys(write_ophys_nwb1(tmp_path / "no_eye.nwb", eye_tracking=False))
    assert set(no_eye.behavior.data_vars) == {"running_speed"}
    assert not no_eye.metadata["has_eye_tracking"]


def test_bad_files(tmp_path, path):
    with pytest.raises(FileNotFoundError):
        read_allen_ophys(tmp_path / "nope.nwb")
    text = tmp_path / "text.nwb"
    text.write_text("not hdf5")
    with pytest.raises(NWBFormatError, match="text.nwb: not an HDF5"):
        read_allen_ophys(text)
    with pytest.raises(NWBFormatError, match="not an NWB 1.x"):
        read_allen_ophys(write_visual_coding_session(tmp_path / "nwb2.nwb"))
    broken = tmp_path / "no_dff.nwb"
    broken.write_bytes(path.read_bytes())
    with h5py.File(broken, "r+") as f:
        del f["processing/brain_observatory_pipeline/DfOverF"]
    with pytest.raises(NWBFormatError, match="no_dff.nwb.*DfOverF/imaging_plane_1/data"):
        read_allen_ophys(broken)
    bad_ids = tmp_path / "bad_ids.nwb"
    bad_ids.write_bytes(path.read_bytes())
    with h5py.File(bad_ids, "r+") as f:
        del f["processing/brain_observatory_pipeline/ImageSegmentation/cell_specimen_ids"]
        f["processing/brain_observatory_pipeline/ImageSegmentation/cell_specimen_ids"] = [1, 2]
    with pytest.raises(NWBFormatError, match="2 ids for 3 dF/F traces"):
        read_allen_ophys(bad_ids)


def test_detect_and_describe(exp, path, tmp_path):
    from neurodecode.io import describe_allen
    from neurodecode.io.allen_ophys import is_allen_ophys

    assert is_allen_ophys(path)
    assert not is_allen_ophys(write_visual_coding_session(tmp_path / "nwb2.nwb"))
    assert not is_allen_ophys(tmp_path / "missing.nwb")
    text = describe_allen(exp)
    assert "3 cells in VISp at 175 um" in text and "natural_movie_one" in text
    assert "Eye tracking: yes" in text


def test_align_movie_per_repeat(exp):
    first, n_movie, reps = OPHYS_MOVIE
    X = exp.align("natural_movie_one", per="repeat")
    assert X.sizes["trial"] == reps and X.sizes["time"] == n_movie
    assert X.repeat.values.tolist() == list(range(reps))
    assert (X.frame.values == np.arange(n_movie)).all()
    np.testing.assert_array_equal(X.values[1], exp.dff.values[first + n_movie: first + 2 * n_movie])
    with pytest.raises(ValueError, match="needs a movie"):
        exp.align("drifting_gratings", per="repeat")
