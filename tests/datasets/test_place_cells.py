"""The place-cell simulator: realistic behaviour, firing that matches its truth, NWB round trip."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.datasets.place_cells import (
    make_place_cell_session,
    rescaled_renewal_spikes,
    simulate_track_running,
)


@pytest.fixture(scope="module")
def sim():
    return make_place_cell_session(n_units=40, duration=300.0, random_state=3)


def test_behaviour_runs_back_and_forth_with_pauses():
    t, x, v, d, laps = simulate_track_running(600.0, 150.0, 50.0, np.random.default_rng(0))
    assert np.allclose(np.diff(t), 0.02)
    assert x.min() >= 0 and x.max() <= 150
    moving = v != 0
    speed = np.abs(v[moving])
    # Cruising speeds 10-60 cm/s, slower near the ends; pauses make up some of the time.
    assert 15 < np.median(speed) < 45 and speed.max() <= 60
    assert 0.1 < 1 - moving.mean() < 0.5
    # Laps alternate direction and each covers (nearly) the whole track.
    assert len(laps) > 40
    assert (laps["direction"].to_numpy()[1:] != laps["direction"].to_numpy()[:-1]).all()
    for row in laps.itertuples():
        inside = (t >= row.start_time) & (t <= row.stop_time)
        assert np.ptp(x[inside]) > 140
    # A correlated walk: speed changes little from one sample to the next.
    dv = np.abs(np.diff(v))[moving[1:] & moving[:-1]]
    assert np.median(dv) < 0.05 * np.median(speed)
    # Running direction matches the sign of the velocity.
    assert (np.sign(v[moving]) == d[moving]).all()


def test_same_seed_same_session_other_seed_differs():
    a = make_place_cell_session(n_units=10, duration=60.0, random_state=7)
    b = make_place_cell_session(n_units=10, duration=60.0, random_state=7)
    c = make_place_cell_session(n_units=10, duration=60.0, random_state=8)
    assert a.session.equals(b.session) and a.truth.equals(b.truth)
    assert not a.session.spikes.equals(c.session.spikes)


def test_truth_parameters_lie_in_the_stated_ranges(sim):
    tr = sim.truth
    tuned = tr["tuned"].values
    assert tuned.sum() == round(0.85 * 40)
    assert np.all((tr["field_width"].values[tuned] >= 10) & (tr["field_width"].values[tuned] <= 30))
    assert np.all((tr["peak_rate"].values[tuned] >= 5) & (tr["peak_rate"].values[tuned] <= 30))
    assert np.all((tr["baseline_rate"].values[tuned] >= 0.1)
                  & (tr["baseline_rate"].values[tuned] <= 1))
    assert np.all(np.isnan(tr["field_center"].values[~tuned]))
    assert (sim.session.units["brain_area"] == "CA1").all()
    assert sorted(sim.session.intervals) == ["epochs", "laps"]
    assert sim.session.behavior["position"].attrs["units"] == "cm"


def test_spike_counts_match_the_true_rates(sim):
    """Per unit, the number of spikes is Poisson around the integrated true rate."""
    tr = sim.truth
    dt = float(tr["time"][1] - tr["time"][0])
    expected = tr["rate"].sum("time").values * dt
    observed = sim.session.spikes.counts
    z = (observed - expected) / np.sqrt(expected)
    assert np.all(np.abs(z) < 4.5), z
    # Spikes concentrate in the field: far more of them near the centre than time spent there.
    times, position = tr["time"].values, tr["position"].values
    for u in np.flatnonzero(tr["tuned"].values)[:10]:
        centre, width = float(tr["field_center"][u]), float(tr["field_width"][u])
        x = np.interp(sim.session.spikes[int(u)], times, position)
        assert np.mean(np.abs(x - centre) < width) > 2 * np.mean(np.abs(position - centre) < width)


def test_directional_fields_fire_in_one_direction_only():
    sim = make_place_cell_session(n_units=30, duration=300.0, fraction_directional=1.0,
                                  lap_variability=0.0, random_state=2)
    tr = sim.truth
    unit = int(np.flatnonzero(tr["tuned"].values & (tr["peak_rate"].values > 10))[0])
    fdir = int(tr["field_direction"][unit])
    assert fdir in (1, -1)
    rate = tr["rate"].isel(unit=unit).values
    in_field = np.abs(tr["position"].values - float(tr["field_center"][unit])) < 3
    same = in_field & (tr["running_direction"].values == fdir)
    other = in_field & (tr["running_direction"].values == -fdir)
    assert rate[same].mean() > 5 * rate[other].mean()


def test_gamma_spiking_is_more_regular_than_poisson():
    t = np.linspace(0, 2000, 400001)
    rate = 5 + 4 * np.sin(t)
    cum = np.concatenate([[0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(t))])
    for shape, expected_cv in ((1.0, 1.0), (4.0, 0.5)):
        s = rescaled_renewal_spikes(t, rate, np.random.default_rng(0), shape=shape)
        assert abs(s.size / cum[-1] - 1) < 0.03
        isi = np.diff(np.interp(s, t, cum))  # intervals in the rescaled clock
        assert abs(isi.std() / isi.mean() - expected_cv) < 0.05


def test_nwb_round_trip(tmp_path):
    pytest.importorskip("pynwb")
    from neurodecode.io import read_nwb

    sim = make_place_cell_session(n_units=12, duration=60.0, random_state=1,
                                  path=tmp_path / "pc.nwb")
    assert sim.path == tmp_path / "pc.nwb" and sim.path.is_file()
    back = read_nwb(sim.path)
    assert back.equals(sim.session)
    assert back.session_id == sim.session.session_id
    with pytest.raises(FileExistsError):
        make_place_cell_session(n_units=12, duration=60.0, random_state=1, path=sim.path)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_units": 0}, "n_units"),
    ({"fraction_tuned": 1.5}, "fraction_tuned"),
    ({"spiking": "bernoulli"}, "spiking"),
    ({"field_width": (30.0, 10.0)}, "field_width"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_place_cell_session(duration=10.0, **kwargs)
