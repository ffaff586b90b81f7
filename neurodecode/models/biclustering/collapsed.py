"""Collapsed Metropolis–Hastings moves on the state sequence, latents integrated out.

Given the Pólya-Gamma variables ``ω`` (and baselines, loadings, labels, dynamics
``(A, b, Q)`` and transitions ``π``), the counts enter the latents only through
the Gaussian factor ``exp(-½ Xᵀ P X + hᵀ X)`` (:func:`.sampler.observation_terms`),
and ``X | ξ`` is Gaussian, so

``Z(ξ) = ∫ p(X | ξ) exp(-½ Xᵀ P X + hᵀ X) dX``

is available in closed form from one banded Cholesky factorisation of the
posterior precision ``Λ_ξ + P``. With ``Λ_ξ = Bᵀ D B`` (``B`` unit lower block
bidiagonal), ``|Λ_ξ| = |P_0| Π_t |Q_{ξ_t}|⁻¹`` needs no factorisation, and

``log Z(ξ) = K/2 log|P_0| + ½ Σ_{k,t≥1} (log|J_{k ξ_t}| - b_{k ξ_t}ᵀ J_{k ξ_t} b_{k ξ_t})
- ½ log|Λ_ξ + P| + ½ h̃ᵀ (Λ_ξ + P)⁻¹ h̃``

with ``J = Q⁻¹`` and ``h̃`` the prior plus observation information (exact, the
``2π`` factors cancel). The move proposes to set one interval ``[a, b]`` lying
inside a single run of ``ξ`` to another state (a whole run: relabel or merge
with its neighbours; a run's head or tail: shift a boundary; an interior piece:
split), and accepts with the exact ratio of ``Z(ξ) p(ξ | π)`` times the proposal
ratio. The neighbourhood is symmetric (in ``ξ'`` the interval is constant, so it
lies in one run and setting it back is a proposal of the same family), and every
interval arises from exactly one kind of proposal, so the proposal probabilities
are computed exactly in both directions. Followed by ``X ~ p(X | ξ, ω, …)`` this
is a valid blocked update of ``(ξ, X)``, far better at moving whole segments than
alternating ``ξ | X`` and ``X | ξ``, which are strongly coupled.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.lapack import dpbtrf, dtbtrs

from .latents import _transition_terms, stacked_band

__all__ = ["collapsed_log_marginal", "hmm_log_prior", "state_runs", "propose_interval",
           "interval_log_prob", "collapsed_state_moves"]

#: probabilities of proposing a whole run, its head, its tail, an interior piece
_KIND_PROBS = np.array([0.4, 0.2, 0.2, 0.2])


def collapsed_log_marginal(states, A, b, Q, prior_precision, obs_precision, obs_info) -> float:
    """``log ∫ p(X | ξ) exp(-½ Xᵀ P X + hᵀ X) dX`` for switching linear dynamics.

    Parameters
    ----------
    states : ndarray of int, shape (T,)
        ``ξ``; ``states[t]`` governs the step ``x_{t-1} → x_t`` (``states[0]`` nothing).
    A, Q : ndarray, shape (K, S, d, d); b : ndarray, shape (K, S, d)
    prior_precision : ndarray, shape (d, d)
        Precision ``P_0`` of ``x_0 ~ N(0, P_0⁻¹)``.
    obs_precision : ndarray, shape (K, T, d, d)
        ``P`` per cluster and bin (block diagonal).
    obs_info : ndarray, shape (K, T, d)
        ``h`` per cluster and bin.

    Returns
    -------
    float

    Examples
    --------
    >>> K, S, T, d = 1, 1, 3, 1
    >>> A = np.zeros((K, S, d, d)); b = np.zeros((K, S, d)); Q = np.ones((K, S, d, d))
    >>> P = np.zeros((K, T, d, d)); h = np.zeros((K, T, d))
    >>> round(collapsed_log_marginal(np.zeros(T, int), A, b, Q, np.eye(d), P, h), 12)
    0.0
    """
    K, S, d, _ = A.shape
    s = np.asarray(states)
    ab_t, h = stacked_band(s, A, b, Q, prior_precision, obs_precision, obs_info)
    n, bands = ab_t.shape
    scale = 1.0 / np.sqrt(ab_t[:, 0])
    band = ab_t.T
    for k in range(1, min(bands, n)):
        band[k, : n - k] *= scale[k:] * scale[: n - k]
    band[0] = 1.0
    chol, info = dpbtrf(band, lower=1, overwrite_ab=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"{info}-th leading minor not positive definite")
    w, info = dtbtrs(chol, (scale * h)[:, None], uplo="L", trans="N", overwrite_b=1)
    # log|Λ + P| = log|Λ'| - 2 Σ log scale, Λ' = S Λ S = L Lᵀ
    logdet_post = 2.0 * np.log(chol[0]).sum() - 2.0 * np.log(scale).sum()
    J, _, _, Jb, _ = _transition_terms(A, b, Q)
    sign, logdet_J = np.linalg.slogdet(J)                 # (K, S)
    bJb = np.einsum("ksa,ksa->ks", b, Jb)                 # (K, S)
    occ = np.bincount(s[1:], minlength=S).astype(float)   # steps per state
    prior_terms = 0.5 * K * np.linalg.slogdet(prior_precision)[1] + 0.5 * (
        (logdet_J - bJb) @ occ).sum()
    return float(prior_terms - 0.5 * logdet_post + 0.5 * float(w[:, 0] @ w[:, 0]))


def hmm_log_prior(states, log_trans) -> float:
    """``log p(ξ | π)``: uniform initial state, then ``Σ_t log π[ξ_{t-1}, ξ_t]``."""
    s = np.asarray(states)
    return float(-np.log(log_trans.shape[0]) + log_trans[s[:-1], s[1:]].sum())


def state_runs(states):
    """Maximal constant runs of ``states``: ``(starts, ends)`` inclusive, each shape (R,).

    Examples
    --------
    >>> state_runs(np.array([0, 0, 1, 1, 1, 0]))
    (array([0, 2, 5]), array([1, 4, 5]))
    """
    s = np.asarray(states)
    change = np.flatnonzero(s[1:] != s[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change - 1, [len(s) - 1]])
    return starts, ends


def _state_log_prob(cur, new, log_w):
    """``log q(new | cur)``: state weights ``w`` renormalised over states other than ``cur``."""
    return float(log_w[new] - np.log1p(-np.exp(log_w[cur])))


def interval_log_prob(states, a: int, b: int, max_edge: int, max_interior: int) -> float:
    """``log`` probability that :func:`propose_interval` picks ``[a, b]`` from ``states``.

    ``[a, b]`` must lie inside one run of ``states`` (otherwise ``-inf``).
    """
    starts, ends = state_runs(states)
    j = int(np.searchsorted(starts, a, side="right") - 1)
    s, e = int(starts[j]), int(ends[j])
    if b > e:
        return -np.inf
    n = e - s + 1
    out = -np.log(len(starts))
    if a == s and b == e:
        return out + np.log(_KIND_PROBS[0])
    length = b - a + 1
    if a == s or b == e:  # head or tail (never the whole run)
        m = min(max_edge, n - 1)
        if length > m:
            return -np.inf
        return out + np.log(_KIND_PROBS[1 if a == s else 2]) - np.log(m)
    m = min(max_interior, n - 2)
    if length > m:
        return -np.inf
    return out + np.log(_KIND_PROBS[3]) - np.log(m) - np.log(n - 1 - length)


def propose_interval(states, rng: np.random.Generator, max_edge: int, max_interior: int):
    """Draw an interval ``[a, b]`` inside one run: a whole run, its head, tail or an interior piece.

    Returns
    -------
    (a, b) : tuple of int, or None
        None when the drawn kind does not fit the drawn run (too short): a no-op proposal.
    """
    starts, ends = state_runs(states)
    j = int(rng.integers(len(starts)))
    s, e = int(starts[j]), int(ends[j])
    n = e - s + 1
    kind = int(rng.choice(4, p=_KIND_PROBS))
    if kind == 0:
        return s, e
    if kind in (1, 2):
        m = min(max_edge, n - 1)
        if m < 1:
            return None
        length = int(rng.integers(1, m + 1))
        return (s, s + length - 1) if kind == 1 else (e - length + 1, e)
    m = min(max_interior, n - 2)
    if m < 1:
        return None
    length = int(rng.integers(1, m + 1))
    a = int(rng.integers(s + 1, e - length + 1))
    return a, a + length - 1


def collapsed_state_moves(states, A, b, Q, prior_precision, obs_precision, obs_info, log_trans,
                          state_weights, n_proposals: int, rng: np.random.Generator,
                          max_edge: int = 15, max_interior: int = 60):
    """``n_proposals`` MH updates of ``ξ`` targeting ``p(ξ | ω, rest)``, latents integrated.

    Parameters
    ----------
    states : ndarray of int, shape (T,)
    A, b, Q, prior_precision, obs_precision, obs_info
        As in :func:`collapsed_log_marginal`.
    log_trans : ndarray, shape (S, S)
        Log transition matrix (``[i, j]``: from ``i`` to ``j``).
    state_weights : ndarray, shape (S,)
        Positive weights for choosing the proposed state (fixed during the move, e.g. the
        global HDP weights ``β`` plus a floor); renormalised over the other states.
    n_proposals : int
    max_edge, max_interior : int
        Longest head/tail piece (boundary shift) and interior piece (split) proposed.

    Returns
    -------
    states : ndarray of int, shape (T,)
        The new sequence (the input is not modified).
    n_accepted : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> K, S, T, d = 1, 2, 20, 1
    >>> A = np.array([[[[0.1]], [[0.95]]]]); b = np.zeros((K, S, d)); Q = np.full((K, S, d, d), .1)
    >>> P = np.full((K, T, d, d), 4.0); h = rng.standard_normal((K, T, d))
    >>> s, n_acc = collapsed_state_moves(np.zeros(T, int), A, b, Q, np.eye(d), P, h,
    ...                                  np.log([[0.9, 0.1], [0.1, 0.9]]), np.ones(S), 5, rng)
    >>> s.shape
    (20,)
    """
    cur = np.array(states, dtype=np.int64)
    S = A.shape[1]
    if S < 2 or n_proposals <= 0:
        return cur, 0
    w = np.asarray(state_weights, float)
    log_w = np.log(w / w.sum())
    log_target = collapsed_log_marginal(cur, A, b, Q, prior_precision, obs_precision,
                                        obs_info) + hmm_log_prior(cur, log_trans)
    accepted = 0
    for _ in range(int(n_proposals)):
        iv = propose_interval(cur, rng, max_edge, max_interior)
        if iv is None:
            continue
        a, e = iv
        old = int(cur[a])
        p = np.exp(log_w)
        p[old] = 0.0
        new = int(rng.choice(S, p=p / p.sum()))
        prop = cur.copy()
        prop[a:e + 1] = new
        log_q_fwd = interval_log_prob(cur, a, e, max_edge, max_interior) + \
            _state_log_prob(old, new, log_w)
        log_q_rev = interval_log_prob(prop, a, e, max_edge, max_interior) + \
            _state_log_prob(new, old, log_w)
        if not np.isfinite(log_q_rev):  # the reverse piece exceeds the length caps: reject
            continue
        log_prop = collapsed_log_marginal(prop, A, b, Q, prior_precision, obs_precision,
                                          obs_info) + hmm_log_prior(prop, log_trans)
        if np.log(rng.random()) < log_prop - log_target + log_q_rev - log_q_fwd:
            cur, log_target = prop, log_prop
            accepted += 1
    return cur, accepted
