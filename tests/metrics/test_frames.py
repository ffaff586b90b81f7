"""Frame-identification accuracy and its chance level against direct counts."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.metrics.frames import frame_identification_accuracy, frame_identification_chance


def test_chance_matches_monte_carlo(rng):
    n, tol = 120, 10
    true = rng.integers(0, n, 200_000)
    guess = rng.integers(0, n, 200_000)
    empirical = np.mean(np.abs(guess - true) <= tol)
    assert frame_identification_chance(n, tol) == pytest.approx(empirical, abs=0.003)
    assert frame_identification_chance(n, 0) == pytest.approx(1 / n)
    assert frame_identification_chance(n, 10 * n) == 1.0


def test_accuracy_counts_against_direct_computation(rng):
    true = np.tile(np.arange(300), 2)
    pred = np.clip(true + rng.integers(-60, 61, true.size), 0, 299)
    s = frame_identification_accuracy(true, pred, frame_rate=30.0, tolerance=1.0)
    err = np.abs(pred - true)
    assert s["exact"] == np.mean(err == 0)
    assert s["within"] == np.mean(err <= 30)
    assert s["median_error_frames"] == np.median(err)
    assert s["tolerance_frames"] == 30.0
    assert s["chance_within"] == frame_identification_chance(300, 30)
    # a half-second tolerance counts fewer frames
    half = frame_identification_accuracy(true, pred, frame_rate=30.0, tolerance=0.5)
    assert half["within"] == np.mean(err <= 15) < s["within"]


def test_perfect_decoder_scores_one():
    f = np.arange(50)
    s = frame_identification_accuracy(f, f.astype(float), frame_rate=10.0)
    assert s["exact"] == s["within"] == 1.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(frames_true=[0, 1], frames_pred=[0], frame_rate=30.0), "one decoded frame"),
    (dict(frames_true=[0, 1], frames_pred=[0, 1.5], frame_rate=30.0), "frames_pred"),
    (dict(frames_true=[0, np.nan], frames_pred=[0, 1], frame_rate=30.0), "frames_true"),
    (dict(frames_true=[0, 1], frames_pred=[0, 1], frame_rate=0.0), "frame_rate"),
    (dict(frames_true=[0, 1], frames_pred=[0, 1], frame_rate=30.0, tolerance=-1), "tolerance"),
    (dict(frames_true=[], frames_pred=[], frame_rate=30.0), "empty"),
])
def test_bad_input_names_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        frame_identification_accuracy(**kwargs)
