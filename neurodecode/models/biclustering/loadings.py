"""Neuron baselines and loadings ``(δ_i, c_i)`` for all neurons at once.

Given Pólya-Gamma variables, the linear predictor
``ψ_it = δ_i + o_it + c_iᵀ f_it`` (``f`` the cluster's latent, ``o`` its
intercept trajectory or zero) is a Gaussian regression per neuron with
precisions ``ω_it`` and pseudo-responses ``κ_it / ω_it``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["split_latents", "linear_predictor", "loading_posterior", "sample_loadings",
           "laplace_loadings_batch"]


def split_latents(x, intercept: bool):
    """``(offset, features)`` of latents ``x`` (..., d): intercept column and loaded columns."""
    if intercept:
        return x[..., 0], x[..., 1:]
    return np.zeros(x.shape[:-1]), x


def linear_predictor(x, labels, delta, loadings, intercept: bool) -> np.ndarray:
    """``ψ_it = δ_i + o^{(z_i)}_t + c_iᵀ f^{(z_i)}_t``, shape (N, T).

    Parameters
    ----------
    x : ndarray, shape (K, T, d)
    labels : ndarray of int, shape (N,)
    delta : ndarray, shape (N,); loadings : ndarray, shape (N, p)
    """
    offset, feats = split_latents(x, intercept)
    return delta[:, None] + offset[labels] + (feats[labels] @ loadings[:, :, None])[..., 0]


def loading_posterior(x, labels, omega, kappa, intercept, prior_mean, prior_var):
    """Gaussian posterior precision and information of ``β_i = (δ_i, c_i)``.

    Parameters
    ----------
    omega, kappa : ndarray, shape (N, T)
    prior_mean : ndarray, shape (p + 1,); prior_var : ndarray, shape (p + 1,)

    Returns
    -------
    precision : (N, p+1, p+1), info : (N, p+1)
    """
    offset, feats = split_latents(x, intercept)
    N, T = omega.shape
    design = np.concatenate([np.ones((N, T, 1)), feats[labels]], axis=-1)
    precision = np.swapaxes(design, 1, 2) @ (omega[..., None] * design) + np.diag(1.0 / prior_var)
    resid = kappa - omega * offset[labels]
    info = (resid[:, None, :] @ design)[:, 0] + prior_mean / prior_var
    return precision, info


def sample_loadings(x, labels, omega, kappa, intercept, prior_mean, prior_var,
                    rng: np.random.Generator):
    """Draw ``(δ, c)`` from their joint Gaussian conditional; returns ``delta (N,), c (N, p)``."""
    precision, info = loading_posterior(x, labels, omega, kappa, intercept, prior_mean, prior_var)
    chol = np.linalg.cholesky(precision)
    mean = np.linalg.solve(precision, info[..., None])[..., 0]
    z = rng.standard_normal(info.shape)
    # x = mean + L^{-T} z has covariance (L Lᵀ)^{-1}
    noise = np.linalg.solve(np.swapaxes(chol, -1, -2), z[..., None])[..., 0]
    beta = mean + noise
    return beta[:, 0], beta[:, 1:]


def laplace_loadings_batch(y, r, base, feats, prior_var: float, n_newton: int = 4):
    """:func:`~neurodecode.models.biclustering.labels.laplace_loadings` for many neurons at once.

    The same fixed number of Newton steps from ``c = 0`` and the same formulas,
    vectorised over a leading neuron axis, so a label sweep can fit every
    (neuron, candidate cluster) pair in one call instead of one call per neuron.

    Parameters
    ----------
    y : ndarray, shape (B, T)
        Counts of ``B`` neurons.
    r : ndarray, shape (B,)
        Their dispersions.
    base : ndarray, shape (B, C, T)
        ``δ_i`` plus each candidate's intercept trajectory.
    feats : ndarray, shape (C, T, p) or (B, C, T, p)
        Candidates' loaded latents (shared by all neurons, or per neuron).
    prior_var : float
    n_newton : int

    Returns
    -------
    mode : (B, C, p), precision : (B, C, p, p), log_evidence : (B, C)
        Row ``i`` equals ``laplace_loadings(y[i], r[i], base[i], feats[i or :], ...)``
        to rounding.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> feats = rng.standard_normal((2, 50, 2))
    >>> y = rng.poisson(1.0, (3, 50)).astype(float)
    >>> mode, prec, log_ev = laplace_loadings_batch(y, np.full(3, 5.0), np.zeros((3, 2, 50)),
    ...                                             feats, 1.0)
    >>> mode.shape, prec.shape, log_ev.shape
    ((3, 2, 2), (3, 2, 2, 2), (3, 2))
    """
    y = np.asarray(y, float)
    r = np.asarray(r, float)
    B, C, T = base.shape
    p = feats.shape[-1]
    shared = feats.ndim == 3
    # candidate-major layout (C, B, T): every t-contraction is one batched matmul per candidate
    base_c = np.ascontiguousarray(np.swapaxes(base, 0, 1))
    if shared:
        f_pt = np.ascontiguousarray(np.swapaxes(feats, 1, 2))[:, None]  # (C, 1, p, T)
    else:
        f_pt = np.ascontiguousarray(np.moveaxis(feats, (0, 3), (1, 2)))  # (C, B, p, T)
    pairs = (f_pt[:, :, :, None, :] * f_pt[:, :, None, :, :]).reshape(C, -1, p * p, T)
    prior_prec = np.eye(p) / prior_var
    c = np.zeros((C, B, p))
    yy = y[None]
    yr = (y + r[:, None])[None]
    for step in range(n_newton + 1):
        psi = base_c + (c[:, :, None, :] @ f_pt)[:, :, 0, :] if not shared else \
            base_c + c @ f_pt[:, 0]
        sig = 0.5 * (1.0 + np.tanh(0.5 * psi))
        resid = yy - yr * sig
        weight = yr * sig * (1 - sig)
        if shared:
            grad = resid @ np.swapaxes(f_pt[:, 0], 1, 2)
            prec = (weight @ np.swapaxes(pairs[:, 0], 1, 2)).reshape(C, B, p, p)
        else:
            grad = (f_pt @ resid[..., None])[..., 0]
            prec = (pairs @ weight[..., None])[..., 0].reshape(C, B, p, p)
        grad -= c / prior_var
        prec += prior_prec
        if step == n_newton:
            break
        c = c + np.linalg.solve(prec, grad[..., None])[..., 0]
    from .dispersion import softplus

    loglik = (yy * psi - (yy + r[None, :, None]) * softplus(psi)).sum(axis=-1)
    log_prior = -0.5 * (c**2).sum(-1) / prior_var - 0.5 * p * np.log(2 * np.pi * prior_var)
    _, logdet = np.linalg.slogdet(prec)
    log_ev = loglik + log_prior + 0.5 * p * np.log(2 * np.pi) - 0.5 * logdet
    return np.swapaxes(c, 0, 1), np.swapaxes(prec, 0, 1), log_ev.T
