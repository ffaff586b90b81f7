"""Negative-binomial dispersion ``r_i`` by Chinese-restaurant-table augmentation.

With ``y_it ~ NB(r_i, p_it)``, ``p = sigmoid(ψ)`` and ``r_i ~ Gamma(a0, rate b0)``,
drawing ``L_it ~ CRT(y_it, r_i)`` makes ``r_i`` conjugate (Zhou & Carin 2015):
``r_i ~ Gamma(a0 + Σ_t L_it, rate b0 + Σ_t log(1 + e^{ψ_it}))``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from .hmm import sample_crt

__all__ = ["softplus", "log_rising_factorial", "nb_loglik", "sample_dispersion"]


def softplus(psi) -> np.ndarray:
    """``log(1 + e^ψ)`` elementwise, stably: ``max(ψ, 0) + log1p(e^{-|ψ|})``.

    Equal to ``np.logaddexp(0, ψ)`` to rounding (<= 2 ulp) and about 10x faster
    (four vectorised passes instead of a scalar loop).

    Examples
    --------
    >>> softplus(np.array([-800.0, 0.0, 800.0])).round(6).tolist()
    [0.0, 0.693147, 800.0]
    """
    psi = np.asarray(psi, float)
    out = np.negative(np.abs(psi))
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(psi, 0.0)
    return out


#: counts above this use ``gammaln`` instead of log tables
_TABLE_MAX_COUNT = 4096


def log_rising_factorial(y, r) -> np.ndarray:
    """``log Γ(y + r) - log Γ(r)`` for integer counts ``y >= 0`` (shape (N, T)) and ``r`` (N, 1).

    ``Σ_{j<y} log(r + j)`` from one cumulative log table per row when the counts
    are small integers (a gather instead of two ``gammaln`` passes over (N, T));
    ``gammaln`` otherwise. Equal to the ``gammaln`` difference to rounding.

    Examples
    --------
    >>> round(float(log_rising_factorial(np.array([[3.0]]), np.array([[2.0]]))[0, 0]), 10)
    3.1780538303
    """
    y = np.asarray(y)
    r = np.asarray(r, float)
    y_max = int(y.max()) if y.size else 0
    if (y.ndim != 2 or r.shape not in ((y.shape[0], 1), (y.shape[0],)) or y_max > _TABLE_MAX_COUNT
            or y.min(initial=0) < 0 or not np.array_equal(y, np.floor(y))):
        return gammaln(y + r) - gammaln(r)
    rows = r.reshape(-1, 1)
    table = np.zeros((y.shape[0], y_max + 1))
    if y_max:
        np.cumsum(np.log(rows + np.arange(y_max)), axis=1, out=table[:, 1:])
    return np.take_along_axis(table, y.astype(np.intp), axis=1)


def nb_loglik(y, psi, r) -> np.ndarray:
    """Elementwise ``log NB(y; r, sigmoid(ψ))`` (mean ``r e^ψ``).

    Parameters
    ----------
    y : ndarray, shape (N, T)
        Counts.
    psi : ndarray, shape (N, T)
    r : ndarray, shape (N, 1) (or anything broadcasting against ``y``)
    """
    y_arr = np.asarray(y)
    yf = y_arr.astype(float)
    r = np.asarray(r, float)
    log_fact = log_rising_factorial(y_arr, r)
    if log_fact.shape == yf.shape and yf.ndim == 2 and yf.size and yf.min() >= 0 \
            and yf.max() <= _TABLE_MAX_COUNT and np.array_equal(yf, np.floor(yf)):
        log_y_fact = gammaln(np.arange(int(yf.max()) + 2.0))[yf.astype(np.intp) + 1]
    else:
        log_y_fact = gammaln(yf + 1)
    return log_fact - log_y_fact + yf * psi - (yf + r) * softplus(psi)


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
    post_rate = rate + softplus(psi).sum(axis=1)
    return rng.gamma(post_shape, 1.0 / post_rate)
