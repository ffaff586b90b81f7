import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neurodecode.data import Session, SpikeTrains, resample_series


@pytest.fixture
def session():
    rng = np.random.default_rng(3)
    trains = [np.sort(rng.uniform(0, 100, n)) for n in (500, 50, 0, 1200)]
    st = SpikeTrains.from_list(trains, unit_ids=[11, 12, 13, 14])
    units = pd.DataFrame({"brain_area": ["CA1", "CA3", "CA1", "DG"],
                          "quality": ["good", "good", "noise", "good"],
                          "snr": [4.0, 2.0, 0.5, 6.0]},
                         index=pd.Index([11, 12, 13, 14], name="unit_id"))
    t = np.arange(0, 100, 1 / 50)
    behavior = xr.Dataset({
        "position": (("position_time", "position_axis"), np.c_[t, 2 * t],
                     {"units": "cm"}),
        "speed": (("speed_time",), np.full(t.size // 2, 3.0)),
    }, coords={"position_time": t, "position_axis": ["x", "y"], "speed_time": t[::2]})
    trials = pd.DataFrame({"start_time": [10.0, 20.0, 30.0], "stop_time": [12.0, 22.0, 32.0],
                           "condition": ["a", "b", "a"], "correct": [True, False, True]})
    epochs = pd.DataFrame({"start_time": [0.0], "stop_time": [50.0]})
    return Session(st, units, intervals={"trials": trials, "epochs": epochs},
                   behavior=behavior, metadata={"session_id": "s1", "source": "test"})


def test_bin_contract(session):
    X = session.bin(0.5, start=0.0, stop=100.0)
    assert X.dims == ("time", "unit")
    assert X.sizes == {"time": 200, "unit": 4}
    assert X.dtype.kind == "u"
    np.testing.assert_allclose(X.time.values[:2], [0.25, 0.75])
    assert X.unit.values.tolist() == [11, 12, 13, 14]
    assert X.brain_area.values.tolist() == ["CA1", "CA3", "CA1", "DG"]
    assert X.attrs["bin_size"] == 0.5 and X.attrs["session_id"] == "s1"
    assert X.sum("time").values.tolist() == session.spikes.counts.tolist()


def test_bin_epoch_by_epoch_equals_whole(session):
    whole = session.bin(0.25, start=0.0, stop=100.0)
    first = session.bin(0.25, epoch=(0.0, 50.0))
    second = session.bin(0.25, start=50.0, stop=100.0)
    np.testing.assert_array_equal(np.vstack([first.values, second.values]), whole.values)
    named = session.bin(0.25, epoch="epochs")
    np.testing.assert_array_equal(named.values, first.values)
    with pytest.raises(KeyError, match="no intervals table 'nope'"):
        session.bin(0.25, epoch="nope")
    with pytest.raises(ValueError, match="3 rows"):
        session.bin(0.25, epoch="trials")


def test_bin_attaches_behaviour_on_bin_centres(session):
    X = session.bin(1.0, start=0.0, stop=10.0, behavior=True)
    # mean of samples in [k, k+1) of t is k + 0.49; of 2t is twice that
    np.testing.assert_allclose(X.position_x.values, np.arange(10) + 0.49)
    np.testing.assert_allclose(X.position_y.values, 2 * (np.arange(10) + 0.49))
    np.testing.assert_allclose(X.speed.values, 3.0)


def test_align_on_table_keeps_trial_coords(session):
    X = session.align("trials", (-0.5, 1.0), 0.1, behavior=["speed"])
    assert X.dims == ("trial", "time", "unit")
    assert X.sizes["trial"] == 3 and X.sizes["time"] == 15
    assert X.condition.values.tolist() == ["a", "b", "a"]
    assert X.correct.values.tolist() == [True, False, True]
    np.testing.assert_allclose(X.event_time.values, [10.0, 20.0, 30.0])
    np.testing.assert_allclose(X.time.values[0], -0.45)
    assert X.speed.dims == ("trial", "time")
    # each trial's counts equal binning that window directly
    direct = session.bin(0.1, start=19.5, stop=21.0)
    np.testing.assert_array_equal(X.isel(trial=1).values, direct.values)
    with pytest.raises(KeyError, match="no column 'onset'"):
        session.align("trials", (0, 1), 0.1, event_column="onset")


def test_select_units(session):
    sub = session.select_units(brain_area="CA1", quality="good")
    assert sub.unit_ids.tolist() == [11]
    assert sub.select_units(query="snr > 1").n_units == 1
    ordered = session.select_units(unit_ids=[14, 11])
    assert ordered.unit_ids.tolist() == [14, 11]
    assert ordered.units.index.tolist() == [14, 11]
    with pytest.raises(KeyError, match="no column 'depth'"):
        session.select_units(depth=3)


def test_equals_and_repr(session):
    assert session.equals(session._replace())
    other = session.select_units(unit_ids=[11, 12, 13])
    assert not session.equals(other)
    text = repr(session)
    assert "4 units" in text and "trials(3)" in text and "position" in text


def test_units_table_must_match_spikes():
    st = SpikeTrains.from_list([[0.1]], unit_ids=[5])
    with pytest.raises(ValueError, match="indexed by the spike trains' unit ids"):
        Session(st, pd.DataFrame({"a": [1]}, index=[6]))
    with pytest.raises(ValueError, match="lacks column"):
        Session(st, intervals={"trials": pd.DataFrame({"start_time": [0.0]})})


def test_resample_methods():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    v = np.array([0.0, 10.0, np.nan, 30.0])
    centres = np.array([[0.5, 2.0], [3.5, -1.0]])
    out = resample_series(t, v, centres, 1.0, "interp")
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out[0], [5.0, 20.0])  # NaN sample skipped by interpolation
    assert np.isnan(out[1]).all()  # outside the recorded range
    nearest = resample_series(t, np.array([1, 2, 3, 4.0]), np.array([1.4, 1.6]), 1.0, "nearest")
    assert nearest.tolist() == [2.0, 3.0]


def test_to_pynapple_counts_match(session):
    nap = pytest.importorskip("pynapple")
    group = session.to_pynapple()
    assert isinstance(group, nap.TsGroup)
    assert len(group) == 4
    assert list(group.keys()) == [11, 12, 13, 14]
    assert group.get_info("brain_area").tolist() == ["CA1", "CA3", "CA1", "DG"]
    X = session.bin(1.0, start=0.0, stop=100.0)
    ep = nap.IntervalSet(0.0, 100.0)
    counts = group.count(1.0, ep)
    np.testing.assert_array_equal(np.asarray(counts.values), X.values)
