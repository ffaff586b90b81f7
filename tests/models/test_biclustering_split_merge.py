"""Invariance of the split–merge move on the neuron partition.

If ``(θ, y)`` is a joint draw (prior, then counts) and ``θ'`` comes from a kernel
that leaves ``p(θ | y)`` invariant, ``(θ', y)`` is again a joint draw, so every
statistic of ``θ'`` (number of clusters, co-clustering of a pair, loadings) has its
prior distribution. Many independent joint draws, one move each (several proposals),
compared with the prior draws themselves; a deliberately wrong acceptance ratio must
be detected by the same comparison.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.models.biclustering import split_merge
from neurodecode.models.biclustering.sampler import SamplerConfig, sample_prior
from neurodecode.models.biclustering.split_merge import split_merge_move

CFG = SamplerConfig(latent_dim=1, intercept=True, n_states=2, mfm_gamma=1.0,
                    cluster_geometric_p=0.4, baseline_var=0.5, loading_var=0.5,
                    dispersion_shape=4.0, dispersion_rate=1.0, noise_scale=0.1)
N, T = 4, 4


def _stats(labels, x, loadings):
    return [x.shape[0], float(x.shape[0] == 1), float(labels[0] == labels[1]),
            float(labels[2] == labels[3]), (loadings**2).mean(), loadings[:, 0].mean(),
            (x[..., 1] ** 2).mean()]


def _run(n_rep, seed):
    rng = np.random.default_rng(seed)
    log_v, prior = CFG.log_v(N), CFG.dynamics_prior()
    before, after = [], []
    totals = dict(split_proposed=0, split_accepted=0, merge_proposed=0, merge_accepted=0)
    for _ in range(n_rep):
        s, y = sample_prior(N, T, CFG, rng)
        lab, x, A, b, Q, c, st = split_merge_move(
            y, s.labels, s.x, s.A, s.b, s.Q, s.states, s.delta, s.loadings, s.r, log_v,
            CFG.mfm_gamma, CFG.loading_var, CFG.intercept, prior, rng, n_proposals=4)
        assert np.array_equal(np.unique(lab), np.arange(x.shape[0]))  # contiguous labels
        assert A.shape[0] == b.shape[0] == Q.shape[0] == x.shape[0]
        before.append(_stats(s.labels, s.x, s.loadings))
        after.append(_stats(lab, x, c))
        for k, v in st.items():
            totals[k] += v
    before, after = np.array(before), np.array(after)
    se = np.sqrt(before.var(0) / n_rep + after.var(0) / n_rep)
    # the two samples are paired (same draws), so this se is conservative for unchanged
    # coordinates; it still detects a biased ratio (see the power test below)
    return (after.mean(0) - before.mean(0)) / se, totals


def test_split_merge_keeps_posterior():
    z, totals = _run(4000, 0)
    assert np.all(np.abs(z) < 4.0), np.round(z, 2)
    # the move is not idle: both kinds are proposed and accepted often on this tiny model
    assert totals["split_accepted"] > 0.02 * totals["split_proposed"]
    assert totals["merge_accepted"] > 0.05 * totals["merge_proposed"]


def test_split_merge_wrong_ratio_would_fail(monkeypatch):
    """Power check: a factor 2 in favour of splits (a miscounted pair probability)."""
    right = split_merge._split_log_ratio

    def wrong(*args):
        return right(*args) + np.log(2.0)

    monkeypatch.setattr(split_merge, "_split_log_ratio", wrong)
    z, _ = _run(4000, 0)
    assert np.max(np.abs(z)) > 6.0, np.round(z, 2)


def test_split_merge_single_neuron_and_shapes():
    rng = np.random.default_rng(3)
    s, y = sample_prior(1, T, CFG, rng)
    out = split_merge_move(y, s.labels, s.x, s.A, s.b, s.Q, s.states, s.delta, s.loadings, s.r,
                           CFG.log_v(1), CFG.mfm_gamma, CFG.loading_var, True,
                           CFG.dynamics_prior(), rng, n_proposals=3)
    np.testing.assert_array_equal(out[0], s.labels)
    assert out[-1]["split_proposed"] + out[-1]["merge_proposed"] == 0


@pytest.mark.parametrize("seed", [1])
def test_split_merge_inputs_unchanged(seed):
    rng = np.random.default_rng(seed)
    s, y = sample_prior(N, T, CFG, rng)
    keep = s.copy()
    split_merge_move(y, s.labels, s.x, s.A, s.b, s.Q, s.states, s.delta, s.loadings, s.r,
                     CFG.log_v(N), CFG.mfm_gamma, CFG.loading_var, True, CFG.dynamics_prior(),
                     rng, n_proposals=10)
    for f in ("labels", "x", "A", "loadings"):
        np.testing.assert_array_equal(getattr(s, f), getattr(keep, f))


def test_estimator_split_merge_argument():
    from neurodecode.models.biclustering import BayesianBiclustering

    y = np.random.default_rng(0).poisson(2.0, (40, 6))
    with pytest.raises(ValueError, match="split_merge"):
        BayesianBiclustering(split_merge=-1, n_iter=2, n_chains=1, max_states=2).fit(y)
    model = BayesianBiclustering(split_merge=3, n_iter=4, n_chains=1, n_jobs=1, max_states=2,
                                 init_sweeps=1, label_warmup=0, random_state=0,
                                 verbose=False).fit(y)
    assert model.labels_.shape == (6,)
