"""The Pólya-Gamma split–merge move (latents integrated): closed forms and invariance.

``(θ, y)`` drawn from the prior and ``ω ~ PG(y + r, ψ)`` is a draw of the augmented
model, so a move that leaves ``p(z, x, A, b, Q, c | ω, y, rest)`` invariant keeps every
statistic at its prior distribution; a deliberately wrong ratio must be detected.
The move is not wired into the sampler (it accepts nothing on the paper's simulation),
so its two invariance runs (about a minute each) are marked slow.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from neurodecode.models.biclustering import split_merge
from neurodecode.models.biclustering.latents import banded_to_dense, stacked_band
from neurodecode.models.biclustering.loadings import linear_predictor
from neurodecode.models.biclustering.polya_gamma import sample_polya_gamma
from neurodecode.models.biclustering.sampler import SamplerConfig, sample_prior
from neurodecode.models.biclustering.split_merge import (
    mniw_logpdf,
    pg_loading_gaussian,
    pg_trajectory_log_marginal,
    split_merge_move_pg,
)

CFG = SamplerConfig(latent_dim=1, intercept=True, n_states=2, mfm_gamma=1.0,
                    cluster_geometric_p=0.4, baseline_var=0.5, loading_var=0.5,
                    dispersion_shape=4.0, dispersion_rate=1.0, noise_scale=0.1)
N, T = 4, 4


def test_mniw_logpdf_matches_scipy():
    rng = np.random.default_rng(0)
    d = 2
    M = rng.standard_normal((d, d + 1))
    V = np.diag([1.0, 0.5, 2.0])
    Psi = np.array([[0.3, 0.1], [0.1, 0.2]])
    A, b = rng.standard_normal((d, d)), rng.standard_normal(d)
    Q = np.array([[0.4, -0.1], [-0.1, 0.3]])
    ref = (stats.invwishart(df=6.0, scale=Psi).logpdf(Q)
           + stats.matrix_normal(mean=M, rowcov=Q, colcov=V).logpdf(
               np.concatenate([A, b[:, None]], 1)))
    assert mniw_logpdf(A, b, Q, M, V, Psi, 6.0) == pytest.approx(ref, abs=1e-9)


def _pg_inputs(rng, B, T_, p):
    return (rng.gamma(2.0, 0.3, (B, T_)), rng.normal(0.0, 1.5, (B, T_)), rng.normal(0, 0.5, B),
            rng.normal(0, 0.7, (B, p)))


def test_pg_loading_gaussian_is_the_exact_conditional():
    """``log N(c) + log L(c) - log q(c)`` is the same for every ``c`` and equals the marginal."""
    rng = np.random.default_rng(1)
    omega, kappa, delta, _ = _pg_inputs(rng, 3, 9, 2)
    x = rng.standard_normal((9, 3))
    mean, prec, log_marg = pg_loading_gaussian(omega, kappa, delta, x, True, 0.7)
    for c in rng.standard_normal((3, 3, 2)):
        psi = delta[:, None] + x[:, 0][None] + c @ x[:, 1:].T
        log_lik = (kappa * psi - 0.5 * omega * psi**2).sum(1)
        log_prior = stats.multivariate_normal(np.zeros(2), 0.7 * np.eye(2)).logpdf(c)
        log_q = np.array([stats.multivariate_normal(mean[m], np.linalg.inv(prec[m])).logpdf(c[m])
                          for m in range(3)])
        np.testing.assert_allclose(log_prior + log_lik - log_q, log_marg, atol=1e-8)


def test_pg_trajectory_log_marginal_matches_dense_integral():
    rng = np.random.default_rng(2)
    S, T_, d, B = 2, 6, 3, 3
    omega, kappa, delta, c = _pg_inputs(rng, B, T_, d - 1)
    states = rng.integers(S, size=T_)
    A = 0.5 * rng.standard_normal((S, d, d))
    b = 0.3 * rng.standard_normal((S, d))
    Q = np.stack([np.eye(d) * 0.2, np.eye(d) * 0.4])
    P0 = np.eye(d) * 1.5
    got = pg_trajectory_log_marginal(omega, kappa, delta, c, states, A, b, Q, P0, True)
    # dense: prior N(m0, Λ0⁻¹) of the stacked trajectory, Gaussian likelihood in ψ
    ab0, h0 = stacked_band(states, A[None], b[None], Q[None], P0)
    L0 = banded_to_dense(np.ascontiguousarray(ab0.T))
    m0 = np.linalg.solve(L0, h0)
    g = np.concatenate([np.ones((B, 1)), c], 1)
    G = np.zeros((B * T_, T_ * d))  # ψ = δ + G x
    for m in range(B):
        for t in range(T_):
            G[m * T_ + t, t * d:(t + 1) * d] = g[m]
    w, k, dl = omega.ravel(), kappa.ravel(), np.repeat(delta, T_)
    # ∫ N(x; m0, Λ0⁻¹) exp(Σ κψ - ωψ²/2) dx with ψ = δ + G x, by completing the square
    Lp = L0 + G.T @ (w[:, None] * G)
    hp = L0 @ m0 + G.T @ (k - w * dl)
    ref = (0.5 * np.linalg.slogdet(L0)[1] - 0.5 * m0 @ L0 @ m0 + (k * dl - 0.5 * w * dl**2).sum()
           + 0.5 * hp @ np.linalg.solve(Lp, hp) - 0.5 * np.linalg.slogdet(Lp)[1])
    assert got == pytest.approx(ref, abs=1e-8)


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
        psi = linear_predictor(s.x, s.labels, s.delta, s.loadings, CFG.intercept)
        omega = sample_polya_gamma(y + s.r[:, None], psi, rng)
        lab, x, A, b, Q, c, st = split_merge_move_pg(
            y, s.labels, s.x, s.A, s.b, s.Q, s.states, s.delta, s.loadings, s.r, omega, log_v,
            CFG.mfm_gamma, CFG.loading_var, CFG.intercept, prior, rng, n_proposals=4)
        assert np.array_equal(np.unique(lab), np.arange(x.shape[0]))
        assert A.shape[0] == b.shape[0] == Q.shape[0] == x.shape[0]
        before.append(_stats(s.labels, s.x, s.loadings))
        after.append(_stats(lab, x, c))
        for key, v in st.items():
            totals[key] += v
    before, after = np.array(before), np.array(after)
    se = np.sqrt(before.var(0) / n_rep + after.var(0) / n_rep)
    return (after.mean(0) - before.mean(0)) / se, totals


@pytest.mark.slow
def test_split_merge_pg_keeps_posterior():
    z, totals = _run(4000, 0)
    assert np.all(np.abs(z) < 4.0), np.round(z, 2)
    assert totals["split_accepted"] > 0.02 * totals["split_proposed"], totals
    assert totals["merge_accepted"] > 0.02 * totals["merge_proposed"], totals


@pytest.mark.slow
def test_split_merge_pg_wrong_ratio_would_fail(monkeypatch):
    """Power check: a factor 2 in favour of splits."""
    right = split_merge._pg_split_log_ratio
    monkeypatch.setattr(split_merge, "_pg_split_log_ratio",
                        lambda *args: right(*args) + np.log(2.0))
    z, _ = _run(4000, 0)
    assert np.max(np.abs(z)) > 6.0, np.round(z, 2)


def test_split_merge_pg_inputs_unchanged():
    rng = np.random.default_rng(1)
    s, y = sample_prior(N, T, CFG, rng)
    keep = s.copy()
    omega = rng.gamma(2.0, 0.2, y.shape)
    split_merge_move_pg(y, s.labels, s.x, s.A, s.b, s.Q, s.states, s.delta, s.loadings, s.r,
                        omega, CFG.log_v(N), CFG.mfm_gamma, CFG.loading_var, True,
                        CFG.dynamics_prior(), rng, n_proposals=10)
    for f in ("labels", "x", "A", "loadings"):
        np.testing.assert_array_equal(getattr(s, f), getattr(keep, f))
