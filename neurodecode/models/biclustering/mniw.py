"""Matrix-normal inverse-Wishart (MNIW) draws of switching dynamics ``(A, b, Q)``.

For each cluster ``k`` and state ``s``, the regression ``x_t = W [x_{t-1}; 1] + ε_t``
with ``W = [A b]`` and ``ε_t ~ N(0, Q)`` over the steps with ``ξ_t = s`` has the
conjugate prior ``Q ~ IW(Ψ0, ν0)``, ``W | Q ~ MN(M0, Q, V0)``. All (k, s) pairs
are drawn at once.
"""

from __future__ import annotations

import numpy as np
from scipy.special import multigammaln

__all__ = ["sample_wishart", "sample_inverse_wishart", "regression_stats",
           "regression_stats_reference",
           "mniw_posterior", "mniw_log_evidence", "sample_mniw"]


def sample_wishart(scale, df, rng: np.random.Generator) -> np.ndarray:
    """Batched Wishart draws by the Bartlett decomposition.

    Parameters
    ----------
    scale : ndarray, shape (..., d, d)
        Scale matrices (SPD).
    df : ndarray or float, shape (...)
        Degrees of freedom (> d - 1).

    Returns
    -------
    ndarray, shape (..., d, d)
        Draws with mean ``df * scale``.
    """
    scale = np.asarray(scale, float)
    d = scale.shape[-1]
    batch = scale.shape[:-2]
    df = np.broadcast_to(np.asarray(df, float), batch)
    chol = np.linalg.cholesky(scale)
    bart = np.zeros(batch + (d, d))
    idx = np.arange(d)
    bart[..., idx, idx] = np.sqrt(rng.chisquare(df[..., None] - idx))
    rows, cols = np.tril_indices(d, -1)
    bart[..., rows, cols] = rng.standard_normal(batch + (len(rows),))
    la = chol @ bart
    return la @ np.swapaxes(la, -1, -2)


def sample_inverse_wishart(scale, df, rng: np.random.Generator) -> np.ndarray:
    """Batched inverse-Wishart draws ``IW(scale, df)`` (mean ``scale / (df - d - 1)``)."""
    return np.linalg.inv(sample_wishart(np.linalg.inv(scale), df, rng))


def regression_stats(x, states, n_states: int):
    """Sufficient statistics of each cluster's dynamics regression per state.

    Parameters
    ----------
    x : ndarray, shape (K, T, d)
    states : ndarray of int, shape (T,)

    Returns
    -------
    Sxx : (K, S, d+1, d+1) ``Σ u uᵀ``, Syx : (K, S, d, d+1) ``Σ x_t uᵀ``,
    Syy : (K, S, d, d) ``Σ x_t x_tᵀ``, n : (S,) step counts; ``u = [x_{t-1}; 1]``.
    """
    K, T, d = x.shape
    q = d + 1
    # w_t = [x_{t-1}; 1; x_t] per cluster; every statistic is a block of Σ w wᵀ per state,
    # summed with one reduceat over the steps sorted by state (no one-hot contraction)
    w = np.empty((T - 1, K, q + d))
    w[..., :d] = np.swapaxes(x[:, :-1], 0, 1)
    w[..., d] = 1.0
    w[..., q:] = np.swapaxes(x[:, 1:], 0, 1)
    s = np.asarray(states)[1:]
    counts = np.bincount(s, minlength=n_states)
    ws = w[np.argsort(s, kind="stable")]
    outer = (ws[:, :, :, None] * ws[:, :, None, :]).reshape(T - 1, -1)
    total = np.zeros((n_states, outer.shape[1]))
    used = counts > 0
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    if used.any():
        total[used] = np.add.reduceat(outer, starts[used], axis=0)
    total = np.moveaxis(total.reshape(n_states, K, q + d, q + d), 0, 1)
    return (total[..., :q, :q].copy(), total[..., q:, :q].copy(), total[..., q:, q:].copy(),
            counts.astype(float))


