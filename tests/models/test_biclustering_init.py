"""The data-driven start of the bi-clustering chains (only a starting point; the tests
check it carries real information about the truth on the paper's simulation).

Measured (paper simulation, seed 0): start neuron ARI 0.53, start state ARI 0.52
(seeds 0-4: neuron 0.39-0.62, state 0.18-0.52); a fit from it reaches state ARI 0.73.
"""

from __future__ import annotations

import numpy as np

from neurodecode.datasets.biclustering import make_biclustering_data
from neurodecode.metrics.clustering import adjusted_rand_index
from neurodecode.models.biclustering.sampler import (
    SamplerConfig,
    init_labels,
    init_state,
    init_states,
    lagged_similarity,
)


def _paper(seed=0):
    X, truth = make_biclustering_data(random_state=seed)
    return X.values.T.astype(float), truth


def test_lagged_similarity_higher_within_clusters():
    y, truth = _paper()
    R = lagged_similarity(y)
    same = truth["labels"][:, None] == truth["labels"][None, :]
    off = ~np.eye(len(R), dtype=bool)
    assert np.allclose(R, R.T) and np.all(np.diag(R) == 0)
    assert R[same & off].mean() > 1.5 * R[~same].mean()


def test_start_is_informative_on_paper_simulation():
    y, truth = _paper()
    labels = init_labels(y, 3, np.random.default_rng(0))
    assert adjusted_rand_index(truth["labels"], labels) >= 0.4
    states = init_states(y, labels, 2)
    assert adjusted_rand_index(truth["states"], states) >= 0.4
    # the start is a valid chain state with contiguous labels and the held segmentation
    cfg = SamplerConfig(n_states=4)
    state = init_state(y, cfg, np.random.default_rng(0), 3, n_warm_sweeps=2)
    assert state.x.shape == (3, y.shape[1], cfg.d)
    assert set(np.unique(state.labels)) == {0, 1, 2}
    np.testing.assert_array_equal(state.states, init_states(y, state.labels, 2))


def test_start_with_given_labels_and_single_cluster():
    y, truth = _paper()
    cfg = SamplerConfig(n_states=3, intercept=False)
    state = init_state(y, cfg, np.random.default_rng(1), 3, labels=truth["labels"] + 5)
    np.testing.assert_array_equal(state.labels, truth["labels"])
    assert init_labels(y, 1, np.random.default_rng(0)).max() == 0
