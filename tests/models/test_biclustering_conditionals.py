"""Every conditional of the bi-clustering sampler against a closed form or brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.special import gammaln

from neurodecode.models.biclustering.dispersion import (
    log_rising_factorial,
    nb_loglik,
    sample_dispersion,
    softplus,
)
from neurodecode.models.biclustering.hmm import (
    emission_loglik,
    ffbs,
    forward_filter,
    sample_beta,
    sample_beta_tables,
    sample_crt,
    sample_dirichlet,
    sample_sticky_hyper,
    sample_transitions,
    transition_counts,
)
from neurodecode.models.biclustering.labels import (
    geometric_log_pk,
    laplace_loadings,
    mfm_log_coefficients,
    mfm_log_partition_prior,
)
from neurodecode.models.biclustering.latents import (
    _sample_stacked,
    banded_to_dense,
    blocks_to_banded,
    dynamics_precision,
    sample_banded_gaussian,
    sample_latents,
    sample_slds_prior,
    stacked_band,
)
from neurodecode.models.biclustering.loadings import (
    laplace_loadings_batch,
    loading_posterior,
    sample_loadings,
)
from neurodecode.models.biclustering.mniw import (
    mniw_posterior,
    regression_stats,
    regression_stats_reference,
    sample_inverse_wishart,
    sample_mniw,
    sample_wishart,
)
from neurodecode.models.biclustering.polya_gamma import (
    SADDLE_FROM,
    nb_kappa,
    polya_gamma_mean,
    sample_polya_gamma,
)
from neurodecode.models.biclustering.sampler import observation_terms


def _random_spd(rng, d, scale=1.0):
    M = rng.standard_normal((d, d))
    return scale * (M @ M.T / d + np.eye(d))


# --------------------------------------------------------------------------- Pólya-Gamma
@pytest.mark.parametrize("h,z", [(1.0, 0.0), (3.5, 1.5), (12.0, -4.0)])
def test_polya_gamma_mean_matches_closed_form(h, z):
    rng = np.random.default_rng(0)
    draws = sample_polya_gamma(np.full(40000, h), np.full(40000, z), rng)
    expected = float(polya_gamma_mean(h, z))
    assert abs(draws.mean() - expected) < 4 * draws.std() / np.sqrt(draws.size)


@pytest.mark.parametrize("h", [SADDLE_FROM / 2, SADDLE_FROM / 2 + 0.5, 11.0, 100.0])
def test_polya_gamma_draws_are_exact_in_skewness(h):
    # PG(h, 0) = Σ_k Gamma(h, 1) / (2π²(k - 1/2)²): cumulants κ2 = h/24, κ3 = h/60. A
    # normal approximation (polyagamma's "hybrid" default for h > 50) has zero skewness.
    rng = np.random.default_rng(5)
    n = 200000
    draws = sample_polya_gamma(np.full(n, h), np.zeros(n), rng)
    assert draws.mean() == pytest.approx(h / 4, rel=0.003)
    assert draws.var() == pytest.approx(h / 24, rel=0.02)
    skew = (h / 60) / (h / 24) ** 1.5
    assert abs(stats.skew(draws) - skew) < 5 * np.sqrt(6 / n)


def test_polya_gamma_mixed_shapes_keep_order_and_seed():
    rng = np.random.default_rng(6)
    h = np.where(rng.random((40, 300)) < 0.5, 3.5, 60.0)
    z = rng.normal(-1.0, 1.0, h.shape)
    a = sample_polya_gamma(h, z, np.random.default_rng(7))
    b = sample_polya_gamma(h, z, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    for value in (3.5, 60.0):
        sel = h == value
        expected = polya_gamma_mean(h[sel], z[sel])
        # per-element means differ: compare the average of standardised draws
        resid = (a[sel] - expected) / np.sqrt(value / 24)
        assert abs(resid.mean()) < 4 / np.sqrt(sel.sum())
    with pytest.raises(ValueError, match="h must be > 0 and finite"):
        sample_polya_gamma(np.array([1.0, 0.0]), 0.0, rng)


def test_polya_gamma_identity_gives_nb_likelihood_in_psi():
    # E[exp(-ωψ²/2)] = cosh(ψ/2)^{-b} for ω ~ PG(b, 0), and 2^{-b} e^{κψ} cosh(ψ/2)^{-b}
    # is the NB likelihood kernel e^{yψ} / (1 + e^ψ)^{y+r}
    rng = np.random.default_rng(1)
    y, r, psi = 3.0, 2.5, 0.7
    b, kappa = y + r, float(nb_kappa(y, r))
    omega = sample_polya_gamma(np.full(200000, b), np.zeros(200000), rng)
    mc = np.mean(np.exp(-omega * psi**2 / 2))
    assert mc == pytest.approx(np.cosh(psi / 2) ** -b, rel=0.005)
    kernel = 2.0**-b * np.exp(kappa * psi) / np.cosh(psi / 2) ** b
    assert np.log(kernel) == pytest.approx(y * psi - (y + r) * np.logaddexp(0, psi), rel=1e-10)


# --------------------------------------------------------------------------- banded latents
def test_banded_storage_roundtrip_and_sampler_vs_dense():
    rng = np.random.default_rng(2)
    n, d = 5, 2
    full = np.zeros((n * d, n * d))
    diag = np.stack([_random_spd(rng, d, 3.0) for _ in range(n)])
    lower = 0.3 * rng.standard_normal((n - 1, d, d))
    for m in range(n):
        full[m * d:(m + 1) * d, m * d:(m + 1) * d] = diag[m]
    for m in range(n - 1):
        full[(m + 1) * d:(m + 2) * d, m * d:(m + 1) * d] = lower[m]
        full[m * d:(m + 1) * d, (m + 1) * d:(m + 2) * d] = lower[m].T
    assert np.all(np.linalg.eigvalsh(full) > 0)
    ab = blocks_to_banded(diag, lower)
    np.testing.assert_allclose(banded_to_dense(ab), full)
    h = rng.standard_normal(n * d)
    draws, mean = sample_banded_gaussian(ab, h, rng, size=40000)
    cov = np.linalg.inv(full)
    np.testing.assert_allclose(mean, cov @ h, atol=1e-10)
    np.testing.assert_allclose(draws.mean(0), cov @ h, atol=4 * np.sqrt(cov.diagonal().max()
                                                                         / 40000))
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.03 * np.abs(cov).max())


def test_dynamics_precision_matches_dense_prior_covariance():
    rng = np.random.default_rng(3)
    K, S, T, d = 2, 2, 4, 2
    A = 0.5 * rng.standard_normal((K, S, d, d))
    b = rng.standard_normal((K, S, d))
    Q = np.stack([[_random_spd(rng, d, 0.5) for _ in range(S)] for _ in range(K)])
    P0 = _random_spd(rng, d)
    states = np.array([1, 0, 1, 1])
    diag, lower, h = dynamics_precision(states, A, b, Q, P0)
    for k in range(K):
        # x = M e + m: build the linear map of the recursion explicitly
        M = np.zeros((T * d, T * d))
        m = np.zeros(T * d)
        noise_cov = np.zeros((T * d, T * d))
        noise_cov[:d, :d] = np.linalg.inv(P0)
        M[:d, :d] = np.eye(d)
        for t in range(1, T):
            s = states[t]
            noise_cov[t * d:(t + 1) * d, t * d:(t + 1) * d] = Q[k, s]
            M[t * d:(t + 1) * d] = A[k, s] @ M[(t - 1) * d:t * d]
            M[t * d:(t + 1) * d, t * d:(t + 1) * d] += np.eye(d)
            m[t * d:(t + 1) * d] = A[k, s] @ m[(t - 1) * d:t * d] + b[k, s]
        cov = M @ noise_cov @ M.T
        dense = banded_to_dense(blocks_to_banded(diag[k], lower[k]))
        np.testing.assert_allclose(dense, np.linalg.inv(cov), rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(np.linalg.solve(dense, h[k].ravel()), m, atol=1e-8)


@pytest.mark.parametrize("K,S,T,d", [(1, 1, 2, 2), (2, 3, 7, 3), (4, 5, 60, 3)])
def test_stacked_band_fast_path_is_bitwise_the_reference(K, S, T, d):
    rng = np.random.default_rng(13)
    A = 0.4 * rng.standard_normal((K, S, d, d))
    b = 0.1 * rng.standard_normal((K, S, d))
    Q = np.stack([[_random_spd(rng, d, 0.2) for _ in range(S)] for _ in range(K)])
    P0 = _random_spd(rng, d)
    states = rng.integers(S, size=T)
    obs_prec = np.stack([[_random_spd(rng, d) for _ in range(T)] for _ in range(K)])
    obs_info = rng.standard_normal((K, T, d))
    diag, lower, h = dynamics_precision(states, A, b, Q, P0)
    lower_all = np.zeros((K, T, d, d))
    lower_all[:, : T - 1] = lower
    ab = blocks_to_banded((diag + obs_prec).reshape(K * T, d, d),
                          lower_all.reshape(K * T, d, d)[:-1])
    ab_t, h_fast = stacked_band(states, A, b, Q, P0, obs_prec, obs_info)
    np.testing.assert_array_equal(ab_t.T, ab)
    np.testing.assert_array_equal(h_fast, (h + obs_info).ravel())
    # same generator state -> the same draws as the reference path, and the same state after
    r_ref, r_fast = np.random.default_rng(14), np.random.default_rng(14)
    np.testing.assert_array_equal(
        sample_latents(states, A, b, Q, P0, obs_prec, obs_info, r_fast),
        _sample_stacked(diag + obs_prec, lower, h + obs_info, r_ref))
    assert r_ref.random() == r_fast.random()


def test_slds_prior_forward_draws_match_banded_prior_moments():
    rng = np.random.default_rng(17)
    K, S, d, n = 2, 2, 2, 20000
    A = 0.6 * rng.standard_normal((K, S, d, d))
    b = 0.3 * rng.standard_normal((K, S, d))
    Q = np.stack([[_random_spd(rng, d, 0.3) for _ in range(S)] for _ in range(K)])
    P0 = _random_spd(rng, d)
    states = np.array([0, 1, 1, 0, 1])
    draws = np.stack([sample_slds_prior(states, A, b, Q, P0, rng) for _ in range(n)])
    diag, lower, h = dynamics_precision(states, A, b, Q, P0)
    for k in range(K):
        cov = np.linalg.inv(banded_to_dense(blocks_to_banded(diag[k], lower[k])))
        mean = cov @ h[k].ravel()
        flat = draws[:, k].reshape(n, -1)
        se = np.sqrt(cov.diagonal() / n)
        assert np.all(np.abs(flat.mean(0) - mean) < 4.5 * se)
        np.testing.assert_allclose(np.cov(flat.T), cov, atol=0.04 * np.abs(cov).max())
    # nearly singular innovations stay finite (the banded factorisation would fail)
    Q_tiny = np.broadcast_to(1e-14 * np.eye(d), (K, S, d, d))
    assert np.all(np.isfinite(sample_slds_prior(states, A, b, Q_tiny, P0, rng)))


def test_sample_latents_posterior_mean_matches_dense_gaussian_update():
    rng = np.random.default_rng(4)
    K, S, T, d = 2, 2, 5, 2
    A = 0.4 * rng.standard_normal((K, S, d, d))
    b = 0.1 * rng.standard_normal((K, S, d))
    Q = np.broadcast_to(0.2 * np.eye(d), (K, S, d, d)).copy()
    P0 = np.eye(d)
    states = rng.integers(S, size=T)
    obs_prec = np.stack([[_random_spd(rng, d) for _ in range(T)] for _ in range(K)])
    obs_info = rng.standard_normal((K, T, d))
    draws = np.stack([sample_latents(states, A, b, Q, P0, obs_prec, obs_info, rng)
                      for _ in range(6000)])
    diag, lower, h = dynamics_precision(states, A, b, Q, P0)
    for k in range(K):
        dense = banded_to_dense(blocks_to_banded(diag[k] + obs_prec[k], lower[k]))
        cov = np.linalg.inv(dense)
        mean = cov @ (h[k] + obs_info[k]).ravel()
        se = np.sqrt(cov.diagonal() / len(draws))
        assert np.all(np.abs(draws[:, k].reshape(len(draws), -1).mean(0) - mean) < 4.5 * se)


def test_observation_terms_match_loop():
    rng = np.random.default_rng(5)
    N, T, K, p = 6, 4, 2, 2
    omega, kappa = rng.random((N, T)) + 0.1, rng.standard_normal((N, T))
    labels = np.array([0, 1, 1, 0, 1, 0])
    delta, c = rng.standard_normal(N), rng.standard_normal((N, p))
    for intercept in (False, True):
        prec, info = observation_terms(omega, kappa, labels, delta, c, K, intercept)
        for k in range(K):
            for t in range(T):
                P, h = 0.0, 0.0
                for i in np.flatnonzero(labels == k):
                    g = np.r_[1.0, c[i]] if intercept else c[i]
                    P = P + omega[i, t] * np.outer(g, g)
                    h = h + g * (kappa[i, t] - omega[i, t] * delta[i])
                np.testing.assert_allclose(prec[k, t], P)
                np.testing.assert_allclose(info[k, t], h)


# --------------------------------------------------------------------------- HMM
def test_forward_filter_and_ffbs_match_enumeration():
    rng = np.random.default_rng(6)
    T, S = 4, 3
    loglik = rng.standard_normal((T, S))
    trans = sample_dirichlet(np.ones((S, S)) + 2 * np.eye(S), rng)
    seqs = np.array(list(itertools.product(range(S), repeat=T)))
    logp = (np.log(1 / S) + loglik[np.arange(T), seqs].sum(1)
            + np.log(trans[seqs[:, :-1], seqs[:, 1:]]).sum(1))
    _, log_marginal = forward_filter(loglik, np.log(trans))
    assert log_marginal == pytest.approx(np.logaddexp.reduce(logp), rel=1e-10)
    exact = np.exp(logp - np.logaddexp.reduce(logp))
    n = 6000
    draws = np.stack([ffbs(loglik, np.log(trans), rng) for _ in range(n)])
    codes = (draws * S ** np.arange(T)[::-1]).sum(1)
    freq = np.bincount(codes, minlength=S**T) / n
    exact_codes = np.zeros(S**T)
    exact_codes[(seqs * S ** np.arange(T)[::-1]).sum(1)] = exact
    assert 0.5 * np.abs(freq - exact_codes).sum() < 0.04


def test_emission_loglik_matches_scipy():
    rng = np.random.default_rng(7)
    K, S, T, d = 2, 3, 5, 2
    x = rng.standard_normal((K, T, d))
    A = rng.standard_normal((K, S, d, d))
    b = rng.standard_normal((K, S, d))
    Q = np.stack([[_random_spd(rng, d) for _ in range(S)] for _ in range(K)])
    ll = emission_loglik(x, A, b, Q)
    assert np.all(ll[0] == 0)
    for t in range(1, T):
        for s in range(S):
            ref = sum(stats.multivariate_normal(A[k, s] @ x[k, t - 1] + b[k, s], Q[k, s]).logpdf(
                x[k, t]) for k in range(K))
            assert ll[t, s] == pytest.approx(ref, rel=1e-10)


def test_crt_mean_matches_series():
    rng = np.random.default_rng(8)
    n, a = 7, 1.7
    draws = sample_crt(np.full(40000, n), np.full(40000, a), rng)
    expected = np.sum(a / (a + np.arange(n)))
    var = np.sum(a / (a + np.arange(n)) * (1 - a / (a + np.arange(n))))
    assert abs(draws.mean() - expected) < 4 * np.sqrt(var / draws.size)


def test_sticky_transitions_and_beta_posterior():
    rng = np.random.default_rng(9)
    L, alpha, kappa = 3, 2.0, 5.0
    beta = np.array([0.5, 0.3, 0.2])
    states = np.array([0, 0, 0, 1, 1, 2, 2, 2, 0])
    counts = transition_counts(states, L)
    assert counts.sum() == len(states) - 1 and counts[0, 0] == 2 and counts[2, 0] == 1
    draws = np.stack([sample_transitions(counts, beta, alpha, kappa, rng) for _ in range(4000)])
    conc = alpha * beta + kappa * np.eye(L) + counts
    np.testing.assert_allclose(draws.mean(0), conc / conc.sum(1, keepdims=True), atol=0.015)
    # β | ξ by enumeration on a 2-state chain: p(β) ∝ Dir(β; γ/L) Π_j Γ(α+κ)/Γ(α+κ+n_j.)
    #   Π_k Γ(αβ_k+κδ_jk+n_jk)/Γ(αβ_k+κδ_jk)
    L, gamma = 2, 1.5
    counts = np.array([[3, 1], [2, 0]])
    grid = np.linspace(1e-4, 1 - 1e-4, 4001)
    logp = (gamma / L - 1) * (np.log(grid) + np.log1p(-grid))
    for j in range(L):
        bet = np.stack([grid, 1 - grid], 1)
        conc = alpha * bet + kappa * (np.arange(L) == j)
        logp += (gammaln(conc + counts[j]) - gammaln(conc)).sum(1)
    w = np.exp(logp - logp.max())
    exact_mean = np.sum(w * grid) / w.sum()
    b0 = np.array([0.5, 0.5])
    chain = []
    for _ in range(20000):  # β-only Gibbs with π integrated: should target p(β | ξ)
        b0 = sample_beta(counts, b0, alpha, kappa, gamma, rng)
        chain.append(b0[0])
    assert np.mean(chain) == pytest.approx(exact_mean, abs=0.015)


def test_sticky_hyper_parameters_posterior_by_grid():
    """Gibbs on (β, α+κ, ρ) with π integrated matches the exact grid posterior given ξ."""
    rng = np.random.default_rng(11)
    L, gamma = 2, 1.5
    shape, rate, rho_a, rho_b = 2.0, 0.2, 2.0, 2.0
    counts = np.array([[6, 1], [2, 4]])
    b_grid = np.linspace(1e-3, 1 - 1e-3, 120)
    c_grid = np.linspace(1e-3, 80.0, 300)
    r_grid = np.linspace(1e-3, 1 - 1e-3, 120)
    B, C, R = np.meshgrid(b_grid, c_grid, r_grid, indexing="ij")
    logp = (gamma / L - 1) * (np.log(B) + np.log1p(-B)) + (shape - 1) * np.log(C) - rate * C \
        + (rho_a - 1) * np.log(R) + (rho_b - 1) * np.log1p(-R)
    bet = np.stack([B, 1 - B])
    for j in range(L):
        logp += gammaln(C) - gammaln(C + counts[j].sum())
        for k in range(L):
            conc = C * ((1 - R) * bet[k] + R * (j == k))
            logp += gammaln(conc + counts[j, k]) - gammaln(conc)
    w = np.exp(logp - logp.max())
    w /= w.sum()
    exact_c, exact_rho = (w * C).sum(), (w * R).sum()
    sd_c = np.sqrt((w * C**2).sum() - exact_c**2)
    beta, conc, rho = np.array([0.5, 0.5]), 10.0, 0.5
    cs, rhos = [], []
    for _ in range(30000):
        alpha, kappa = conc * (1 - rho), conc * rho
        beta, tables, override = sample_beta_tables(counts, beta, alpha, kappa, gamma, rng)
        conc, rho = sample_sticky_hyper(counts, tables, override, conc, shape, rate, rho_a,
                                        rho_b, rng)
        cs.append(conc)
        rhos.append(rho)
    assert np.mean(cs) == pytest.approx(exact_c, abs=0.05 * sd_c + 0.02 * exact_c)
    assert np.mean(rhos) == pytest.approx(exact_rho, abs=0.015)


# --------------------------------------------------------------------------- MNIW
def test_mniw_posterior_matches_dense_regression():
    rng = np.random.default_rng(10)
    T, d, S = 40, 2, 2
    x = rng.standard_normal((1, T, d))
    states = rng.integers(S, size=T)
    M0 = rng.standard_normal((d, d + 1))
    V0 = _random_spd(rng, d + 1)
    Psi0, nu0 = _random_spd(rng, d), d + 3.0
    Sxx, Syx, Syy, n = regression_stats(x, states, S)
    Mn, Vn, Psin, nun = mniw_posterior(Sxx, Syx, Syy, n, M0, V0, Psi0, nu0)
    for s in range(S):
        sel = np.flatnonzero(states[1:] == s) + 1
        U = np.concatenate([x[0, sel - 1], np.ones((len(sel), 1))], 1)
        Y = x[0, sel]
        # given any Q, vec(W) posterior mean is the ridge solution
        Vn_ref = np.linalg.inv(U.T @ U + np.linalg.inv(V0))
        Mn_ref = (Y.T @ U + M0 @ np.linalg.inv(V0)) @ Vn_ref
        np.testing.assert_allclose(Mn[0, s], Mn_ref, atol=1e-10)
        np.testing.assert_allclose(Vn[0, s], Vn_ref, atol=1e-10)
        R = Y - U @ Mn_ref.T
        Psi_ref = Psi0 + R.T @ R + (Mn_ref - M0) @ np.linalg.inv(V0) @ (Mn_ref - M0).T
        np.testing.assert_allclose(Psin[0, s], Psi_ref, atol=1e-9)
        assert nun[0, s] == nu0 + len(sel)


@pytest.mark.parametrize("T,S", [(2, 1), (50, 4), (300, 10)])
def test_regression_stats_match_one_hot_reference(T, S):
    rng = np.random.default_rng(15)
    x = rng.standard_normal((3, T, 3))
    states = rng.integers(max(S - 1, 1), size=T)  # the last state stays empty
    fast = regression_stats(x, states, S)
    ref = regression_stats_reference(x, states, S)
    for a, b in zip(fast, ref, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_wishart_and_mniw_draw_moments():
    rng = np.random.default_rng(11)
    d, n = 2, 30000
    scale, df = _random_spd(rng, d), 6.0
    W = sample_wishart(np.broadcast_to(scale, (n, d, d)), df, rng)
    np.testing.assert_allclose(W.mean(0), df * scale, rtol=0.03)
    Qd = sample_inverse_wishart(np.broadcast_to(scale, (n, d, d)), df, rng)
    np.testing.assert_allclose(Qd.mean(0), scale / (df - d - 1), rtol=0.05, atol=0.01)
    Mn = rng.standard_normal((d, d + 1))
    Vn = 0.1 * _random_spd(rng, d + 1)
    A, b, Q = sample_mniw(np.broadcast_to(Mn, (n, d, d + 1)), np.broadcast_to(Vn, (n, d + 1,
                          d + 1)), np.broadcast_to(scale, (n, d, d)), np.full(n, df), rng)
    np.testing.assert_allclose(A.mean(0), Mn[:, :d], atol=0.02)
    np.testing.assert_allclose(b.mean(0), Mn[:, d], atol=0.02)
    # Var(A[0, 0]) = E[Q00] Vn00
    assert A[:, 0, 0].var() == pytest.approx(scale[0, 0] / (df - d - 1) * Vn[0, 0], rel=0.08)


# --------------------------------------------------------------------------- loadings
def test_loadings_posterior_matches_dense_regression():
    rng = np.random.default_rng(12)
    N, T, K, d = 3, 30, 2, 3
    x = rng.standard_normal((K, T, d))
    labels = np.array([0, 1, 1])
    omega, kappa = rng.random((N, T)) + 0.5, rng.standard_normal((N, T))
    mean0, var0 = np.array([0.3, 0.0, 0.0]), np.array([2.0, 0.5, 0.5])
    prec, info = loading_posterior(x, labels, omega, kappa, True, mean0, var0)
    draws = np.stack([np.c_[sample_loadings(x, labels, omega, kappa, True, mean0, var0, rng)[0],
                            sample_loadings(x, labels, omega, kappa, True, mean0, var0,
                                            rng)[1]] for _ in range(1)])
    assert draws.shape == (1, N, 3)
    for i in range(N):
        F = np.c_[np.ones(T), x[labels[i], :, 1:]]
        target = kappa[i] / omega[i] - x[labels[i], :, 0]
        P = F.T @ (omega[i, :, None] * F) + np.diag(1 / var0)
        h = F.T @ (omega[i] * target) + mean0 / var0
        np.testing.assert_allclose(prec[i], P, atol=1e-10)
        np.testing.assert_allclose(info[i], h, atol=1e-10)
    many = [sample_loadings(x, labels, omega, kappa, True, mean0, var0, rng) for _ in range(8000)]
    deltas = np.stack([m[0] for m in many])
    cov = np.linalg.inv(prec)
    mean = np.linalg.solve(prec, info[..., None])[..., 0]
    np.testing.assert_allclose(deltas.mean(0), mean[:, 0], atol=4 * np.sqrt(cov[:, 0, 0].max()
                                                                             / 8000))
    np.testing.assert_allclose(deltas.var(0), cov[:, 0, 0], rtol=0.08)


# --------------------------------------------------------------------------- dispersion
def test_crt_dispersion_chain_matches_grid_posterior():
    rng = np.random.default_rng(13)
    T, r_true = 60, 3.0
    psi = rng.normal(-0.5, 0.5, T)
    y = rng.negative_binomial(r_true, 1 / (1 + np.exp(psi)))
    shape, rate = 2.0, 0.5
    grid = np.linspace(1e-3, 60, 20000)
    logp = stats.gamma(shape, scale=1 / rate).logpdf(grid) + nb_loglik(
        y[None], psi[None], grid[:, None]).sum(1)
    w = np.exp(logp - logp.max())
    exact_mean = np.sum(w * grid) / w.sum()
    exact_sd = np.sqrt(np.sum(w * grid**2) / w.sum() - exact_mean**2)
    r = np.ones(1)
    chain = []
    for _ in range(6000):
        r = sample_dispersion(y[None], psi[None], r, shape, rate, rng)
        chain.append(r[0])
    chain = np.array(chain[500:])
    assert chain.mean() == pytest.approx(exact_mean, abs=0.12 * exact_sd + 0.05)
    assert chain.std() == pytest.approx(exact_sd, rel=0.12)


# --------------------------------------------------------------------------- MFM labels
def _set_partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _set_partitions(rest):
        for j in range(len(part)):
            yield part[:j] + [[first] + part[j]] + part[j + 1:]
        yield [[first]] + part


@pytest.mark.parametrize("gamma,p", [(1.0, 0.2), (0.5, 0.5)])
def test_mfm_coefficients_define_a_distribution_and_satisfy_recursion(gamma, p):
    log_pk = geometric_log_pk(p)
    n = 5
    log_v = mfm_log_coefficients(n, gamma, log_pk)
    total = sum(np.exp(mfm_log_partition_prior([len(b) for b in part], gamma, log_v))
                for part in _set_partitions(list(range(n))))
    assert total == pytest.approx(1.0, abs=1e-9)
    log_v6 = mfm_log_coefficients(n + 1, gamma, log_pk)
    for t in range(1, n + 1):  # V_n(t) = (n + γt) V_{n+1}(t) + γ V_{n+1}(t+1)
        rhs = np.logaddexp(np.log(n + gamma * t) + log_v6[t], np.log(gamma) + log_v6[t + 1])
        assert log_v[t] == pytest.approx(rhs, abs=1e-9)
    # and V_n(1) by the plain series
    k = np.arange(1, 5000)
    series = np.sum(np.exp(np.log(k) + gammaln(gamma * k) - gammaln(gamma * k + n) + log_pk(k)))
    assert np.exp(log_v[1]) == pytest.approx(series, rel=1e-9)


def test_mfm_partition_prior_matches_generative_simulation():
    rng = np.random.default_rng(14)
    gamma, p, n = 1.0, 0.3, 3
    log_v = mfm_log_coefficients(n, gamma, geometric_log_pk(p))
    counts = np.zeros(n + 1)
    for _ in range(30000):
        K = rng.geometric(p)
        w = rng.dirichlet(np.full(K, gamma))
        counts[len(np.unique(rng.choice(K, size=n, p=w)))] += 1
    # blocks: t=1: {123}; t=2: three partitions of sizes (2,1); t=3: one of (1,1,1)
    prob = [0.0,
            np.exp(mfm_log_partition_prior([3], gamma, log_v)),
            3 * np.exp(mfm_log_partition_prior([2, 1], gamma, log_v)),
            np.exp(mfm_log_partition_prior([1, 1, 1], gamma, log_v))]
    np.testing.assert_allclose(counts / counts.sum(), prob, atol=0.012)


def test_laplace_mode_maximises_log_posterior():
    from scipy.optimize import minimize

    rng = np.random.default_rng(15)
    T, p, r = 200, 2, 5.0
    feats = rng.standard_normal((2, T, p))
    base = np.full((2, T), -0.5)
    y = rng.negative_binomial(r, 1 / (1 + np.exp(base[0] + feats[0] @ [0.6, -0.3])))
    mode, prec, log_ev = laplace_loadings(y, r, base, feats, 1.0)
    for c in range(2):
        def neg(v, c=c):
            return -(nb_loglik(y, base[c] + feats[c] @ v, r).sum() - 0.5 * v @ v)
        ref = minimize(neg, np.zeros(p)).x
        np.testing.assert_allclose(mode[c], ref, atol=1e-4)
    assert log_ev[0] > log_ev[1]


@pytest.mark.parametrize("shared", [True, False])
def test_laplace_batch_matches_per_neuron_laplace(shared):
    rng = np.random.default_rng(16)
    N, C, T, p = 5, 3, 80, 2
    feats = 0.4 * rng.standard_normal((C, T, p)) if shared else \
        0.4 * rng.standard_normal((N, C, T, p))
    y = rng.poisson(1.5, (N, T)).astype(float)
    r = rng.uniform(2.0, 20.0, N)
    base = rng.normal(-1.5, 0.3, (N, C, 1)) + 0.2 * rng.standard_normal((N, C, T))
    mode, prec, log_ev = laplace_loadings_batch(y, r, base, feats, 0.5)
    for i in range(N):
        ref = laplace_loadings(y[i], r[i], base[i], feats if shared else feats[i], 0.5)
        for got, want in zip((mode[i], prec[i], log_ev[i]), ref, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_fast_nb_pieces_match_gammaln_and_logaddexp():
    rng = np.random.default_rng(18)
    y = rng.negative_binomial(3.0, 0.3, (6, 200)).astype(float)
    y[0, 0] = 0.0
    psi = rng.normal(-1.0, 3.0, y.shape)
    psi[1, :3] = [-900.0, 0.0, 900.0]
    r = rng.uniform(0.3, 40.0, (6, 1))
    np.testing.assert_allclose(softplus(psi), np.logaddexp(0.0, psi), rtol=1e-15, atol=0)
    np.testing.assert_allclose(log_rising_factorial(y, r), gammaln(y + r) - gammaln(r),
                               rtol=1e-12, atol=1e-12)
    ref = (gammaln(y + r) - gammaln(r) - gammaln(y + 1) + y * psi
           - (y + r) * np.logaddexp(0.0, psi))
    np.testing.assert_allclose(nb_loglik(y, psi, r), ref, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(nb_loglik(y.astype(np.int64), psi, r), ref, rtol=1e-12,
                               atol=1e-10)
    # non-integer "counts" and scalar r take the gammaln path, same formula
    np.testing.assert_allclose(nb_loglik(y + 0.5, psi, 2.0),
                               gammaln(y + 2.5) - gammaln(2.0) - gammaln(y + 1.5)
                               + (y + 0.5) * psi - (y + 2.5) * np.logaddexp(0.0, psi),
                               rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(nb_loglik(y[0], psi[0], 3.0), stats.nbinom.logpmf(
        y[0], 3.0, 1 / (1 + np.exp(psi[0]))), rtol=1e-9, atol=1e-9)
