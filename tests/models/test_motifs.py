"""SpikingMotifDetector: maths against brute force, recovery of simulated motifs, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from neurodecode.datasets.motifs import make_recording_motifs
from neurodecode.errors import SpikeTensorError
from neurodecode.metrics.events import delay_accuracy, kernel_correlation, onset_auc
from neurodecode.models import SpikingMotifDetector
from neurodecode.models.motifs.baselines import (
    icann_oracle_kernels,
    matched_filter_kernels,
)
from neurodecode.models.motifs.detection import (
    SpikeIndex,
    gaussian_delay_kernel,
    init_positions_from_dense,
    motif_logits,
)
from neurodecode.models.motifs.pruning import pruning_curve
from neurodecode.models.motifs.surrogates import (
    dither_spikes,
    shuffle_trials,
    surrogate_p_values,
)

SMALL = dict(n_units=24, n_motifs=2, motif_size=8, max_delay=0.010, motif_rate=3.0,
             dropout=0.1, jitter=0.0005, background_rate=5.0)


@pytest.fixture(scope="module")
def small():
    """40 s: first 30 s to fit, last 10 s to test."""
    data = make_recording_motifs(duration=40.0, random_state=0, **SMALL)
    cut = 30000
    return data, slice(0, cut), slice(cut, None)


@pytest.fixture(scope="module")
def dense_fit(small):
    data, tr, _ = small
    # sub-bin jitter here: no smoothness prior along delays
    return SpikingMotifDetector(n_delays=11, max_iter=150, smoothness=0.0, random_state=0).fit(
        data.spikes[tr], data.labels[tr])


# ------------------------------------------------------------------ maths
def brute_logits(A, K, bias):
    """z(b, t) = bias_b + Σ_{a,δ} A(a, t+δ) K(b, a, δ), zero past the end."""
    R, N, T = A.shape
    M, _, D = K.shape
    out = np.zeros((R, M, T))
    for r in range(R):
        for b in range(M):
            for t in range(T):
                total = bias[b]
                for d in range(D):
                    if t + d < T:
                        total += (A[r, :, t + d] * K[b, :, d]).sum()
                out[r, b, t] = total
    return out


def test_convolution_and_spike_index_match_brute_force(rng):
    A = ((rng.random((2, 5, 30)) < 0.2) * rng.integers(1, 3, (2, 5, 30))).astype(np.float32)
    K = rng.normal(size=(3, 5, 4)).astype(np.float32)
    bias = rng.normal(size=3).astype(np.float32)
    expected = brute_logits(A, K, bias)
    got = motif_logits(torch.tensor(A), torch.tensor(K), torch.tensor(bias)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)
    index = SpikeIndex(A.transpose(0, 2, 1), 4)
    got = index.logits(torch.tensor(K), torch.tensor(bias)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)
    # gradients agree too
    k1 = torch.tensor(K, requires_grad=True)
    k2 = torch.tensor(K, requires_grad=True)
    (motif_logits(torch.tensor(A), k1) ** 2).sum().backward()
    (index.logits(k2) ** 2).sum().backward()
    np.testing.assert_allclose(k1.grad.numpy(), k2.grad.numpy(), rtol=1e-4, atol=1e-3)


def test_gaussian_delay_kernel():
    w = torch.tensor([[[2.0, -1.0]]])
    pos = torch.tensor([[[3.0, 7.0]]])
    k = gaussian_delay_kernel(w, pos, 0.05, 10)[0, 0]
    expected = torch.zeros(10)
    expected[3], expected[7] = 2.0, -1.0
    torch.testing.assert_close(k, expected)
    # wide Gaussians keep the total weight (normalised over the grid)
    wide = gaussian_delay_kernel(w, pos, 2.0, 10)
    assert float(wide.sum()) == pytest.approx(1.0, abs=1e-5)
    # gradient moves the position toward the target delay
    pos = torch.tensor([[[4.0]]], requires_grad=True)
    target = torch.zeros(1, 1, 10)
    target[..., 6] = 1.0
    loss = ((gaussian_delay_kernel(torch.ones(1, 1, 1), pos, 1.0, 10) - target) ** 2).sum()
    loss.backward()
    assert float(pos.grad) < 0
    dense = torch.zeros(1, 2, 5)
    dense[0, 0, 3], dense[0, 1, 1] = 2.0, 1.0
    w, p = init_positions_from_dense(dense, 1)
    assert p[0, :, 0].tolist() == [3.0, 1.0] and w[0, :, 0].tolist() == [2.0, 1.0]


def test_icann_oracle_bias_is_bernoulli_llr(rng):
    k = rng.random((1, 3, 2)) * 2
    kern, bias = icann_oracle_kernels(k, p_A=0.05)
    p1 = 1 / (1 + np.exp(-(np.log(0.05 / 0.95) + k)))
    assert bias[0] == pytest.approx(np.log((1 - p1) / 0.95).sum())
    np.testing.assert_allclose(kern, k)


# ------------------------------------------------------------------ recovery
def test_dense_detector_recovers_motifs(small, dense_fit):
    """Held-out event F1 >= 0.9, delay accuracy >= 0.95, AUC vs distractors >= 0.95."""
    data, _, te = small
    det = dense_fit
    assert det.score(data.spikes[te], data.labels[te]) >= 0.9
    assert delay_accuracy(data.delays, det.delays_) >= 0.95
    scores = det.decision_function(data.spikes[te])
    assert scores.dims == ("time", "motif")
    np.testing.assert_array_equal(scores["time"].values, data.spikes[te]["time"].values)
    assert onset_auc(scores, data.labels[te], data.distractors[te], tolerance=1) >= 0.95
    corr = kernel_correlation(data.kernels, det.kernels_, match=False)["correlation"]
    assert corr.min() >= 0.5
    # the matched filter from the true delays does at least as well, and is in the same API
    k, b = matched_filter_kernels(data.delays, 11, dropout=0.1, jitter_bins=0.5,
                                  background_prob=0.005)
    oracle = SpikingMotifDetector.from_kernels(k, b, n_delays=11)
    oracle.calibrate_threshold(data.spikes[small[1]], data.labels[small[1]])
    assert oracle.score(data.spikes[te], data.labels[te]) >= 0.9


def test_rate_baseline_cannot_tell_distractors(small):
    data, tr, te = small
    det = SpikingMotifDetector(n_delays=11, parametrization="rate", max_iter=100,
                               random_state=0).fit(data.spikes[tr], data.labels[tr])
    scores = det.decision_function(data.spikes[te])
    assert onset_auc(scores, data.labels[te], data.distractors[te], tolerance=1) < 0.75
    assert det.score(data.spikes[te], data.labels[te]) < 0.6


def test_sparse_delays_recover_truth(small):
    data, tr, te = small
    det = SpikingMotifDetector(n_delays=11, parametrization="sparse", n_positions=1,
                               max_iter=150, sparse_iter=80, random_state=0)
    det.fit(data.spikes[tr], data.labels[tr])
    assert det.synapse_weights_.shape == (2, 24, 1)
    assert delay_accuracy(data.delays, det.delays_) >= 0.95
    assert det.score(data.spikes[te], data.labels[te]) >= 0.85
    curve = pruning_curve(det, data.spikes[te], data.labels[te], n_keep=[2, 16, 48],
                          X_calib=data.spikes[tr], y_calib=data.labels[tr])
    assert list(curve["n_synapses"]) == [2, 16, 48]
    assert curve["f1"].iloc[-1] >= curve["f1"].iloc[0]


def test_same_seed_same_kernels_and_save_load(small, dense_fit, tmp_path):
    data, tr, te = small
    again = SpikingMotifDetector(n_delays=11, max_iter=150, smoothness=0.0, random_state=0).fit(
        data.spikes[tr], data.labels[tr])
    np.testing.assert_array_equal(again.kernels_, dense_fit.kernels_)
    path = dense_fit.save(tmp_path / "det.zip")
    loaded = SpikingMotifDetector.load(path)
    np.testing.assert_allclose(loaded.decision_function(data.spikes[te]).values,
                               dense_fit.decision_function(data.spikes[te]).values)
    assert loaded.get_params() == dense_fit.get_params()


def test_events_table_and_p_values(small, dense_fit):
    data, _, te = small
    events = dense_fit.predict_events(data.spikes[te], n_surrogates=3, random_state=0)
    assert {"trial", "motif", "onset_bin", "time", "score", "p_value"} <= set(events.columns)
    assert len(events) > 0 and events.p_value.between(0, 1).all()
    # true detections are far less likely under dithering than the weakest detections
    assert events.p_value.median() < 0.05
    pred = dense_fit.predict(data.spikes[te])
    assert int(pred.sum()) == len(events)


def test_trials_and_numpy_input():
    data = make_recording_motifs(duration=6.0, n_trials=4, random_state=1, **SMALL)
    det = SpikingMotifDetector(n_delays=11, max_iter=60, random_state=0)
    det.fit(data.spikes, data.labels)
    assert det.predict(data.spikes).dims == ("trial", "time", "motif")
    out = det.decision_function(data.spikes.values)
    assert isinstance(out, np.ndarray) and out.shape == (4, 6000, 2)
    p = shuffle_trials(data.spikes.values, np.random.default_rng(0))
    np.testing.assert_array_equal(p.sum(0), data.spikes.values.sum(0) * 0 + p.sum(0))
    np.testing.assert_array_equal(np.sort(p.sum(1), 0), np.sort(data.spikes.values.sum(1), 0))
    events = det.predict_events(data.spikes, n_surrogates=2, surrogate="trial_shuffle",
                                random_state=0)
    assert events.p_value.between(0, 1).all()


def test_delay_window_of_one_bin():
    """D = 1: synchronous motifs (the reference code returns NaN there)."""
    data = make_recording_motifs(n_units=16, n_motifs=1, motif_size=8, duration=20.0,
                                 max_delay=0.0, motif_rate=3.0, jitter=0.0,
                                 distractor_rate=0.0, random_state=0)
    assert data.kernels.shape[2] == 1
    det = SpikingMotifDetector(n_delays=1, max_iter=100, parametrization="sparse",
                               sparse_iter=30, random_state=0)
    det.fit(data.spikes[:15000], data.labels[:15000])
    assert np.all(np.isfinite(det.kernels_))
    assert det.score(data.spikes[15000:], data.labels[15000:]) >= 0.9


# ------------------------------------------------------------------ surrogates
def test_dither_keeps_counts_and_p_values_match_brute_force(rng):
    x = rng.poisson(0.3, (2, 200, 5))
    d = dither_spikes(x, 4, rng)
    np.testing.assert_array_equal(d.sum(1), x.sum(1))
    assert not np.array_equal(d, x)
    null = rng.normal(size=(6, 1, 50, 2))
    obs = rng.normal(size=7) + 1
    motif = rng.integers(0, 2, 7)
    p = surrogate_p_values(obs, motif, null)
    for i in range(7):
        values = null[..., motif[i]].ravel()
        assert p[i] == pytest.approx((1 + (values >= obs[i]).sum()) / (1 + values.size))
    pm = surrogate_p_values(obs, motif, null, max_statistic=True)
    for i in range(7):
        mx = null[..., motif[i]].reshape(6, -1).max(1)
        assert pm[i] == pytest.approx((1 + (mx >= obs[i]).sum()) / 7)


# ------------------------------------------------------------------ bad input
def test_bad_input_errors(small, dense_fit):
    data, tr, _ = small
    X, y = data.spikes[tr], data.labels[tr]
    with pytest.raises(SpikeTensorError, match="longer than"):
        SpikingMotifDetector(n_delays=50).fit(X[:40], y[:40])
    with pytest.raises(SpikeTensorError, match="no units"):
        SpikingMotifDetector(n_delays=5).fit(X.isel(unit=slice(0, 0)), y)
    with pytest.raises(SpikeTensorError, match="non-integer"):
        SpikingMotifDetector(n_delays=5).fit(X.astype(float) * 0.5, y)
    negative = X.astype(np.int64).copy()
    negative[0, 0] = -1
    with pytest.raises(SpikeTensorError, match="negative"):
        SpikingMotifDetector(n_delays=5).fit(negative.values, y.values)
    with pytest.raises(SpikeTensorError, match="time"):
        SpikingMotifDetector(n_delays=5).fit(X, data.labels[1:len(X["time"]) + 1])
    with pytest.raises(SpikeTensorError, match="shape"):
        SpikingMotifDetector(n_delays=5).fit(X.values, y.values[:-3])
    with pytest.raises(SpikeTensorError, match="binary"):
        SpikingMotifDetector(n_delays=5).fit(X, y * 2)
    with pytest.raises(SpikeTensorError, match="dims"):
        SpikingMotifDetector(n_delays=5).fit(X, y.rename(motif="pattern"))
    with pytest.raises(ValueError, match="n_motifs"):
        SpikingMotifDetector(n_delays=5).fit(X)
    with pytest.raises(ValueError, match="n_delays"):
        SpikingMotifDetector(n_delays=0).fit(X, y)
    with pytest.raises(SpikeTensorError, match="units"):
        dense_fit.predict(X.isel(unit=slice(0, 5)))
    with pytest.raises(RuntimeError, match="not fitted"):
        SpikingMotifDetector().predict(X)
    with pytest.raises(SpikeTensorError):
        SpikingMotifDetector(n_delays=5).fit(xr.DataArray(np.zeros((10, 3))), y)


@pytest.mark.slow
def test_recording_regime_at_benchmark_scale():
    """64 units, 4 motifs of 16, 0-30 ms delays, dropout 0.2, 5 Hz, 2 ms jitter, distractors:
    held-out F1 >= 0.93 and within 0.03 of the matched-filter oracle, AUC vs distractors
    >= 0.98, delay accuracy >= 0.95 (dense)."""
    data = make_recording_motifs(duration=300.0, jitter=0.002, random_state=0)
    cut = 240000
    X, y = data.spikes, data.labels
    det = SpikingMotifDetector(random_state=0).fit(X[:cut], y[:cut])
    k, b = matched_filter_kernels(data.delays, 31, dropout=0.2, jitter_bins=2.0,
                                  background_prob=0.005)
    oracle = SpikingMotifDetector.from_kernels(k, b).calibrate_threshold(X[:cut], y[:cut])
    f1, f1_oracle = det.score(X[cut:], y[cut:]), oracle.score(X[cut:], y[cut:])
    assert f1 >= 0.93 and f1 >= f1_oracle - 0.03
    scores = det.decision_function(X[cut:])
    assert onset_auc(scores, y[cut:], data.distractors[cut:], tolerance=1) >= 0.98
    assert delay_accuracy(data.delays, det.delays_) >= 0.95
