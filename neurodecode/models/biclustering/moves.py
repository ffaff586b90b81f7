"""Moves along weakly identified directions of the bi-clustering posterior.

Two directions leave the counts' likelihood (almost) unchanged, so one-block-at-a-time
Gibbs updates crawl along them and multi-chain R-hat stays high:

* ``δ_i`` versus the dispersion ``r_i``: the NB mean is ``r_i exp(ψ_it)``, so the
  conditionals of ``r_i`` given ``δ_i`` and of ``δ_i`` given ``r_i`` are both narrow.
  :func:`dispersion_baseline_move` proposes ``(log r_i + u, δ_i - u)`` (mean kept) and
  accepts with the exact NB likelihood.
* a cluster's intercept trajectory ``μ^{(k)}`` versus its members' baselines: adding
  ``s`` to ``μ^{(k)}_t`` for all ``t`` and subtracting it from every member's ``δ_i``
  leaves every ``ψ_it`` unchanged. :func:`cluster_offset_move` draws ``s`` from its exact
  Gaussian conditional (a translation-group Gibbs move, Liu & Wu 1999).

Both are exact: they leave the joint posterior invariant.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

__all__ = ["dispersion_baseline_move", "cluster_offset_move"]


def _nb_loglik_rows(y, psi, r):
    """``Σ_t log NB(y_it; r_i, sigmoid(ψ_it))`` per neuron, without the ``log y!`` term."""
    return (gammaln(y + r[:, None]) - gammaln(r)[:, None] + y * psi
            - (y + r[:, None]) * np.logaddexp(0.0, psi)).sum(axis=1)


def dispersion_baseline_move(y, psi, delta, r, shape: float, rate: float, baseline_mean: float,
                             baseline_var: float, rng: np.random.Generator, step: float = 0.3,
                             n_steps: int = 3):
    """Metropolis moves ``(r_i, δ_i) → (r_i e^u, δ_i - u)`` for all neurons at once.

    The proposal is a symmetric random walk on ``log r`` with the baseline moved the
    opposite way, so the mean count ``r_i exp(ψ_it)`` is unchanged and only the
    dispersion's shape of the likelihood is tested. In ``(r, δ)`` coordinates the
    map has Jacobian ``e^u``, included in the acceptance ratio.

    Parameters
    ----------
    y : ndarray, shape (N, T)
    psi : ndarray, shape (N, T)
        Current linear predictor (``δ_i`` included).
    delta, r : ndarray, shape (N,)
    shape, rate : float
        Gamma prior of ``r`` (shape–rate).
    baseline_mean, baseline_var : float
        Gaussian prior of ``δ``.
    step : float
        Proposal sd of ``u``.
    n_steps : int
        Repeated moves.

    Returns
    -------
    delta, r : ndarray, shape (N,)
        Updated copies.
    n_accepted : ndarray of int, shape (N,)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.poisson(2.0, (3, 20)).astype(float)
    >>> psi = np.full((3, 20), np.log(2.0 / 10.0))
    >>> d, r, acc = dispersion_baseline_move(y, psi, psi[:, 0], np.full(3, 10.0), 1.0, 0.1,
    ...                                      0.0, 4.0, rng)
    >>> d.shape, r.shape
    ((3,), (3,))
    """
    delta = np.array(delta, float)
    r = np.array(r, float)
    offset = psi - delta[:, None]
    accepted = np.zeros(len(r), dtype=np.int64)

    def log_target(d, rr):
        return (_nb_loglik_rows(y, offset + d[:, None], rr) + (shape - 1.0) * np.log(rr)
                - rate * rr - 0.5 * (d - baseline_mean) ** 2 / baseline_var)

    current = log_target(delta, r)
    for _ in range(int(n_steps)):
        u = step * rng.standard_normal(len(r))
        r_new, d_new = r * np.exp(u), delta - u
        proposed = log_target(d_new, r_new)
        accept = np.log(rng.random(len(r))) < proposed - current + u
        r = np.where(accept, r_new, r)
        delta = np.where(accept, d_new, delta)
        current = np.where(accept, proposed, current)
        accepted += accept
    return delta, r, accepted


def cluster_offset_move(x, labels, delta, states, A, b, Q, x0_precision, baseline_mean: float,
                        baseline_var: float, rng: np.random.Generator):
    """Exact Gibbs draw of a shift ``s_k`` between each cluster's intercept and its baselines.

    ``μ^{(k)}_t → μ^{(k)}_t + s_k`` (column 0 of ``x[k]``) and ``δ_i → δ_i - s_k`` for the
    members of cluster ``k``: every linear predictor is unchanged, and ``s_k`` is Gaussian
    under the dynamics prior of ``x[k]`` and the Gaussian prior of ``δ``.

    Parameters
    ----------
    x : ndarray, shape (K, T, d)
        Latents; column 0 is the intercept trajectory.
    labels : ndarray of int, shape (N,)
    delta : ndarray, shape (N,)
    states : ndarray of int, shape (T,)
    A, Q : ndarray, shape (K, S, d, d); b : ndarray, shape (K, S, d)
    x0_precision : ndarray, shape (d, d)
        Prior precision of ``x[k, 0]`` (mean zero).
    baseline_mean, baseline_var : float

    Returns
    -------
    x, delta : updated copies; shift : ndarray, shape (K,)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> K, S, T, d = 2, 2, 10, 2
    >>> x = rng.standard_normal((K, T, d))
    >>> A = np.broadcast_to(0.5 * np.eye(d), (K, S, d, d))
    >>> Q = np.broadcast_to(np.eye(d), (K, S, d, d))
    >>> x2, d2, s = cluster_offset_move(x, np.array([0, 1, 1]), np.zeros(3), np.zeros(T, int),
    ...                                 A, np.zeros((K, S, d)), Q, np.eye(d), 0.0, 4.0, rng)
    >>> s.shape
    (2,)
    """
    x = np.array(x, float)
    delta = np.array(delta, float)
    K, T, d = x.shape
    e0 = np.zeros(d)
    e0[0] = 1.0
    s_t = np.asarray(states)[1:]
    J = np.linalg.inv(Q)                                      # (K, S, d, d)
    g = e0 - A[..., :, 0]                                     # (K, S, d): (I - A) e0
    A_t, b_t, J_t, g_t = A[:, s_t], b[:, s_t], J[:, s_t], g[:, s_t]
    resid = x[:, 1:] - np.einsum("ktab,ktb->kta", A_t, x[:, :-1]) - b_t   # (K, T-1, d)
    Jg = np.einsum("ktab,ktb->kta", J_t, g_t)
    counts = np.bincount(labels, minlength=K)
    dsum = np.bincount(labels, weights=delta - baseline_mean, minlength=K)
    precision = (Jg * g_t).sum((1, 2)) + x0_precision[0, 0] + counts / baseline_var
    linear = -(Jg * resid).sum((1, 2)) - x[:, 0] @ x0_precision[:, 0] + dsum / baseline_var
    shift = linear / precision + rng.standard_normal(K) / np.sqrt(precision)
    x[:, :, 0] += shift[:, None]
    delta -= shift[labels]
    return x, delta, shift
