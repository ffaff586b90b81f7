"""Coupled switching dynamics over the stacked latents of all neuron clusters.

With ``dynamics="coupled"`` the latents of the ``K`` clusters, stacked as
``X_t = [x^{(0)}_t; …; x^{(K-1)}_t] ∈ R^D`` (``D = K d``), follow one switching linear
dynamical system ``X_t = b_{ξ_t} + A_{ξ_t} X_{t-1} + ε_t``, ``ε_t ~ N(0, Q_{ξ_t})``,
``X_0 ~ N(0, I_D)``. The chain keeps the per-cluster latents ``x`` as ``(K, T, d)`` and
stores the stacked dynamics as one "cluster" of dimension ``D``: ``A (1, L, D, D)``,
``b (1, L, D)``, ``Q (1, L, D, D)``, so every dimension-generic step of the block sampler
(banded latent draw, collapsed state moves, FFBS emissions, MNIW update) runs on the
stacked view (:func:`stack_latents`, :func:`stack_observation_terms`).

Prior (nested across ``K``). Per state, ``Q ~ IW(Ψ_D, ν_D)`` and ``W = [A b] | Q ~
MN(0, Q, I_{D+1})`` (each column of ``W`` independently ``N(0, Q)``), with
``ν_D = ν_base + D`` and ``Ψ_D = s (ν_base - 1) I_D`` (``s`` = ``noise_scale``, so
``E[Q] = s I``). The top-left ``D_1 × D_1`` block of an ``IW(Ψ_D, ν_D)`` matrix is
``IW(Ψ_{D_1}, ν_D - (D - D_1)) = IW(Ψ_{D_1}, ν_{D_1})`` and the matching sub-block of
``W`` (old rows, old columns and the intercept column) is ``MN(0, Q_11, I)``: the prior
of the ``K``-cluster system is exactly the marginal of the ``(K+1)``-cluster prior.

Conditional prior of a new cluster's block (``D = D_1 + d_2``, new block last), the
inverse-Wishart partition (e.g. Gupta & Nagar 2000, thm 3.4.1, with ``Ψ_12 = 0``):
``Q_{22·1} = Q_22 - Q_21 Q_11⁻¹ Q_12 ~ IW(Ψ_{22}, ν_D)``, independent of ``Q_11``;
``B = Q_11⁻¹ Q_12 | Q_{22·1} ~ MN(0, Ψ_11⁻¹, Q_{22·1})``; then the new rows of the
old (and intercept) columns of ``W`` are ``N(Bᵀ W_old, Q_{22·1})`` and the new columns
``N(0, Q)``.

Births and deaths of clusters change ``D``: a reversible-jump pair inside the label
move (:func:`sweep_labels_coupled`). A birth draws the extension ``θ_ext ~ p(θ_ext |
θ_K)`` and the new trajectory ``X_new ~ p(X_new | X_old, ξ, θ_{K+1})``; with these
as the proposal every prior factor cancels except
``p(X_old | ξ, θ_{K+1}) / p(X_old | ξ, θ_K)`` (:func:`birth_log_ratio`), computed exactly
as ``log p(X_old, X_new | θ_{K+1}) - log p(X_new | X_old, θ_{K+1}) - log p(X_old | θ_K)``.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve_banded
from scipy.special import multigammaln

from .labels import DynamicsPrior, _normalise_log, label_move_log_ratio
from .latents import (
    banded_gaussian_logpdf,
    blocks_to_banded,
    dynamics_precision,
    equilibrated_band_cholesky,
    sample_banded_gaussian,
)
from .loadings import laplace_loadings_batch, split_latents

__all__ = ["coupled_prior", "stack_latents", "unstack_latents", "stack_observation_terms",
           "permute_last", "drop_block", "sample_coupled_prior", "coupled_prior_log_density",
           "sample_extension", "extension_log_density", "slds_log_density",
           "conditional_latent_terms", "sample_new_latents", "new_latents_log_density",
           "birth_log_ratio", "offset_conditional", "coupled_offset_move", "sweep_labels_coupled"]

NU_BASE = 10.0


def coupled_prior(K: int, d: int, noise_scale: float, nu_base: float = NU_BASE) -> DynamicsPrior:
    """MNIW prior of the stacked dynamics of ``K`` clusters of dimension ``d`` each.

    ``D = K d``; ``ν = nu_base + D``, ``Ψ = noise_scale (nu_base - 1) I_D`` (``E[Q] =
    noise_scale I``), ``M0 = 0``, ``V0 = I_{D+1}``, ``x_0 ~ N(0, I_D)``. For ``K = 1`` it is
    the block-diagonal sampler's per-cluster prior.

    Examples
    --------
    >>> p = coupled_prior(3, 2, 0.01)
    >>> p.Psi0.shape, p.nu0, round(float(p.Psi0[0, 0]), 6)
    ((6, 6), 16.0, 0.09)
    """
    D = int(K) * int(d)
    nu0 = nu_base + D
    return DynamicsPrior(D, Psi0=noise_scale * (nu0 - D - 1) * np.eye(D), nu0=nu0)


def stack_latents(x: np.ndarray) -> np.ndarray:
    """Per-cluster latents ``(K, T, d)`` → stacked ``(1, T, K d)`` (cluster-major coordinates).

    Examples
    --------
    >>> stack_latents(np.arange(12.0).reshape(2, 3, 2))[0, 0]
    array([0., 1., 6., 7.])
    """
    K, T, d = x.shape
    return np.ascontiguousarray(np.swapaxes(x, 0, 1)).reshape(1, T, K * d)


def unstack_latents(X: np.ndarray, K: int) -> np.ndarray:
    """Inverse of :func:`stack_latents`: ``(1, T, K d)`` or ``(T, K d)`` → ``(K, T, d)``."""
    X = np.asarray(X)
    T, D = X.shape[-2:]
    return np.ascontiguousarray(np.swapaxes(X.reshape(T, K, D // K), 0, 1))


def stack_observation_terms(prec: np.ndarray, info: np.ndarray):
    """Block-diagonal stacked observation terms.

    Parameters
    ----------
    prec : ndarray, shape (K, T, d, d)
    info : ndarray, shape (K, T, d)

    Returns
    -------
    prec : ndarray, shape (1, T, K d, K d); info : ndarray, shape (1, T, K d)

    Examples
    --------
    >>> P, h = stack_observation_terms(np.ones((2, 3, 1, 1)), np.ones((2, 3, 1)))
    >>> P[0, 0]
    array([[1., 0.],
           [0., 1.]])
    """
    K, T, d, _ = prec.shape
    out = np.zeros((T, K, d, K, d))
    for k in range(K):
        out[:, k, :, k, :] = prec[k]
    return out.reshape(1, T, K * d, K * d), stack_latents(info)


def permute_last(A, b, Q, k: int, d: int):
    """Stacked dynamics with cluster ``k``'s coordinates moved to the end (others in order).

    ``A, Q`` are ``(..., D, D)``, ``b`` is ``(..., D)``; returns permuted copies.
    """
    D = A.shape[-1]
    idx = np.arange(D)
    blk = idx[k * d:(k + 1) * d]
    order = np.concatenate([np.delete(idx, blk), blk])
    return A[..., order[:, None], order], b[..., order], Q[..., order[:, None], order]


def drop_block(A, b, Q, k: int, d: int):
    """Stacked dynamics without cluster ``k``'s rows and columns (the marginal system's θ)."""
    D = A.shape[-1]
    keep = np.delete(np.arange(D), np.arange(k * d, (k + 1) * d))
    return A[..., keep[:, None], keep], b[..., keep], Q[..., keep[:, None], keep]


def _iw_logpdf(S, Psi, nu):
    """``log IW(S; Ψ, ν)`` (mean ``Ψ / (ν - p - 1)``), batched over leading axes."""
    p = S.shape[-1]
    _, ld_psi = np.linalg.slogdet(Psi)
    _, ld_s = np.linalg.slogdet(S)
    tr = np.trace(Psi @ np.linalg.inv(S), axis1=-2, axis2=-1)
    return (0.5 * nu * ld_psi - 0.5 * nu * p * np.log(2.0) - multigammaln(0.5 * nu, p)
            - 0.5 * (nu + p + 1) * ld_s - 0.5 * tr)


def _mvn_cols_logpdf(W, cov):
    """``Σ_j log N(W[..., :, j]; 0, cov)`` batched: ``W (..., p, m)``, ``cov (..., p, p)``."""
    p, m = W.shape[-2:]
    chol = np.linalg.cholesky(cov)
    z = np.linalg.solve(chol, W)
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1)
    return -0.5 * (z**2).sum((-2, -1)) - 0.5 * m * logdet - 0.5 * m * p * np.log(2 * np.pi)


def sample_coupled_prior(K: int, d: int, n_states: int, noise_scale: float,
                         rng: np.random.Generator, nu_base: float = NU_BASE):
    """Stacked dynamics of ``K`` clusters from :func:`coupled_prior`, one per state.

    Returns
    -------
    A : (1, L, D, D), b : (1, L, D), Q : (1, L, D, D)

    Examples
    --------
    >>> A, b, Q = sample_coupled_prior(2, 2, 3, 0.01, np.random.default_rng(0))
    >>> A.shape, b.shape, Q.shape
    ((1, 3, 4, 4), (1, 3, 4), (1, 3, 4, 4))
    """
    return coupled_prior(K, d, noise_scale, nu_base).sample_dynamics(1, n_states, rng)


def coupled_prior_log_density(A, b, Q, d: int, noise_scale: float,
                              nu_base: float = NU_BASE) -> float:
    """``log p(A, b, Q)`` under :func:`coupled_prior`, summed over states.

    Parameters
    ----------
    A, Q : ndarray, shape (L, D, D) or (1, L, D, D); b : ndarray, shape (L, D) or (1, L, D)
    d : int
        Per-cluster dimension (``D`` must be a multiple).
    """
    D = A.shape[-1]
    prior = coupled_prior(D // d, d, noise_scale, nu_base)
    W = np.concatenate([A, b[..., None]], axis=-1)
    return float((_iw_logpdf(Q, prior.Psi0, prior.nu0) + _mvn_cols_logpdf(W, Q)).sum())


def _ext_scale(D: int, noise_scale: float, nu_base: float):
    nu = nu_base + D
    return noise_scale * (nu - D - 1), nu


def sample_extension(A, b, Q, d_new: int, noise_scale: float, rng: np.random.Generator,
                     nu_base: float = NU_BASE):
    """Draw a new cluster's block from the conditional prior ``p(θ_{K+1} | θ_K)``.

    Parameters
    ----------
    A, Q : ndarray, shape (..., D1, D1); b : ndarray, shape (..., D1)
        The current stacked dynamics (any leading axes, e.g. ``(1, L)``).
    d_new : int
        Dimension of the new block (appended last).
    noise_scale : float

    Returns
    -------
    A, Q : ndarray, shape (..., D, D); b : ndarray, shape (..., D), ``D = D1 + d_new``
        Extended copies whose old block equals the input.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A, b, Q = sample_coupled_prior(1, 2, 2, 0.01, rng)
    >>> A2, b2, Q2 = sample_extension(A, b, Q, 2, 0.01, rng)
    >>> A2.shape, bool(np.allclose(Q2[..., :2, :2], Q))
    ((1, 2, 4, 4), True)
    """
    batch, D1 = A.shape[:-2], A.shape[-1]
    d2 = int(d_new)
    D = D1 + d2
    c, nu = _ext_scale(D, noise_scale, nu_base)
    from .mniw import sample_inverse_wishart

    Q221 = sample_inverse_wishart(np.broadcast_to(c * np.eye(d2), batch + (d2, d2)),
                                  np.full(batch, nu), rng)
    chol221 = np.linalg.cholesky(Q221)
    # B ~ MN(0, Ψ_11⁻¹ = I / c, Q_22·1)
    B = rng.standard_normal(batch + (D1, d2)) @ np.swapaxes(chol221, -1, -2) / np.sqrt(c)
    Q12 = Q @ B
    Qn = np.zeros(batch + (D, D))
    Qn[..., :D1, :D1] = Q
    Qn[..., :D1, D1:] = Q12
    Qn[..., D1:, :D1] = np.swapaxes(Q12, -1, -2)
    Qn[..., D1:, D1:] = Q221 + np.swapaxes(B, -1, -2) @ Q12
    Qn = 0.5 * (Qn + np.swapaxes(Qn, -1, -2))
    Qn[..., :D1, :D1] = Q  # the old block exactly as it was
    # columns of W: old x-columns and the intercept (rows extended), then the new x-columns
    W_old = np.concatenate([A, b[..., None]], axis=-1)          # (..., D1, D1 + 1)
    new_rows = np.swapaxes(B, -1, -2) @ W_old + chol221 @ rng.standard_normal(
        batch + (d2, D1 + 1))
    new_cols = np.linalg.cholesky(Qn) @ rng.standard_normal(batch + (D, d2))
    An = np.zeros(batch + (D, D))
    An[..., :D1, :D1] = A
    An[..., D1:, :D1] = new_rows[..., :D1]
    An[..., :, D1:] = new_cols
    bn = np.concatenate([b, new_rows[..., D1]], axis=-1)
    return An, bn, Qn


def extension_log_density(A, b, Q, D1: int, noise_scale: float,
                          nu_base: float = NU_BASE) -> float:
    """``log p(θ_ext | θ_old)`` of :func:`sample_extension`'s draw, summed over states.

    Written from the inverse-Wishart partition (density of ``(Q_{22·1}, B)`` times the
    Jacobian ``|Q_11|^{-d_2}`` of ``Q_12 = Q_11 B``) and the Gaussian rows/columns of ``W``;
    it equals ``log p_{K+1}(θ) - log p_K(θ_old)`` (tested), which checks the partition.

    Parameters
    ----------
    A, Q : ndarray, shape (..., D, D); b : ndarray, shape (..., D)
        The extended dynamics; the new block is coordinates ``D1:``.
    """
    D = A.shape[-1]
    d2 = D - D1
    c, nu = _ext_scale(D, noise_scale, nu_base)
    Q11, Q12, Q22 = Q[..., :D1, :D1], Q[..., :D1, D1:], Q[..., D1:, D1:]
    B = np.linalg.solve(Q11, Q12)
    Q221 = Q22 - np.swapaxes(Q12, -1, -2) @ B
    Q221 = 0.5 * (Q221 + np.swapaxes(Q221, -1, -2))
    out = _iw_logpdf(Q221, c * np.eye(d2), nu)
    # vec(B) ~ N(0, Q221 ⊗ I/c): rows of B are N(0, Q221 / c)
    out = out + _mvn_cols_logpdf(np.swapaxes(B, -1, -2), Q221 / c)
    out = out - d2 * np.linalg.slogdet(Q11)[1]
    W = np.concatenate([A, b[..., None]], axis=-1)
    cols_old = np.r_[np.arange(D1), D]
    W_old = W[..., :D1, :][..., cols_old]
    resid = W[..., D1:, :][..., cols_old] - np.swapaxes(B, -1, -2) @ W_old
    out = out + _mvn_cols_logpdf(resid, Q221)
    out = out + _mvn_cols_logpdf(W[..., :, D1:D], Q)
    return float(np.sum(out))


def slds_log_density(X, states, A, b, Q, x0_precision) -> float:
    """``log p(X | ξ, θ)`` of a trajectory under switching linear dynamics.

    Parameters
    ----------
    X : ndarray, shape (T, D)
    states : ndarray of int, shape (T,)
    A, Q : ndarray, shape (L, D, D); b : ndarray, shape (L, D)
    x0_precision : ndarray, shape (D, D)

    Examples
    --------
    >>> A = np.zeros((1, 1, 1)); b = np.zeros((1, 1)); Q = np.ones((1, 1, 1))
    >>> round(slds_log_density(np.zeros((2, 1)), np.zeros(2, int), A, b, Q, np.eye(1)), 6)
    -1.837877
    """
    X = np.asarray(X, float)
    T, D = X.shape
    s = np.asarray(states)[1:]
    chol = np.linalg.cholesky(Q)
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1)
    resid = X[1:] - np.einsum("tab,tb->ta", A[s], X[:-1]) - b[s]
    z = np.linalg.solve(chol[s], resid[..., None])[..., 0]
    out = -0.5 * ((z**2).sum() + logdet[s].sum() + (T - 1) * D * np.log(2 * np.pi))
    _, ld0 = np.linalg.slogdet(x0_precision)
    out += 0.5 * ld0 - 0.5 * X[0] @ x0_precision @ X[0] - 0.5 * D * np.log(2 * np.pi)
    return float(out)


def conditional_latent_terms(X_old, states, A, b, Q, x0_precision):
    """Banded precision and information of ``p(X_new | X_old, ξ, θ)`` (new block last).

    Parameters
    ----------
    X_old : ndarray, shape (T, D1)
    states : ndarray of int, shape (T,)
    A, Q : ndarray, shape (L, D, D); b : ndarray, shape (L, D)
        Dynamics of the joint system; coordinates ``D1:`` are the new block.
    x0_precision : ndarray, shape (D, D)

    Returns
    -------
    ab : ndarray, shape (2 d2, T d2)
        Lower band storage of the conditional precision ``Λ_nn``.
    h : ndarray, shape (T d2,)
        Conditional information ``h_n - Λ_no X_old``.
    """
    T, D1 = X_old.shape
    diag, lower, h = dynamics_precision(states, A[None], b[None], Q[None], x0_precision)
    diag, lower, h = diag[0], lower[0], h[0]
    n = slice(D1, None)
    o = slice(0, D1)
    info = h[:, n] - np.einsum("tab,tb->ta", diag[:, n, o], X_old)
    # Λ[t, t-1] X_old[t-1] and Λ[t, t+1] X_old[t+1] = Λ[t+1, t]ᵀ X_old[t+1]
    info[1:] -= np.einsum("tab,tb->ta", lower[:, n, o], X_old[:-1])
    info[:-1] -= np.einsum("tba,tb->ta", lower[:, o, n], X_old[1:])
    ab = blocks_to_banded(np.ascontiguousarray(diag[:, n, n]),
                          np.ascontiguousarray(lower[:, n, n]))
    return ab, info.reshape(-1)


def sample_new_latents(X_old, states, A, b, Q, x0_precision, rng):
    """``X_new ~ p(X_new | X_old, ξ, θ)``, shape (T, d2) (joint banded draw)."""
    ab, h = conditional_latent_terms(X_old, states, A, b, Q, x0_precision)
    x, _ = sample_banded_gaussian(ab, h, rng)
    return x.reshape(len(states), -1)


def _banded_logpdf(ab, h, x):
    """``log N(x; Λ⁻¹ h, Λ⁻¹)`` with ``Λ`` in lower band storage (equilibrated: ``x = S u``)."""
    chol, scale = equilibrated_band_cholesky(ab)
    mean_u = cho_solve_banded((chol, True), scale * h, check_finite=False)
    return banded_gaussian_logpdf(np.asarray(x, float) / scale, chol, mean_u) - float(
        np.log(scale).sum())


def new_latents_log_density(X_new, X_old, states, A, b, Q, x0_precision) -> float:
    """``log p(X_new | X_old, ξ, θ)`` (exact, banded Cholesky)."""
    ab, h = conditional_latent_terms(X_old, states, A, b, Q, x0_precision)
    return _banded_logpdf(ab, h, np.asarray(X_new, float).reshape(-1))


def birth_log_ratio(X_old, X_new, states, A_old, b_old, Q_old, A, b, Q) -> float:
    """``log p(X_old | ξ, θ_{K+1}) - log p(X_old | ξ, θ_K)``: the birth move's dynamics factor.

    ``p(X_old | θ_{K+1}) = p(X_old, X_new | θ_{K+1}) / p(X_new | X_old, θ_{K+1})`` for any
    ``X_new`` (the drawn one is used). ``x_0`` priors are standard normal.

    Parameters
    ----------
    X_old : (T, D1); X_new : (T, d2); states : (T,)
    A_old, Q_old : (L, D1, D1); b_old : (L, D1)
    A, Q : (L, D, D); b : (L, D), new block last.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A0, b0, Q0 = sample_coupled_prior(1, 1, 1, 0.1, rng)
    >>> A1, b1, Q1 = sample_extension(A0, b0, Q0, 1, 0.1, rng)
    >>> s = np.zeros(4, int); X = rng.standard_normal((4, 1))
    >>> Xn = sample_new_latents(X, s, A1[0], b1[0], Q1[0], np.eye(2), rng)
    >>> bool(np.isfinite(birth_log_ratio(X, Xn, s, A0[0], b0[0], Q0[0], A1[0], b1[0], Q1[0])))
    True
    """
    D1, D = X_old.shape[1], A.shape[-1]
    joint = slds_log_density(np.concatenate([X_old, X_new], axis=1), states, A, b, Q, np.eye(D))
    cond = new_latents_log_density(X_new, X_old, states, A, b, Q, np.eye(D))
    old = slds_log_density(X_old, states, A_old, b_old, Q_old, np.eye(D1))
    return joint - cond - old


def offset_conditional(x, labels, delta, states, A, b, Q, x0_precision, baseline_mean: float,
                       baseline_var: float):
    """Gaussian conditional of the intercept shifts ``s ∈ R^K`` (see :func:`coupled_offset_move`).

    Returns
    -------
    precision : ndarray, shape (K, K); linear : ndarray, shape (K,)
        ``log p(state shifted by s) = const + linearᵀ s - ½ sᵀ precision s``.
    """
    K, T, d = x.shape
    D = K * d
    X = stack_latents(x)[0]
    A, b, Q = A[0], b[0], Q[0]
    s_t = np.asarray(states)[1:]
    E = np.zeros((D, K))
    E[np.arange(K) * d, np.arange(K)] = 1.0
    J = np.linalg.inv(Q)                                     # (L, D, D)
    G = E[None] - A @ E                                      # (L, D, K)
    JG = J @ G
    GJG = np.swapaxes(G, -1, -2) @ JG                        # (L, K, K)
    occ = np.bincount(s_t, minlength=A.shape[0]).astype(float)
    resid = X[1:] - np.einsum("tab,tb->ta", A[s_t], X[:-1]) - b[s_t]   # (T-1, D)
    counts = np.bincount(labels, minlength=K)
    dsum = np.bincount(labels, weights=np.asarray(delta) - baseline_mean, minlength=K)
    precision = np.einsum("l,lab->ab", occ, GJG) + E.T @ x0_precision @ E \
        + np.diag(counts / baseline_var)
    linear = -np.einsum("tda,td->a", JG[s_t], resid) - E.T @ (x0_precision @ X[0]) \
        + dsum / baseline_var
    return 0.5 * (precision + precision.T), linear


def coupled_offset_move(x, labels, delta, states, A, b, Q, x0_precision, baseline_mean: float,
                        baseline_var: float, rng: np.random.Generator):
    """Exact joint Gibbs draw of the intercept shifts ``s ∈ R^K`` under coupled dynamics.

    ``μ^{(k)}_t → μ^{(k)}_t + s_k`` (coordinate ``k d`` of ``X_t``) and ``δ_i → δ_i - s_k``
    for the members of cluster ``k``: every linear predictor is unchanged. With
    ``E`` the ``D × K`` selector of the intercept coordinates and ``G_t = (I - A_{ξ_t}) E``,
    the residuals are ``r_t + G_t s``, so ``s`` is Gaussian with precision
    ``Σ_t G_tᵀ J G_t + Eᵀ P_0 E + diag(n_k / v)`` and information
    ``-Σ_t G_tᵀ J r_t - Eᵀ P_0 X_0 + (Σ_{i ∈ k} (δ_i - m)) / v`` (:func:`offset_conditional`;
    a translation-group move, Liu & Wu 1999). With block-diagonal ``A`` the precision is
    diagonal and the move is :func:`.moves.cluster_offset_move`'s (tested).

    Parameters
    ----------
    x : ndarray, shape (K, T, d)
    labels : (N,); delta : (N,); states : (T,)
    A, Q : ndarray, shape (1, L, D, D); b : ndarray, shape (1, L, D)
    x0_precision : ndarray, shape (D, D)

    Returns
    -------
    x, delta : updated copies; shift : ndarray, shape (K,)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A, b, Q = sample_coupled_prior(2, 2, 1, 0.1, rng)
    >>> x = rng.standard_normal((2, 5, 2))
    >>> _, _, s = coupled_offset_move(x, np.array([0, 1]), np.zeros(2), np.zeros(5, int),
    ...                               A, b, Q, np.eye(4), 0.0, 1.0, rng)
    >>> s.shape
    (2,)
    """
    x = np.array(x, float)
    delta = np.array(delta, float)
    K = x.shape[0]
    precision, linear = offset_conditional(x, labels, delta, states, A, b, Q, x0_precision,
                                           baseline_mean, baseline_var)
    chol = np.linalg.cholesky(precision)
    mean = np.linalg.solve(precision, linear)
    shift = mean + np.linalg.solve(chol.T, rng.standard_normal(K))
    x[:, :, 0] += shift[:, None]
    delta -= shift[labels]
    return x, delta, shift


def _aux_cluster(x, A, b, Q, states, d, noise_scale, rng):
    """Conditional-prior draw of a new cluster appended to the stacked system."""
    K = x.shape[0]
    An, bn, Qn = sample_extension(A, b, Q, d, noise_scale, rng)
    X_old = stack_latents(x)[0]
    X_new = sample_new_latents(X_old, states, An[0], bn[0], Qn[0], np.eye((K + 1) * d), rng)
    return X_new, An, bn, Qn


def _death_log_ratio(x, A, b, Q, states, k, d):
    """``birth_log_ratio`` of re-creating cluster ``k`` from the system without it."""
    Ap, bp, Qp = permute_last(A[0], b[0], Q[0], k, d)
    X_rest = stack_latents(np.delete(x, k, axis=0))[0]
    Ad, bd, Qd = Ap[..., :-d, :-d], bp[..., :-d], Qp[..., :-d, :-d]
    return birth_log_ratio(X_rest, x[k], states, Ad, bd, Qd, Ap, bp, Qp)


def sweep_labels_coupled(y, labels, x, A, b, Q, states, delta, loadings, r, log_v, gamma: float,
                         loading_var: float, intercept: bool, noise_scale: float,
                         rng: np.random.Generator, order=None):
    """:func:`.labels.sweep_labels` for coupled dynamics: births and deaths by reversible jump.

    Moves between existing clusters are those of the block sampler (given the latents the
    dynamics density does not depend on the labels). The proposal chooses the cluster with
    weights (MFM prior weight) x (Laplace evidence of neuron ``i``'s loadings), except that
    the auxiliary (new-cluster) slot uses the evidence with no latent (``x = 0``): its weight
    does not depend on the auxiliary's latents, so the auxiliary is drawn only when chosen,
    and the weight is the same in the forward and reverse states. For a non-singleton neuron
    the auxiliary cluster is drawn from the conditional prior given the current system,
    ``θ_ext ~ p(θ_ext | θ_K)`` and ``X_new ~ p(X_new | X_old, ξ, θ_{K+1})``; accepting it
    (a birth) multiplies the MH ratio by :func:`birth_log_ratio`. A singleton's own cluster
    is its auxiliary; moving it to another cluster (a death) divides by the same factor
    computed for that cluster against the system without it.

    Parameters
    ----------
    y : (N, T); labels : (N,) contiguous ``0..K-1``; x : (K, T, d)
    A, Q : (1, S, K d, K d); b : (1, S, K d)
        Stacked dynamics.
    states, delta, loadings, r, log_v, gamma, loading_var, intercept
        As in :func:`.labels.sweep_labels`.
    noise_scale : float
        The prior's ``noise_scale`` (:func:`coupled_prior`).

    Returns
    -------
    labels, x, A, b, Q, loadings, n_accepted
    """
    labels = labels.copy()
    loadings = loadings.copy()
    N = len(labels)
    d = x.shape[2]
    accepted = 0

    def fit(i_rows, cluster_x):
        off, ft = split_latents(cluster_x, intercept)
        return laplace_loadings_batch(y[i_rows], r[i_rows],
                                      delta[i_rows, None, None] + off[None], ft, loading_var)

    fit_mode, fit_prec, fit_ev = fit(np.arange(N), x)
    # the auxiliary slot's proposal weight uses the evidence with no latent (x = 0): it does
    # not depend on the auxiliary's latents, so the auxiliary is drawn only when chosen
    null_ev = fit(np.arange(N), np.zeros((1,) + x.shape[1:]))[2][:, 0]
    for i in (range(N) if order is None else order):
        K = x.shape[0]
        own = labels[i]
        sizes = np.bincount(labels, minlength=K)
        sizes[own] -= 1
        singleton = sizes[own] == 0
        existing = np.delete(np.arange(K), own) if singleton else np.arange(K)
        t = len(existing)
        log_w = np.append(np.log(sizes[existing] + gamma),
                          np.log(gamma) + log_v[t + 1] - log_v[t])
        log_q = _normalise_log(log_w + np.append(fit_ev[i, existing], null_ev[i]))
        j_new = int(rng.choice(len(log_q), p=np.exp(log_q)))
        birth = not singleton and j_new == t
        death = singleton and j_new != t
        mode = np.concatenate([fit_mode[i, existing], fit_mode[i, :1]])
        prec = np.concatenate([fit_prec[i, existing], fit_prec[i, :1]])
        if singleton:
            aux_x = x[own]
            mode[t], prec[t] = fit_mode[i, own], fit_prec[i, own]
        elif birth:
            X_new, An, bn, Qn = _aux_cluster(x, A, b, Q, states, d, noise_scale, rng)
            aux_x = unstack_latents(X_new, 1)[0]
            am, ap, _ = fit(np.array([i]), aux_x[None])
            mode[t], prec[t] = am[0, 0], ap[0, 0]
        else:
            aux_x = np.zeros_like(x[0])  # never evaluated: neither j_old nor j_new is the slot
        cand_x = np.concatenate([x[existing], aux_x[None]], axis=0)
        offset, feats = split_latents(cand_x, intercept)
        base = delta[i] + offset
        chol = np.linalg.cholesky(prec[j_new])
        c_new = mode[j_new] + np.linalg.solve(chol.T, rng.standard_normal(len(mode[j_new])))
        j_old = t if singleton else int(own)
        c_old = loadings[i]
        log_alpha = label_move_log_ratio((j_old, c_old), (j_new, c_new), y[i], r[i], base, feats,
                                         log_w, loading_var, log_q, mode, prec)
        if birth:
            log_alpha += birth_log_ratio(stack_latents(x)[0], X_new, states, A[0], b[0], Q[0],
                                         An[0], bn[0], Qn[0])
        elif death:
            log_alpha -= _death_log_ratio(x, A, b, Q, states, own, d)
        if np.log(rng.random()) >= log_alpha:
            continue
        accepted += 1
        loadings[i] = c_new
        if birth:
            x = np.concatenate([x, aux_x[None]])
            A, b, Q = An, bn, Qn
            labels[i] = K
            born = fit(np.arange(N), aux_x[None])
            fit_mode, fit_prec, fit_ev = (np.concatenate([old, new], axis=1) for old, new
                                          in zip((fit_mode, fit_prec, fit_ev), born,
                                                 strict=True))
        elif not (singleton and j_new == t):
            labels[i] = existing[j_new]
            if death:
                x = np.delete(x, own, axis=0)
                A, b, Q = drop_block(A, b, Q, own, d)
                fit_mode, fit_prec, fit_ev = (np.delete(v, own, axis=1)
                                              for v in (fit_mode, fit_prec, fit_ev))
                labels[labels > own] -= 1
    return labels, x, A, b, Q, loadings, accepted