def regression_stats_reference(x, states, n_states: int):
    """One-hot ``einsum`` form of :func:`regression_stats` (the tested reference)."""
    K, T, d = x.shape
    onehot = np.zeros((T - 1, n_states))
    onehot[np.arange(T - 1), states[1:]] = 1.0
    u = np.concatenate([x[:, :-1], np.ones((K, T - 1, 1))], axis=-1)
    y = x[:, 1:]
    Sxx = np.einsum("ts,kta,ktb->ksab", onehot, u, u, optimize=True)
    Syx = np.einsum("ts,kta,ktb->ksab", onehot, y, u, optimize=True)
    Syy = np.einsum("ts,kta,ktb->ksab", onehot, y, y, optimize=True)
    return Sxx, Syx, Syy, onehot.sum(0)


def mniw_posterior(Sxx, Syx, Syy, n, M0, V0, Psi0, nu0):
    """Posterior MNIW parameters from sufficient statistics (closed form).

    Returns
    -------
    Mn : (..., d, d+1), Vn : (..., d+1, d+1), Psin : (..., d, d), nun : (...)
    """
    V0_inv = np.linalg.inv(V0)
    Sxx_n = Sxx + V0_inv
    Syx_n = Syx + M0 @ V0_inv
    Syy_n = Syy + M0 @ V0_inv @ M0.T
    Vn = np.linalg.inv(Sxx_n)
    Mn = Syx_n @ Vn
    Psin = Psi0 + Syy_n - Mn @ np.swapaxes(Syx_n, -1, -2)
    Psin = 0.5 * (Psin + np.swapaxes(Psin, -1, -2))
    nun = nu0 + np.broadcast_to(n, Psin.shape[:-2])
    return Mn, Vn, Psin, nun


def mniw_log_evidence(Sxx, Syx, Syy, n, M0, V0, Psi0, nu0):
    """Log evidence of ``x_t = W u_t + ε_t``, ``W | Q ~ MN(M0, Q, V0)``, ``Q ~ IW(Ψ0, ν0)``.

    Parameters
    ----------
    Sxx : ndarray, shape (..., q, q)
        ``Σ u uᵀ``.
    Syx : ndarray, shape (..., d, q)
        ``Σ x uᵀ``.
    Syy : ndarray, shape (..., d, d)
        ``Σ x xᵀ``.
    n : ndarray, shape (...)
        Number of steps (0 gives 0).
    M0, V0, Psi0, nu0
        MNIW prior (shapes ``(d, q)``, ``(q, q)``, ``(d, d)``, scalar).

    Returns
    -------
    ndarray, shape (...)

    Examples
    --------
    >>> d = 2
    >>> z = mniw_log_evidence(np.zeros((d + 1, d + 1)), np.zeros((d, d + 1)), np.zeros((d, d)),
    ...                       0.0, np.zeros((d, d + 1)), np.eye(d + 1), np.eye(d), 5.0)
    >>> float(np.round(z, 12))
    0.0
    """
    d = Psi0.shape[-1]
    Mn, Vn, Psin, nun = mniw_posterior(Sxx, Syx, Syy, n, M0, V0, Psi0, nu0)
    n = np.asarray(n, float)
    return (-0.5 * n * d * np.log(np.pi)
            + 0.5 * d * (np.linalg.slogdet(Vn)[1] - np.linalg.slogdet(V0)[1])
            + 0.5 * nu0 * np.linalg.slogdet(Psi0)[1] - 0.5 * nun * np.linalg.slogdet(Psin)[1]
            + multigammaln(0.5 * np.asarray(nun, float), d) - multigammaln(0.5 * nu0, d))


def sample_mniw(Mn, Vn, Psin, nun, rng: np.random.Generator):
    """Draw ``Q ~ IW(Psin, nun)``, ``W | Q ~ MN(Mn, Q, Vn)``; return ``A, b, Q``.

    Examples
    --------
    >>> d = 2
    >>> A, b, Q = sample_mniw(np.zeros((3, d, d + 1)), np.eye(d + 1)[None].repeat(3, 0),
    ...                       np.eye(d)[None].repeat(3, 0), np.full(3, 5.0),
    ...                       np.random.default_rng(0))
    >>> A.shape, b.shape, Q.shape
    ((3, 2, 2), (3, 2), (3, 2, 2))
    """
    Q = sample_inverse_wishart(Psin, nun, rng)
    d = Q.shape[-1]
    chol_Q = np.linalg.cholesky(Q)
    chol_V = np.linalg.cholesky(Vn)
    Z = rng.standard_normal(Mn.shape)
    W = Mn + chol_Q @ Z @ np.swapaxes(chol_V, -1, -2)
    return W[..., :d], W[..., d], Q
