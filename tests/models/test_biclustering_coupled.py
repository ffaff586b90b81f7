"""Coupled (full) dynamics over the stacked latents: prior nesting, the reversible-jump pieces
against dense brute force, the coupled intercept-shift move, and one-step invariance of the
coupled label sweep."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.stats import invwishart, multivariate_normal

from neurodecode.models.biclustering.coupled import (
    _iw_logpdf,
    birth_log_ratio,
    conditional_latent_terms,
    coupled_offset_move,
    coupled_prior,
    coupled_prior_log_density,
    drop_block,
    extension_log_density,
    new_latents_log_density,
    offset_conditional,
    permute_last,
    sample_coupled_prior,
    sample_extension,
    sample_new_latents,
    slds_log_density,
    stack_latents,
    stack_observation_terms,
    sweep_labels_coupled,
    unstack_latents,
)
from neurodecode.models.biclustering.latents import (
    banded_to_dense,
    blocks_to_banded,
    dynamics_precision,
    sample_latents,
)
from neurodecode.models.biclustering.moves import cluster_offset_move
from neurodecode.models.biclustering.sampler import SamplerConfig, sample_prior


def _dense_joint(states, A, b, Q):
    """Dense precision and information of the stacked SLDS prior, x_0 ~ N(0, I)."""
    D = A.shape[-1]
    diag, lower, h = dynamics_precision(states, A[None], b[None], Q[None], np.eye(D))
    return banded_to_dense(blocks_to_banded(diag[0], lower[0])), h[0].reshape(-1)


def _stable_system(rng, K, d, L, scale=0.1):
    A, b, Q = sample_coupled_prior(K, d, L, scale, rng)
    return A[0], b[0], Q[0]


def _stacked_block_dynamics(A, b, Q):
    """Per-cluster dynamics (K, L, d, d) / (K, L, d) as the stacked block-diagonal system."""
    K, L, d, _ = A.shape
    As = np.zeros((1, L, K * d, K * d))
    Qs = np.zeros((1, L, K * d, K * d))
    for k in range(K):
        As[0, :, k * d:(k + 1) * d, k * d:(k + 1) * d] = A[k]
        Qs[0, :, k * d:(k + 1) * d, k * d:(k + 1) * d] = Q[k]
    return As, np.concatenate(list(b), axis=-1)[None], Qs


# ---------------------------------------------------------------------------------- prior
def test_iw_logpdf_matches_scipy():
    Psi = np.array([[0.5, 0.1], [0.1, 0.3]])
    S = invwishart.rvs(df=7, scale=Psi, random_state=1)
    assert np.isclose(_iw_logpdf(S, Psi, 7.0), invwishart.logpdf(S, df=7, scale=Psi))


def test_prior_nests_exact_density_identity():
    """log p_{K+1}(θ) = log p_K(θ_old) + log p(θ_ext | θ_old): the K-system prior is the
    marginal of the (K+1)-system prior, and the extension density (the IW partition and the
    Gaussian rows/columns of W) is the right conditional."""
    rng = np.random.default_rng(1)
    for K, d in [(1, 1), (1, 2), (2, 2), (3, 1)]:
        A, b, Q = sample_coupled_prior(K + 1, d, 3, 0.05, rng)
        D1 = K * d
        joint = coupled_prior_log_density(A, b, Q, d, 0.05)
        old = coupled_prior_log_density(A[..., :D1, :D1], b[..., :D1], Q[..., :D1, :D1], d,
                                        0.05)
        ext = extension_log_density(A, b, Q, D1, 0.05)
        assert np.isclose(joint, old + ext, rtol=0, atol=1e-8), (K, d, joint, old + ext)


def test_prior_density_matches_scipy():
    rng = np.random.default_rng(2)
    A, b, Q = sample_coupled_prior(2, 1, 1, 0.05, rng)
    prior = coupled_prior(2, 1, 0.05)
    W = np.concatenate([A[0, 0], b[0, 0][:, None]], axis=1)
    expect = invwishart.logpdf(Q[0, 0], df=prior.nu0, scale=prior.Psi0) + sum(
        multivariate_normal(np.zeros(2), Q[0, 0]).logpdf(W[:, j]) for j in range(3))
    assert np.isclose(coupled_prior_log_density(A, b, Q, 1, 0.05), expect)


def test_extension_draws_match_joint_prior():
    """Monte Carlo: K-prior draws extended by sample_extension have the (K+1)-prior's moments
    (sub-block marginal and the new entries), and the old block is kept exactly."""
    rng = np.random.default_rng(3)
    n, K, d, s = 4000, 1, 2, 0.05
    A0, b0, Q0 = sample_coupled_prior(K, d, n, s, rng)
    Ae, be, Qe = sample_extension(A0, b0, Q0, d, s, rng)
    assert np.array_equal(Ae[..., :2, :2], A0) and np.array_equal(Qe[..., :2, :2], Q0)
    Aj, bj, Qj = sample_coupled_prior(K + 1, d, n, s, rng)

    def feats(A, b, Q):
        return np.stack([Q[0, :, 0, 0], Q[0, :, 3, 3], Q[0, :, 0, 2], Q[0, :, 2, 3] ** 2,
                         A[0, :, 3, 0] ** 2, A[0, :, 0, 3] ** 2, A[0, :, 2, 2] ** 2,
                         A[0, :, 2, 1] * A[0, :, 1, 1], b[0, :, 3] ** 2,
                         np.log(np.linalg.det(Q[0]))], axis=1)

    fe, fj = feats(Ae, be, Qe), feats(Aj, bj, Qj)
    se = np.sqrt(fe.var(0) / n + fj.var(0) / n)
    z = (fe.mean(0) - fj.mean(0)) / se
    assert np.all(np.abs(z) < 4.0), np.round(z, 2)


def test_permute_and_drop_block():
    rng = np.random.default_rng(4)
    A, b, Q = _stable_system(rng, 3, 2, 2)
    Ap, bp, Qp = permute_last(A, b, Q, 0, 2)
    assert np.array_equal(Ap[:, 4:, 4:], A[:, :2, :2]) and np.array_equal(bp[:, :4], b[:, 2:])
    Ad, bd, Qd = drop_block(A, b, Q, 1, 2)
    keep = [0, 1, 4, 5]
    assert np.array_equal(Qd, Q[:, keep][:, :, keep]) and np.array_equal(bd, b[:, keep])
    Ap1 = permute_last(A, b, Q, 1, 2)[0]
    assert np.array_equal(Ad, Ap1[:, :4, :4])


def test_stack_roundtrip_and_observation_terms():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 2))
    assert np.array_equal(unstack_latents(stack_latents(x), 3), x)
    prec = rng.standard_normal((3, 4, 2, 2))
    info = rng.standard_normal((3, 4, 2))
    P, h = stack_observation_terms(prec, info)
    assert np.array_equal(P[0, 2, 2:4, 2:4], prec[1, 2]) and np.all(P[0, 2, :2, 2:] == 0)
    assert np.array_equal(h[0, 3, 4:], info[2, 3])


def test_block_diagonal_stacked_latent_draw_matches_block_sampler():
    """sample_latents on the stacked view of block-diagonal dynamics has the block sampler's
    posterior mean (the stacked route is dimension-generic)."""
    rng = np.random.default_rng(6)
    K, L, T, d = 2, 2, 6, 2
    A = 0.3 * rng.standard_normal((K, L, d, d))
    b = 0.1 * rng.standard_normal((K, L, d))
    Q = np.broadcast_to(0.2 * np.eye(d), (K, L, d, d)).copy()
    states = rng.integers(L, size=T)
    prec = np.broadcast_to(np.eye(d), (K, T, d, d)).copy()
    info = rng.standard_normal((K, T, d))
    As, bs, Qs = _stacked_block_dynamics(A, b, Q)
    P, h = stack_observation_terms(prec, info)
    draws_s = np.mean([unstack_latents(sample_latents(states, As, bs, Qs, np.eye(K * d), P, h,
                                                      rng), K) for _ in range(3000)], 0)
    draws_b = np.mean([sample_latents(states, A, b, Q, np.eye(d), prec, info, rng)
                       for _ in range(3000)], 0)
    assert np.abs(draws_s - draws_b).max() < 0.1


# ---------------------------------------------------------------- reversible-jump pieces
def test_slds_log_density_matches_dense():
    rng = np.random.default_rng(7)
    A, b, Q = _stable_system(rng, 2, 1, 2)
    states = rng.integers(2, size=5)
    X = rng.standard_normal((5, 2))
    Lam, h = _dense_joint(states, A, b, Q)
    cov = np.linalg.inv(Lam)
    expect = multivariate_normal(cov @ h, cov).logpdf(X.reshape(-1))
    assert np.isclose(slds_log_density(X, states, A, b, Q, np.eye(2)), expect)


def test_conditional_latents_match_dense_gaussian():
    rng = np.random.default_rng(8)
    T, D1, d2 = 5, 2, 2
    A, b, Q = _stable_system(rng, 2, 2, 2)
    states = rng.integers(2, size=T)
    X = rng.standard_normal((T, D1 + d2))
    Lam, h = _dense_joint(states, A, b, Q)
    idx = np.arange(T * (D1 + d2)).reshape(T, D1 + d2)
    n_idx, o_idx = idx[:, D1:].reshape(-1), idx[:, :D1].reshape(-1)
    Lnn = Lam[np.ix_(n_idx, n_idx)]
    hn = h[n_idx] - Lam[np.ix_(n_idx, o_idx)] @ X[:, :D1].reshape(-1)
    ab, hc = conditional_latent_terms(X[:, :D1], states, A, b, Q, np.eye(D1 + d2))
    assert np.allclose(banded_to_dense(ab), Lnn) and np.allclose(hc, hn)
    cov = np.linalg.inv(Lnn)
    expect = multivariate_normal(cov @ hn, cov).logpdf(X[:, D1:].reshape(-1))
    got = new_latents_log_density(X[:, D1:], X[:, :D1], states, A, b, Q, np.eye(D1 + d2))
    assert np.isclose(got, expect)
    draws = np.array([sample_new_latents(X[:, :D1], states, A, b, Q, np.eye(D1 + d2), rng)
                      for _ in range(4000)]).reshape(4000, -1)
    se = np.sqrt(np.diag(cov) / 4000)
    assert np.all(np.abs(draws.mean(0) - cov @ hn) < 4.5 * se)


def test_birth_log_ratio_matches_dense_marginal():
    """log p(X_old | θ_{K+1}) - log p(X_old | θ_K) against the dense marginal Gaussian, and
    independent of which X_new is plugged in."""
    rng = np.random.default_rng(9)
    T, d = 6, 2
    A0, b0, Q0 = sample_coupled_prior(1, d, 2, 0.1, rng)
    A1, b1, Q1 = sample_extension(A0, b0, Q0, d, 0.1, rng)
    states = rng.integers(2, size=T)
    X_old = 0.3 * rng.standard_normal((T, d))
    Lam, h = _dense_joint(states, A1[0], b1[0], Q1[0])
    cov, mean = np.linalg.inv(Lam), np.linalg.solve(Lam, h)
    o = np.arange(T * 2 * d).reshape(T, 2 * d)[:, :d].reshape(-1)
    marg = multivariate_normal(mean[o], cov[np.ix_(o, o)]).logpdf(X_old.reshape(-1))
    Lam0, h0 = _dense_joint(states, A0[0], b0[0], Q0[0])
    cov0 = np.linalg.inv(Lam0)
    old = multivariate_normal(cov0 @ h0, cov0).logpdf(X_old.reshape(-1))
    for _ in range(3):
        X_new = rng.standard_normal((T, d))
        got = birth_log_ratio(X_old, X_new, states, A0[0], b0[0], Q0[0], A1[0], b1[0], Q1[0])
        assert np.isclose(got, marg - old), (got, marg - old)


# ---------------------------------------------------------------- intercept shift move
def test_offset_conditional_matches_brute_force():
    """The Gaussian in s: log p(state shifted by s) - log p(state) evaluated densely equals
    linearᵀ s - ½ sᵀ P s at random s."""
    rng = np.random.default_rng(10)
    K, d, L, T = 3, 2, 2, 7
    A, b, Q = sample_coupled_prior(K, d, L, 0.1, rng)
    x = 0.5 * rng.standard_normal((K, T, d))
    labels = np.array([0, 0, 1, 2, 2, 2])
    delta = rng.standard_normal(6)
    states = rng.integers(L, size=T)
    m, v = 0.3, 2.0
    P, lin = offset_conditional(x, labels, delta, states, A, b, Q, np.eye(K * d), m, v)

    def logp(s):
        xs = x.copy()
        xs[:, :, 0] += s[:, None]
        ds = delta - s[labels]
        return (slds_log_density(stack_latents(xs)[0], states, A[0], b[0], Q[0], np.eye(K * d))
                - 0.5 * ((ds - m) ** 2).sum() / v)

    for _ in range(3):
        s = rng.standard_normal(K)
        assert np.isclose(logp(s) - logp(np.zeros(K)), lin @ s - 0.5 * s @ P @ s)


def test_offset_move_reduces_to_block_move():
    rng = np.random.default_rng(11)
    K, d, L, T = 2, 2, 2, 8
    A = 0.4 * rng.standard_normal((K, L, d, d))
    b = 0.1 * rng.standard_normal((K, L, d))
    Q = np.broadcast_to(0.3 * np.eye(d), (K, L, d, d)).copy()
    As, bs, Qs = _stacked_block_dynamics(A, b, Q)
    x = rng.standard_normal((K, T, d))
    labels = np.array([0, 1, 1])
    delta = rng.standard_normal(3)
    states = rng.integers(L, size=T)
    s_c = np.array([coupled_offset_move(x, labels, delta, states, As, bs, Qs, np.eye(K * d),
                                        0.0, 1.0, rng)[2] for _ in range(4000)])
    s_b = np.array([cluster_offset_move(x, labels, delta, states, A, b, Q, np.eye(d), 0.0, 1.0,
                                        rng)[2] for _ in range(4000)])
    se = np.sqrt(s_c.var(0) / 4000 + s_b.var(0) / 4000)
    assert np.all(np.abs(s_c.mean(0) - s_b.mean(0)) < 4 * se)
    assert np.allclose(s_c.std(0), s_b.std(0), rtol=0.08)


# ---------------------------------------------------------------- label sweep invariance
GEWEKE_CFG = SamplerConfig(latent_dim=1, intercept=True, n_states=2, hdp_alpha=2.0,
                           hdp_gamma=2.0, sticky_kappa=2.0, mfm_gamma=1.0,
                           cluster_geometric_p=0.4, baseline_var=0.5, loading_var=0.5,
                           dispersion_shape=4.0, dispersion_rate=1.0, noise_scale=0.1,
                           dynamics="coupled")


def _label_stats(st):
    K = st.x.shape[0]
    Q = st.Q[0]
    X = stack_latents(st.x)[0]
    # the SLDS residual energy under the current dynamics: sensitive to how X_old and the
    # new block's dynamics fit together after a birth
    s = st.states[1:]
    resid = X[1:] - np.einsum("tab,tb->ta", st.A[0, s], X[:-1]) - st.b[0, s]
    energy = np.einsum("ta,tab,tb->", resid, np.linalg.inv(Q[s]), resid) / resid.size
    return np.array([K, float(K == 1), (st.loadings**2).mean(), (st.x[..., 1] ** 2).mean(),
                     st.x[..., 0].mean(), np.mean(np.diagonal(Q, axis1=-2, axis2=-1)),
                     np.mean(st.A[0] ** 2), energy, np.log(np.linalg.det(Q)).mean() / X.shape[1]])


def test_coupled_label_sweep_keeps_joint_distribution():
    """(θ, y) from the prior, then one coupled label sweep (births and deaths by reversible
    jump): the result is again a joint draw, so statistics keep their prior distribution."""
    rng = np.random.default_rng(12)
    # nearly uninformative counts (tiny loadings, no intercept) so births and deaths are
    # driven by the prior and the reversible-jump factor; a wide dynamics prior makes that
    # factor large. Measured: with the factor dropped the largest |z| ranged from 1.9 to 5.5
    # over sampler versions and random streams (this test does not always catch it): modest
    # power. The
    # factor itself is pinned by test_birth_log_ratio_matches_dense_marginal and the whole
    # sampler by the coupled Geweke test.
    cfg = dataclasses.replace(GEWEKE_CFG, intercept=False, latent_dim=2, noise_scale=0.3,
                              loading_var=0.01)
    N, T, n = 3, 8, 3000
    log_v = cfg.log_v(N)
    before, after, moved = [], [], 0
    for _ in range(n):
        st, y = sample_prior(N, T, cfg, rng)
        before.append(_label_stats(st))
        out = sweep_labels_coupled(y, st.labels, st.x, st.A, st.b, st.Q, st.states, st.delta,
                                   st.loadings, st.r, log_v, cfg.mfm_gamma, cfg.loading_var,
                                   cfg.intercept, cfg.noise_scale, rng)
        st.labels, st.x, st.A, st.b, st.Q, st.loadings, acc = out
        assert st.A.shape[-1] == st.x.shape[0] * cfg.d
        moved += st.x.shape[0] != before[-1][0]
        after.append(_label_stats(st))
    before, after = np.array(before), np.array(after)
    assert moved > 0.03 * n  # births and deaths do happen
    se = np.sqrt(before.var(0) / n + after.var(0) / n) + 1e-12
    z = (after.mean(0) - before.mean(0)) / se
    assert np.all(np.abs(z) < 4.0), np.round(np.c_[before.mean(0), after.mean(0), z], 3)


def test_config_validation():
    with pytest.raises(ValueError, match="dynamics"):
        SamplerConfig(dynamics="full")
    with pytest.raises(ValueError, match="split-merge"):
        SamplerConfig(dynamics="coupled", split_merge_proposals=1)
    assert dataclasses.replace(GEWEKE_CFG).coupled


def test_stacked_view_of_block_dynamics_gives_block_results():
    """The steps the coupled sampler runs on the stacked view (FFBS emissions, collapsed
    marginal of the state moves, slds density, MNIW statistics) are dimension-generic: on a
    block-diagonal stacked system they reproduce the per-cluster computations."""
    from neurodecode.models.biclustering.collapsed import collapsed_log_marginal
    from neurodecode.models.biclustering.hmm import emission_loglik
    from neurodecode.models.biclustering.mniw import regression_stats

    rng = np.random.default_rng(14)
    K, L, T, d = 3, 2, 9, 2
    A = 0.4 * rng.standard_normal((K, L, d, d))
    b = 0.1 * rng.standard_normal((K, L, d))
    Q = np.array([[np.cov(rng.standard_normal((d, 6))) + 0.1 * np.eye(d) for _ in range(L)]
                  for _ in range(K)])
    As, bs, Qs = _stacked_block_dynamics(A, b, Q)
    x = rng.standard_normal((K, T, d))
    Xs = stack_latents(x)
    states = rng.integers(L, size=T)
    np.testing.assert_allclose(emission_loglik(Xs, As, bs, Qs), emission_loglik(x, A, b, Q),
                               rtol=1e-10, atol=1e-10)
    prec = np.einsum("ktab,ktcb->ktac", *(2 * [rng.standard_normal((K, T, d, d))]))
    info = rng.standard_normal((K, T, d))
    P, h = stack_observation_terms(prec, info)
    assert np.isclose(collapsed_log_marginal(states, As, bs, Qs, np.eye(K * d), P, h),
                      collapsed_log_marginal(states, A, b, Q, np.eye(d), prec, info))
    block = sum(slds_log_density(x[k], states, A[k], b[k], Q[k], np.eye(d)) for k in range(K))
    assert np.isclose(slds_log_density(Xs[0], states, As[0], bs[0], Qs[0], np.eye(K * d)),
                      block)
    Sxx, Syx, Syy, n = regression_stats(Xs, states, L)
    Sxx_b, _, Syy_b, n_b = regression_stats(x, states, L)
    np.testing.assert_allclose(Sxx[0, :, d:2 * d, d:2 * d], Sxx_b[1, :, :d, :d])
    np.testing.assert_allclose(Syy[0, :, :d, :d], Syy_b[0])
    np.testing.assert_array_equal(n, n_b)


def test_death_log_ratio_of_a_middle_cluster_matches_dense():
    """Removing cluster k (not the last): the factor is log p(X_rest | θ) marginalised over
    cluster k's trajectory minus log p(X_rest | θ without k's rows and columns), densely."""
    from neurodecode.models.biclustering.coupled import _death_log_ratio

    rng = np.random.default_rng(15)
    K, d, L, T, k = 3, 1, 2, 5, 1
    A, b, Q = sample_coupled_prior(K, d, L, 0.2, rng)
    x = 0.4 * rng.standard_normal((K, T, d))
    states = rng.integers(L, size=T)
    Lam, h = _dense_joint(states, A[0], b[0], Q[0])
    cov, mean = np.linalg.inv(Lam), np.linalg.solve(Lam, h)
    idx = np.arange(T * K * d).reshape(T, K, d)
    rest = np.delete(idx, k, axis=1).reshape(-1)
    X_rest = np.delete(x, k, axis=0)
    marg = multivariate_normal(mean[rest], cov[np.ix_(rest, rest)]).logpdf(
        stack_latents(X_rest)[0].reshape(-1))
    Ad, bd, Qd = drop_block(A[0], b[0], Q[0], k, d)
    Lam0, h0 = _dense_joint(states, Ad, bd, Qd)
    cov0 = np.linalg.inv(Lam0)
    old = multivariate_normal(cov0 @ h0, cov0).logpdf(stack_latents(X_rest)[0].reshape(-1))
    assert np.isclose(_death_log_ratio(x, A, b, Q, states, k, d), marg - old)
