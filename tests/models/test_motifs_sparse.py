"""Sparse learned delays (Gaussian-interpolated continuous positions, DCLS-style): with
spike jitter wider than a bin, a learned per-synapse width and the same L2 penalty as the
dense fit keep the sparse detector at the matched-filter oracle's F1."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodecode.datasets.motifs import make_recording_motifs
from neurodecode.metrics.events import delay_accuracy
from neurodecode.models import SpikingMotifDetector
from neurodecode.models.motifs.baselines import matched_filter_kernels

torch.set_num_threads(1)

JITTERED = dict(n_units=24, n_motifs=2, motif_size=8, max_delay=0.015, motif_rate=3.0,
                dropout=0.1, jitter=0.002, background_rate=5.0)


@pytest.fixture(scope="module")
def jittered():
    """2 ms jitter (2 bins): 40 s, first 30 s to fit, last 10 s to test."""
    data = make_recording_motifs(duration=40.0, random_state=1, **JITTERED)
    return data, slice(0, 30000), slice(30000, None)


def test_sparse_learned_width_matches_oracle_under_jitter(jittered):
    data, tr, te = jittered
    X, y = data.spikes, data.labels
    k, b = matched_filter_kernels(data.delays, 16, dropout=0.1, jitter_bins=2.0,
                                  background_prob=0.005)
    oracle = SpikingMotifDetector.from_kernels(k, b).calibrate_threshold(X[tr], y[tr])
    f1_oracle = oracle.score(X[te], y[te])
    det = SpikingMotifDetector(n_delays=16, parametrization="sparse", learn_width=True,
                               max_iter=150, sparse_iter=100, random_state=0).fit(X[tr], y[tr])
    f1 = det.score(X[te], y[te])
    assert f1 >= f1_oracle - 0.05, (f1, f1_oracle)
    assert delay_accuracy(data.delays, det.delays_) >= 0.9
    members = np.isfinite(data.delays)
    w = det.synapse_weights_[..., 0]
    # regularised refit (L2, and L1 on the synapse weights): non-member synapses are ~0
    assert np.median(np.abs(w[~members])) < 0.02 * np.median(w[members])
    # widths grew from the annealed 1 bin toward the 2-bin jitter
    assert np.median(det.synapse_widths_[..., 0][members]) > 1.3


def test_synapse_l1_silences_non_members(jittered):
    """Without the L1 penalty on synapse weights, non-member synapses keep noise bumps
    (median |w| 7 % of members' here, 0.3 % with it)."""
    data, tr, _ = jittered
    det = SpikingMotifDetector(n_delays=16, parametrization="sparse", learn_width=True,
                               max_iter=150, sparse_iter=100, synapse_sparsity=0.0,
                               random_state=0).fit(data.spikes[tr], data.labels[tr])
    members = np.isfinite(data.delays)
    w = det.synapse_weights_[..., 0]
    assert np.median(np.abs(w[~members])) > 0.04 * np.median(w[members])


def test_bump_init_finds_the_centre_of_a_noisy_jittered_synapse():
    """A broad bump (centre 12.3, width 4) with a narrow noise spike at 8 on top: the largest
    entry is the spike, the best-matching Gaussian sits on the bump (sub-bin); a second
    position goes to the second bump (matching pursuit), not next to the first."""
    from neurodecode.models.motifs.detection import init_positions_from_dense

    grid = torch.arange(31, dtype=torch.float64)
    kernel = torch.exp(-0.5 * ((grid - 12.3) / 4.0) ** 2)
    kernel[8] += 0.6
    w, p = init_positions_from_dense(kernel.view(1, 1, -1), 1)
    assert p.item() == 8.0  # plain argmax: the noise spike
    w, p = init_positions_from_dense(kernel.view(1, 1, -1), 1, sigma=2.0)
    assert abs(p.item() - 12.3) < 0.5 and w.item() == pytest.approx(kernel[12].item())
    two = kernel + 0.8 * torch.exp(-0.5 * ((grid - 26.0) / 2.0) ** 2)
    w, p = init_positions_from_dense(two.view(1, 1, -1), 2, sigma=2.0)
    assert abs(p[0, 0, 0].item() - 12.3) < 0.5 and abs(p[0, 0, 1].item() - 26.0) < 0.5
    with pytest.raises(ValueError, match="sigma"):
        init_positions_from_dense(kernel.view(1, 1, -1), 1, sigma=0.0)
