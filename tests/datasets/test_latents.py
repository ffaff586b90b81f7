"""Latent simulators: the latent, the tuning and the spikes agree with what was asked."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.datasets.latents import (
    make_circle_latent,
    make_circle_latent_session,
    make_track_latent,
    make_track_latent_session,
    poisson_spike_trains,
)


def test_poisson_counts_match_rates(rng):
    rates = np.tile(np.array([[1.0, 20.0]]), (20000, 1))
    st = poisson_spike_trains(rates, 0.01, rng)
    assert st.n_units == 2
    counts = st.counts
    np.testing.assert_allclose(counts / 200.0, [1.0, 20.0], rtol=0.1)
    assert all(np.all(np.diff(st[i]) >= 0) for i in range(2))
    with pytest.raises(ValueError, match="rates"):
        poisson_spike_trains(-rates, 0.01, rng)


def test_circle_latent_drives_tuned_units():
    X, latent = make_circle_latent(n_units=30, duration=200.0, random_state=3)
    assert X.dims == ("time", "unit") and latent.dims == ("time", "latent_axis")
    np.testing.assert_allclose((latent.values ** 2).sum(1), 1.0)
    angle = latent["angle"].values
    assert np.ptp(np.unwrap(angle)) > 2 * np.pi  # at least one full turn
    s = make_circle_latent_session(n_units=30, duration=200.0, random_state=3)
    pref = s.units["preferred_angle"].to_numpy()
    # each unit fires most near its preferred angle (circular mean of spike angles)
    counts = X.values.astype(float)
    mean_angle = np.angle((counts * np.exp(1j * angle)[:, None]).sum(0))
    err = np.abs(np.angle(np.exp(1j * (mean_angle - pref))))
    assert np.median(err) < 0.3
    X2, _ = make_circle_latent(n_units=30, duration=200.0, random_state=3)
    np.testing.assert_array_equal(X.values, X2.values)


def test_track_latent_laps_and_place_fields():
    X, beh = make_track_latent(n_units=12, duration=300.0, peak_rate=15.0, random_state=1)
    pos, direction = beh["position"].values, beh["direction"].values
    assert 0 <= pos.min() and pos.max() <= 1.0
    moving = np.diff(pos) != 0
    assert np.all(np.sign(np.diff(pos))[moving] == direction[1:][moving])
    s = make_track_latent_session(n_units=12, duration=300.0, peak_rate=15.0, random_state=1)
    centre = s.units["field_centre"].to_numpy()
    counts = X.values.astype(float)
    bins = np.linspace(0, 1, 21)
    which = np.clip(np.digitize(pos, bins) - 1, 0, 19)
    occupancy = np.bincount(which, minlength=20)
    rate_map = np.stack([np.bincount(which, counts[:, u], minlength=20) for u in range(12)])
    peak = (bins[:-1] + 0.025)[np.argmax(rate_map / np.maximum(occupancy, 1), axis=1)]
    assert np.median(np.abs(peak - centre)) < 0.06
    assert s.metadata["source"] == "simulation"


def test_too_short_duration_is_named():
    with pytest.raises(ValueError, match="duration"):
        make_circle_latent_session(duration=0.01)
    with pytest.raises(ValueError, match="duration"):
        make_track_latent_session(duration=0.01)
