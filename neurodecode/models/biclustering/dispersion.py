"""Negative-binomial dispersion ``r_i`` by Chinese-restaurant-table augmentation.

With ``y_it ~ NB(r_i, p_it)``, ``p = sigmoid(ψ)`` and ``r_i ~ Gamma(a0, rate b0)``,
drawing ``L_it ~ CRT(y_it, r_i)`` makes ``r_i`` conjugate (Zhou & Carin 2015):
``r_i ~ Gamma(a0 + Σ_t L_it, rate b0 + Σ_t log(1 + e^{ψ_it}))``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from .hmm import sample_crt

__all__ = ["nb_loglik", "sample_dispersion"]


def nb_loglik(y, psi, r) -> np.ndarray:
    """Elementwise ``log NB(y; r, sigmoid(ψ))`` (mean ``r e^ψ``)."""
    y = np.asarray(y, float)
    r = np.asarray(r, float)
    return (gammaln(y + r) - gammaln(r) - gammaln(y + 1) + y * psi
            - (y + r) * np.logaddexp(0.0, psi))


def sample_dispersion(y, psi, r, shape: float, rate: float, rng: np.random.Generator):
    """One CRT-augmented Gibbs draw of ``r`` (N,) given counts ``y`` and ``ψ`` (N, T).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.negative_binomial(5.0, 0.5, size=(2, 400))
    >>> r = sample_dispersion(y, np.zeros((2, 400)), np.ones(2), 1.0, 0.1, rng)
    >>> r.shape
    (2,)
    """
    tables = sample_crt(y, np.broadcast_to(np.asarray(r, float)[:, None], y.shape), rng)
    post_shape = shape + tables.sum(axis=1)
    post_rate = rate + np.logaddexp(0.0, psi).sum(axis=1)
    return rng.gamma(post_shape, 1.0 / post_rate)
