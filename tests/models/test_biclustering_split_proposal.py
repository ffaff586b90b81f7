"""Pieces of the data-informed split–merge proposal, each against a dense or closed form.

The move is exact only if the trajectory proposal draws from the very Gaussian whose
density it reports, if the MNIW marginal of a trajectory is right, and if the
allocation probabilities are normalised; each is checked here independently.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from neurodecode.models.biclustering.labels import DynamicsPrior
from neurodecode.models.biclustering.latents import banded_to_dense, stacked_band
from neurodecode.models.biclustering.split_merge import (
    _band_factor,
    _draw_band,
    allocation_log_prob,
    banded_gaussian_logpdf,
    trajectory_log_marginal,
    trajectory_proposal,
)


def _dense_from_chol(chol):
    """``L Lᵀ`` (dense) from the lower band Cholesky factor."""
    bands, n = chol.shape
    L = np.zeros((n, n))
    for k in range(bands):
        idx = np.arange(n - k)
        L[idx + k, idx] = chol[k, : n - k]
    return L @ L.T


def test_banded_gaussian_logpdf_matches_dense():
    rng = np.random.default_rng(0)
    K, S, T, d = 1, 2, 7, 2
    A = 0.5 * rng.standard_normal((K, S, d, d))
    b = rng.standard_normal((K, S, d))
    Q = np.broadcast_to(np.diag([0.3, 0.7]), (K, S, d, d))
    obs = rng.gamma(2.0, 1.0, (K, T, d))
    obs_prec = np.einsum("kta,ab->ktab", obs, np.eye(d))
    ab_t, h = stacked_band(rng.integers(S, size=T), A, b, Q, np.eye(d), obs_prec,
                           rng.standard_normal((K, T, d)))
    dense = banded_to_dense(np.ascontiguousarray(ab_t.T))
    chol, mean = _band_factor(ab_t, h)
    np.testing.assert_allclose(mean, np.linalg.solve(dense, h), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_dense_from_chol(chol), dense, rtol=1e-10, atol=1e-12)
    ref = stats.multivariate_normal(np.linalg.solve(dense, h), np.linalg.inv(dense))
    for x in rng.standard_normal((5, T * d)):
        assert banded_gaussian_logpdf(x, chol, mean) == pytest.approx(ref.logpdf(x), abs=1e-8)


def _proposal_inputs(seed, B=3, T=8):
    rng = np.random.default_rng(seed)
    y = rng.poisson(2.0, (B, T)).astype(float)
    return y, rng.gamma(5.0, 2.0, B), rng.normal(-1.5, 0.3, B), rng.integers(2, size=T)


@pytest.mark.parametrize("intercept", [True, False])
def test_trajectory_proposal_draws_follow_its_density(intercept):
    """Draws have the mean and covariance of the Gaussian the density describes."""
    d = 3 if intercept else 2
    y, r, delta, states = _proposal_inputs(1)
    prior = DynamicsPrior(d)
    chol, mean = trajectory_proposal(y, r, delta, d, intercept, 1.0, prior, states, 2)
    dense = _dense_from_chol(chol)
    cov = np.linalg.inv(dense)
    ref = stats.multivariate_normal(mean, cov)
    rng = np.random.default_rng(2)
    draws = np.stack([_draw_band(chol, mean, rng) for _ in range(20000)])
    for x in draws[:5]:
        assert banded_gaussian_logpdf(x, chol, mean) == pytest.approx(ref.logpdf(x), abs=1e-8)
    z_mean = (draws.mean(0) - mean) / np.sqrt(np.diag(cov) / len(draws))
    assert np.abs(z_mean).max() < 4.5
    emp = np.cov(draws.T)
    sd = np.sqrt(np.diag(cov))
    # correlations within 0.03 (sampling sd about 0.007 at 20,000 draws)
    assert np.abs(emp / np.outer(sd, sd) - cov / np.outer(sd, sd)).max() < 0.03


def test_trajectory_proposal_is_deterministic_and_order_free():
    """The density a merge evaluates is the one the split drew from: same inputs, same
    Gaussian, whatever the order of the neurons (up to rounding)."""
    y, r, delta, states = _proposal_inputs(3, B=4, T=12)
    prior = DynamicsPrior(3)
    c1, m1 = trajectory_proposal(y, r, delta, 3, True, 1.0, prior, states, 2)
    c2, m2 = trajectory_proposal(y, r, delta, 3, True, 1.0, prior, states, 2)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(m1, m2)
    perm = np.array([2, 0, 3, 1])
    c3, m3 = trajectory_proposal(y[perm], r[perm], delta[perm], 3, True, 1.0, prior, states, 2)
    np.testing.assert_allclose(m3, m1, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(c3, c1, rtol=1e-7, atol=1e-9)


def _slds_logpdf(x, states, A, b, Q, P0):
    out = stats.multivariate_normal(np.zeros(x.shape[1]), np.linalg.inv(P0)).logpdf(x[0])
    for t in range(1, len(x)):
        s = states[t]
        out += stats.multivariate_normal(A[s] @ x[t - 1] + b[s], Q[s]).logpdf(x[t])
    return out


def _mniw_logpdf(A, b, Q, M, V, Psi, nu):
    W = np.concatenate([A, b[:, None]], axis=1)
    return (stats.invwishart(df=nu, scale=Psi).logpdf(Q)
            + stats.matrix_normal(mean=M, rowcov=Q, colcov=V).logpdf(W))


def test_trajectory_log_marginal_is_bayes_identity():
    """``log p(x) = log p(θ) + log p(x | θ) - log p(θ | x)`` for any dynamics ``θ``."""
    from neurodecode.models.biclustering.mniw import mniw_posterior, regression_stats

    rng = np.random.default_rng(4)
    d, S, T = 2, 3, 15
    prior = DynamicsPrior(d, V0=np.diag([1.0, 2.0, 0.5]), Psi0=np.array([[0.2, 0.05],
                                                                           [0.05, 0.1]]),
                          nu0=6.0, x0_precision=np.diag([2.0, 1.0]))
    states = np.array([0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0])  # state 2 unused
    x = 0.3 * rng.standard_normal((T, d)).cumsum(0)
    Mn, Vn, Psin, nun = mniw_posterior(*regression_stats(x[None], states, S), prior.M0,
                                       prior.V0, prior.Psi0, prior.nu0)
    target = trajectory_log_marginal(x, states, S, prior)
    for trial in range(2):
        A = 0.4 * rng.standard_normal((S, d, d))
        b = 0.2 * rng.standard_normal((S, d))
        Q = np.stack([np.eye(d) * (0.1 + 0.2 * trial + 0.05 * s) for s in range(S)])
        log_prior = sum(_mniw_logpdf(A[s], b[s], Q[s], prior.M0, prior.V0, prior.Psi0,
                                     prior.nu0) for s in range(S))
        log_post = sum(_mniw_logpdf(A[s], b[s], Q[s], Mn[0, s], Vn[0, s], Psin[0, s],
                                    nun[0, s]) for s in range(S))
        identity = log_prior + _slds_logpdf(x, states, A, b, Q, prior.x0_precision) - log_post
        assert target == pytest.approx(identity, abs=1e-8)


def test_allocation_probabilities_normalised_and_drawn_at_their_rates():
    rng = np.random.default_rng(5)
    N = 6
    R = rng.random((N, N))
    R = 0.5 * (R + R.T)
    np.fill_diagonal(R, 0.0)
    i, j, free = 0, 1, np.array([2, 3, 4, 5])
    order = np.array([3, 0, 2, 1])
    probs = {}
    for alloc in itertools.product([False, True], repeat=len(free)):
        _, lp = allocation_log_prob(R, i, j, free, order, to_new=np.array(alloc))
        probs[alloc] = np.exp(lp)
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-12)
    n = 20000
    counts = dict.fromkeys(probs, 0)
    for _ in range(n):
        alloc, lp = allocation_log_prob(R, i, j, free, order, rng=rng)
        counts[tuple(alloc.tolist())] += 1
        assert np.exp(lp) == pytest.approx(probs[tuple(alloc.tolist())], rel=1e-12)
    expected = np.array([probs[a] for a in probs]) * n
    observed = np.array([counts[a] for a in probs])
    assert stats.chisquare(observed, expected).pvalue > 1e-3
