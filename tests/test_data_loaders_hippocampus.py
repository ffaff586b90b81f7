"""The raw linear-track files and their NWB conversion must give the same spikes."""

import numpy as np
import pytest

from data_loaders.hippocampus_linear_track import (
    read_linear_track,
    read_matclust_spikes,
    read_position_tracking,
)
from neurodecode.errors import DataFormatError


@pytest.fixture(scope="module")
def folder(shared_data):
    return shared_data / "hippocampus_linear_track"


def test_raw_files_match_readme(folder):
    session = read_linear_track(folder)
    assert session.n_units == 31
    assert session.spikes.n_spikes == 28_829
    lo, hi = session.spikes.time_range()
    assert lo >= 4397.0
    assert hi == pytest.approx(6365.1, abs=0.1)
    position = session.behavior["position"]
    assert position.sizes["position_time"] == 118_965
    x = position.sel(position_axis="x").values
    assert 120 < np.percentile(x, 1) and np.percentile(x, 99) < 570


def test_raw_and_nwb_routes_give_same_spikes(folder):
    h5py = pytest.importorskip("h5py")
    spikes, units = read_matclust_spikes(folder / "spikes.mat")
    with h5py.File(folder / "linear_track_units_position.nwb", "r") as f:
        times = f["units/spike_times"][:]
        index = f["units/spike_times_index"][:].astype(np.int64)
        tetrode, cluster = f["units/tetrode"][:], f["units/cluster"][:]
        xy = f["processing/behavior/Position/led_xy/data"][:]
        t = f["processing/behavior/Position/led_xy/timestamps"][:]
    np.testing.assert_array_equal(spikes.offsets[1:], index)
    np.testing.assert_array_equal(spikes.times, times)
    np.testing.assert_array_equal(units["tetrode"], tetrode)
    np.testing.assert_array_equal(units["cluster"], cluster)
    position = read_position_tracking(folder / "trajectory.videoPositionTracking")
    np.testing.assert_array_equal(position.values, xy)
    np.testing.assert_allclose(position["position_time"].values, t, rtol=0, atol=1e-9)


def test_raw_route_equals_read_nwb(folder):
    io = pytest.importorskip("neurodecode.io.nwb_read")
    from_nwb = io.read_nwb(folder / "linear_track_units_position.nwb")
    raw = read_linear_track(folder)
    assert from_nwb.spikes.equals(raw.spikes)


def test_bad_files_are_clear_errors(tmp_path):
    bad = tmp_path / "x.videoPositionTracking"
    bad.write_bytes(b"garbage")
    with pytest.raises(DataFormatError, match="header"):
        read_position_tracking(bad)
    with pytest.raises(FileNotFoundError, match="spikes.mat"):
        read_linear_track(tmp_path)
