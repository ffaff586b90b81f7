"""Neuron baselines and loadings ``(δ_i, c_i)`` for all neurons at once.

Given Pólya-Gamma variables, the linear predictor
``ψ_it = δ_i + o_it + c_iᵀ f_it`` (``f`` the cluster's latent, ``o`` its
intercept trajectory or zero) is a Gaussian regression per neuron with
precisions ``ω_it`` and pseudo-responses ``κ_it / ω_it``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["split_latents", "linear_predictor", "loading_posterior", "sample_loadings"]


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
