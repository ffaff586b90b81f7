"""Motif simulators: shapes, determinism, and that the embedded truth is what was drawn."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.data.tensor import validate_spike_tensor
from neurodecode.datasets.motifs import make_icann_motifs, make_recording_motifs, motif_envelope


def test_icann_shapes_truth_and_determinism():
    a = make_icann_motifs(n_units=32, n_motifs=3, n_delays=11, n_time=400, random_state=1)
    b = make_icann_motifs(n_units=32, n_motifs=3, n_delays=11, n_time=400, random_state=1)
    validate_spike_tensor(a.spikes)
    assert a.spikes.dims == ("time", "unit") and a.labels.dims == ("time", "motif")
    np.testing.assert_array_equal(a.spikes.values, b.spikes.values)
    assert a.kernels.shape == (3, 32, 11)
    assert np.all((a.kernels > 0).sum(axis=(1, 2)) >= 1)
    # the default refractory spike shape (1, -0.8, -0.2) balances each entry away from the end
    early = make_icann_motifs(n_units=32, n_motifs=3, n_delays=11, n_time=400, random_state=1,
                              spike_shape=(1.0, -0.8, -0.2), kernel_density=0.2)
    positive = make_icann_motifs(n_units=32, n_motifs=3, n_delays=11, n_time=400,
                                 random_state=1, spike_shape=None, kernel_density=0.2)
    assert np.all(positive.kernels >= 0)
    k, k0 = early.kernels, positive.kernels
    np.testing.assert_allclose(k[..., 0], k0[..., 0])
    np.testing.assert_allclose(k[..., 1], k0[..., 1] - 0.8 * k0[..., 0])
    np.testing.assert_allclose(k[..., 2:], k0[..., 2:] - 0.8 * k0[..., 1:-1]
                               - 0.2 * k0[..., :-2])
    # the authors' weights: active entries come from the upper tail of N(0, amplitude²)
    env = motif_envelope(11, 1.5, 12.0, offset=0.0, normalize=False)
    w = k0[k0 > 0] / np.broadcast_to(env, k0.shape)[k0 > 0]
    assert w.min() >= 4.0 * 0.8416 and np.mean(k0 > 0) == pytest.approx(0.2 * 10 / 11, abs=0.05)
    assert a.spikes.attrs["bin_size"] == 0.001
    assert len(a.events) == int(a.labels.sum())
    trials = make_icann_motifs(n_units=8, n_motifs=2, n_delays=5, n_time=50, n_trials=3,
                               random_state=0)
    assert trials.spikes.dims == ("trial", "time", "unit")
    assert trials.labels.dims == ("trial", "time", "motif")


def test_icann_background_rate_and_motif_drive():
    quiet = make_icann_motifs(n_units=64, n_time=4000, p_B=0.0, p_A=0.02, random_state=0)
    assert quiet.spikes.values.mean() == pytest.approx(0.02, rel=0.1)
    data = make_icann_motifs(n_units=64, n_motifs=1, n_delays=11, n_time=20000, p_B=0.002,
                             p_A=0.01, amplitude=5.0, kernel_density=0.05, random_state=0)
    onsets = np.flatnonzero(data.labels.values[:, 0])
    onsets = onsets[onsets < 20000 - 11]
    windows = np.stack([data.spikes.values[t:t + 11].T for t in onsets])  # (E, N, D)
    k = data.kernels[0]
    strong = k > 3
    expected = 1 / (1 + np.exp(-(np.log(0.01 / 0.99) + k[strong])))
    # isolated onsets dominate at this p_B; overlap only adds drive
    assert windows.mean(0)[strong].mean() == pytest.approx(expected.mean(), abs=0.08)
    assert windows.mean(0)[k == 0].mean() < 0.03


def test_motif_envelope():
    env = motif_envelope(31, 2.0, 10.0)
    assert env.max() == 1.0 and env[0] < env.max() and env[-1] < env.max()
    with pytest.raises(ValueError):
        motif_envelope(0, 1.0, 1.0)


def test_recording_clean_motifs_land_at_their_delays():
    data = make_recording_motifs(n_units=20, n_motifs=2, motif_size=6, duration=5.0,
                                 dropout=0.0, jitter=0.0, background_rate=0.0,
                                 distractor_rate=0.0, overlap=False, random_state=3)
    validate_spike_tensor(data.spikes)
    spikes = data.spikes.values
    n_delays = data.kernels.shape[2]
    assert int(spikes.sum()) == 6 * int(data.labels.sum())
    for _, ev in data.events.iterrows():
        window = spikes[ev.onset_bin:ev.onset_bin + n_delays].T
        np.testing.assert_array_equal(window > 0, data.kernels[ev.motif] > 0)
    assert np.isfinite(data.delays).sum() == 12


def test_distractors_same_neurons_and_counts_other_timing():
    data = make_recording_motifs(n_units=30, n_motifs=1, motif_size=10, duration=20.0,
                                 dropout=0.0, jitter=0.0, background_rate=0.0,
                                 motif_rate=0.5, distractor_rate=0.5, overlap=False,
                                 random_state=4)
    spikes = data.spikes.values
    d = data.kernels.shape[2]
    members = data.kernels[0].sum(1) > 0
    dis = data.events[data.events.kind == "distractor"]
    assert len(dis) > 3
    n_same = 0
    for _, ev in dis.iterrows():
        window = spikes[ev.onset_bin:ev.onset_bin + d]
        np.testing.assert_array_equal(window.sum(0) > 0, members)
        assert window.sum() == 10
        n_same += np.array_equal(window.T > 0, data.kernels[0] > 0)
    assert n_same < len(dis) / 2
    assert data.distractors.values.sum() == len(dis)


def test_recording_options_and_errors():
    data = make_recording_motifs(n_units=40, n_motifs=4, motif_size=10, duration=10.0,
                                 shared_neurons=False, background="modulated", time_warp=0.2,
                                 n_trials=2, random_state=0)
    members = data.kernels.sum(2) > 0
    assert members.sum(0).max() == 1  # disjoint
    assert data.spikes.dims == ("trial", "time", "unit")
    assert data.events.warp.between(0.8, 1.2).all() and data.events.warp.std() > 0
    spaced = make_recording_motifs(duration=20.0, overlap=False, motif_rate=5.0, random_state=0)
    on = np.sort(spaced.events.onset_bin.to_numpy())
    assert np.diff(on).min() >= spaced.kernels.shape[2]
    with pytest.raises(ValueError, match="motif_size"):
        make_recording_motifs(n_units=5, motif_size=6)
    with pytest.raises(ValueError, match="disjoint"):
        make_recording_motifs(n_units=20, n_motifs=3, motif_size=8, shared_neurons=False)
    with pytest.raises(ValueError, match="shorter"):
        make_recording_motifs(duration=0.01, max_delay=0.03)
    with pytest.raises(ValueError, match="p_A"):
        make_icann_motifs(p_A=1.5)


def test_to_session_and_nwb_round_trip(tmp_path):
    data = make_recording_motifs(n_units=12, n_motifs=2, motif_size=4, duration=3.0,
                                 motif_rate=2.0, random_state=0)
    session = data.to_session()
    back = session.bin(0.001, start=0.0, stop=3.0)
    np.testing.assert_array_equal(back.values, data.spikes.values)
    assert len(session.intervals["motif_events"]) == len(data.events)
    path = data.to_nwb(tmp_path / "motifs.nwb")
    from neurodecode.io import read_nwb

    again = read_nwb(path).bin(0.001, start=0.0, stop=3.0)
    np.testing.assert_array_equal(again.values, data.spikes.values)
    with pytest.raises(ValueError, match="n_trials"):
        make_recording_motifs(duration=1.0, n_trials=2, random_state=0).to_session()
