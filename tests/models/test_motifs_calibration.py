"""Vectorised F1-threshold calibration gives the thresholds of re-matching at every candidate."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.metrics.events import local_maxima
from neurodecode.models import SpikingMotifDetector
from neurodecode.models.motifs.calibration import _f1_thresholds_loop, f1_thresholds


def _case(rng, n_trials, n_time, n_motifs, onset_prob, min_distance, integer_scores):
    """Noisy scores with bumps at true onsets (some missed, some shifted, some close pairs)."""
    labels = (rng.random((n_trials, n_time, n_motifs)) < onset_prob).astype(np.uint8)
    # close pairs of onsets: components with several onsets and several peaks
    pair = rng.random((n_trials, n_time - 3, n_motifs)) < onset_prob / 2
    labels[:, 3:][pair] = 1
    labels[:, :-3][pair] = 1
    scores = rng.normal(0, 1, labels.shape)
    if integer_scores:  # ties between peaks and candidates
        scores = np.round(scores * 2)
    r, t, m = np.nonzero(labels)
    shift = np.clip(t + rng.integers(-2, 3, len(t)), 0, n_time - 1)
    scores[r, shift, m] += rng.normal(2.5, 1.5, len(t)) * (rng.random(len(t)) < 0.85)
    peaks = local_maxima(scores, -np.inf, min_distance)
    return scores, peaks, labels


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("tolerance,min_distance", [(2, 4), (2, 1), (0, 1), (1, 2), (3, 2)])
def test_vectorised_thresholds_equal_the_loop(seed, tolerance, min_distance):
    rng = np.random.default_rng(seed)
    scores, peaks, labels = _case(rng, n_trials=1 + seed % 3, n_time=400, n_motifs=3,
                                  onset_prob=0.02, min_distance=min_distance,
                                  integer_scores=seed % 2 == 1)
    for n_candidates in (200, 7):
        expected = _f1_thresholds_loop(scores, peaks, labels, tolerance, n_candidates)
        got = f1_thresholds(scores, peaks, labels, tolerance, n_candidates)
        np.testing.assert_array_equal(got, expected)


def test_motif_without_peaks_or_onsets():
    rng = np.random.default_rng(0)
    scores, peaks, labels = _case(rng, 2, 300, 3, 0.02, 4, False)
    peaks[..., 1] = False  # no detections at all: threshold 0
    labels[..., 2] = 0  # no onsets: F1 is 0 everywhere, the lowest candidate wins ties
    expected = _f1_thresholds_loop(scores, peaks, labels, 2)
    got = f1_thresholds(scores, peaks, labels, 2)
    np.testing.assert_array_equal(got, expected)
    assert got[1] == 0.0
    assert got[2] == np.sort(scores[..., 2][peaks[..., 2]])[-10]  # lowest of the top 10


def test_estimator_calibration_uses_the_same_thresholds():
    from neurodecode.datasets.motifs import make_recording_motifs
    from neurodecode.models.motifs.baselines import matched_filter_kernels

    data = make_recording_motifs(n_units=24, n_motifs=2, motif_size=8, max_delay=0.010,
                                 motif_rate=3.0, dropout=0.1, jitter=0.001,
                                 background_rate=5.0, duration=20.0, random_state=3)
    k, b = matched_filter_kernels(data.delays, 11, dropout=0.1, jitter_bins=1.0,
                                  background_prob=0.005)
    det = SpikingMotifDetector.from_kernels(k, b).calibrate_threshold(data.spikes, data.labels)
    logits = det.decision_function(data.spikes).values[None]
    peaks = local_maxima(logits, -np.inf, det._min_distance())
    expected = _f1_thresholds_loop(logits, peaks, data.labels.values[None], det.tolerance)
    np.testing.assert_array_equal(det.threshold_, expected)
    assert det.score(data.spikes, data.labels) > 0.9
