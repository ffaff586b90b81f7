from __future__ import annotations

import numpy as np
import pytest

from neurodecode.metrics.clustering import (
    adjusted_rand_index,
    coclustering_matrix,
    dahl_partition,
)


def test_ari_is_label_invariant_and_checks_shapes():
    assert adjusted_rand_index([0, 0, 1, 1, 2], [2, 2, 0, 0, 1]) == 1.0
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) < 0
    with pytest.raises(ValueError, match="entries"):
        adjusted_rand_index([0, 1], [0, 1, 1])


def test_coclustering_matches_brute_force():
    rng = np.random.default_rng(0)
    samples = rng.integers(0, 3, (7, 5))
    P = coclustering_matrix(samples, chunk=3)
    brute = np.mean([[[s[a] == s[b] for b in range(5)] for a in range(5)] for s in samples], 0)
    np.testing.assert_allclose(P, brute)


def test_dahl_minimises_squared_loss_among_samples():
    rng = np.random.default_rng(1)
    samples = rng.integers(0, 3, (12, 6))
    P = coclustering_matrix(samples)
    losses = [np.sum((np.equal.outer(s, s) - P) ** 2) for s in samples]
    labels, index = dahl_partition(samples)
    assert losses[index] == pytest.approx(min(losses))
    assert adjusted_rand_index(labels, samples[index]) == 1.0
    assert labels[0] == 0 and set(labels) == set(range(len(set(labels))))
