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

from .latents import _transition_terms, band_from_tiles, pair_table, stacked_band

__all__ = ["collapsed_log_marginal", "CollapsedCache", "hmm_log_prior", "state_runs",
           "propose_interval", "interval_log_prob", "collapsed_state_moves"]

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


def _prior_state_terms(A, b, Q, prior_precision):
    """``K/2 log|P_0|`` and, per state, ``½ Σ_k (log|J_ks| - b_ksᵀ J_ks b_ks)``."""
    K = A.shape[0]
    J, _, _, Jb, _ = _transition_terms(A, b, Q)
    per_state = 0.5 * (np.linalg.slogdet(J)[1] - np.einsum("ksa,ksa->ks", b, Jb)).sum(0)
    return 0.5 * K * np.linalg.slogdet(prior_precision)[1], per_state


class CollapsedCache:
    """Banded factorisations of the current posterior precision, for O(window) proposals.

    For the current ``ξ`` the scaled precision ``M' = S (Λ_ξ + P) S`` (``S`` the
    inverse square root of its diagonal) is factorised twice: left to right
    (``M' = L Lᵀ``) and right to left (the same on the reversed order), with the
    forward solves ``w = L⁻¹ S h̃``. A proposal that changes ``ξ`` only on ``[a, b]``
    changes only the blocks ``lo = max(a - 1, 0)`` to ``hi = b`` of every cluster;
    everything left of ``lo`` and right of ``hi`` enters through the cached factors
    (Schur complements ``L_{lo, lo-1} L_{lo, lo-1}ᵀ``, the partial log-determinants and
    ``‖w‖²``), so :meth:`log_marginal` factorises only the window. Exact: the same value
    as :func:`collapsed_log_marginal` (to rounding). The cache is a plain record of
    arrays; it is rebuilt (``O(T)``) only after an accepted proposal.
    """

    def __init__(self, states, A, b, Q, prior_precision, obs_precision, obs_info,
                 table=None, prior_terms=None):
        K, S, d, _ = A.shape
        self.K, self.S, self.d = K, S, d
        self.T = obs_info.shape[1]
        self.table = pair_table(A, b, Q, prior_precision) if table is None else table
        self.prior_terms = (_prior_state_terms(A, b, Q, prior_precision) if prior_terms is None
                            else prior_terms)
        self.obs_precision, self.obs_info = obs_precision, obs_info
        self.states = np.asarray(states).copy()
        T, n = self.T, K * self.T * d
        tiles = self._tiles(self.states, 0, T - 1)
        ab_t = band_from_tiles(tiles)
        h = tiles[:, :, 3 * d].reshape(-1)
        self.scale = 1.0 / np.sqrt(ab_t[:, 0])
        band = ab_t.T
        scaled = band.copy(order="F")
        for k in range(1, 2 * d):
            scaled[k, : n - k] *= self.scale[k:] * self.scale[: n - k]
        scaled[0] = 1.0
        hs = self.scale * h
        self.chol_f = _factor(scaled)
        self.w_f = dtbtrs(self.chol_f, hs[:, None], uplo="L", trans="N")[0][:, 0]
        rev = np.zeros_like(scaled)
        for k in range(2 * d):
            rev[k, : n - k] = scaled[k, : n - k][::-1]
        self.chol_b = _factor(rev)
        self.w_b = dtbtrs(self.chol_b, hs[::-1, None].copy(), uplo="L", trans="N")[0][:, 0]
        # per cluster and block: partial sums of log-diagonals and squared solves
        ld_f = np.log(self.chol_f[0]).reshape(K, T, d).sum(-1)
        w2_f = (self.w_f**2).reshape(K, T, d).sum(-1)
        ld_b = np.log(self.chol_b[0])[::-1].reshape(K, T, d).sum(-1)
        w2_b = (self.w_b[::-1] ** 2).reshape(K, T, d).sum(-1)
        zero = np.zeros((K, 1))
        self.pre_ld = np.concatenate([zero, np.cumsum(ld_f, 1)], 1)         # blocks < t
        self.pre_w2 = np.concatenate([zero, np.cumsum(w2_f, 1)], 1)
        self.suf_ld = np.concatenate([np.cumsum(ld_b[:, ::-1], 1)[:, ::-1], zero], 1)  # >= t
        self.suf_w2 = np.concatenate([np.cumsum(w2_b[:, ::-1], 1)[:, ::-1], zero], 1)
        self.log_scale = np.log(self.scale).sum()
        self.value = self._assemble(self.states, 2.0 * self.pre_ld[:, -1].sum(),
                                    self.pre_w2[:, -1].sum())

    def _tiles(self, states, lo, hi):
        """Tiles of blocks ``lo..hi`` of every cluster (observation terms added)."""
        S, T, d = self.S, self.T, self.d
        t = np.arange(lo, hi + 1)
        s_in = np.where(t == 0, S, states[t])
        s_out = np.where(t == T - 1, S, states[np.minimum(t + 1, T - 1)])
        tiles = np.take(self.table, s_in * (S + 1) + s_out, axis=1)
        tiles[:, :, :d] += self.obs_precision[:, lo:hi + 1]
        tiles[:, :, 3 * d] += self.obs_info[:, lo:hi + 1]
        return tiles

    def _assemble(self, states, logdet_scaled, quad):
        const, per_state = self.prior_terms
        prior = const + per_state[states[1:]].sum()
        return float(prior - 0.5 * (logdet_scaled - 2.0 * self.log_scale) + 0.5 * quad)

    def log_marginal(self, states, lo: int, hi: int) -> float:
        """:func:`collapsed_log_marginal` for ``states`` equal to the cached ones outside
        the transitions ``lo + 1 .. hi`` (blocks ``lo..hi`` may differ)."""
        K, T, d = self.K, self.T, self.d
        n, nw = K * T * d, hi - lo + 1
        tiles = self._tiles(states, lo, hi)
        tiles[:, -1, d:2 * d] = 0.0  # the coupling to block hi + 1 goes into the Schur term
        idx = (np.arange(K)[:, None] * T + np.arange(lo, hi + 1)[None, :])  # (K, nw) blocks
        rows = (idx[..., None] * d + np.arange(d)).reshape(K, nw * d)
        sc = self.scale[rows].reshape(K, nw, d)
        # scale the tiles by the cached S: Λ[t, t] by s_t s_tᵀ, Λ[t + 1, t] by s_{t+1} s_tᵀ
        tiles[:, :, :d] *= sc[:, :, :, None] * sc[:, :, None, :]
        nxt = np.concatenate([sc[:, 1:], np.ones((K, 1, d))], 1)
        tiles[:, :, d:2 * d] *= nxt[:, :, :, None] * sc[:, :, None, :]
        h = tiles[:, :, 3 * d] * sc                           # (K, nw, d)
        ii, jj = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
        if lo > 0:  # left Schur complement and forward-solve correction, from L
            col = ((idx[:, 0] - 1) * d)[:, None, None] + jj    # column of block lo - 1
            Lc = self.chol_f[d + ii - jj, col]                  # (K, d, d): L[lo, lo - 1]
            tiles[:, 0, :d] -= Lc @ np.swapaxes(Lc, -1, -2)
            h[:, 0] -= np.einsum("kij,kj->ki", Lc, self.w_f[col[:, 0, :]])
        if hi < T - 1:  # right Schur complement, from the reversed factor
            col = n - 1 - (((idx[:, -1] + 1) * d)[:, None, None] + jj)
            Lc = self.chol_b[d + jj - ii, col]                  # (K, d, d)
            tiles[:, -1, :d] -= Lc @ np.swapaxes(Lc, -1, -2)
            h[:, -1] -= np.einsum("kij,kj->ki", Lc, self.w_b[col[:, 0, :]])
        band = band_from_tiles(tiles).T.copy(order="F")
        chol = _factor(band)
        w = dtbtrs(chol, h.reshape(-1, 1), uplo="L", trans="N")[0][:, 0]
        logdet = 2.0 * (self.pre_ld[:, lo].sum() + self.suf_ld[:, hi + 1].sum()
                        + np.log(chol[0]).sum())
        quad = self.pre_w2[:, lo].sum() + self.suf_w2[:, hi + 1].sum() + w @ w
        return self._assemble(states, logdet, quad)


def _factor(band):
    chol, info = dpbtrf(band, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"{info}-th leading minor not positive definite")
    return chol


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
    cache = CollapsedCache(cur, A, b, Q, prior_precision, obs_precision, obs_info)
    log_target = cache.value + hmm_log_prior(cur, log_trans)
    T = len(cur)
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
        if T == 1 or e == 0:  # only ξ_0 changes: it governs no latent step
            log_marg = cache.value
        else:
            log_marg = cache.log_marginal(prop, max(a - 1, 0), e)
        log_prop = log_marg + hmm_log_prior(prop, log_trans)
        if np.log(rng.random()) < log_prop - log_target + log_q_rev - log_q_fwd:
            cur = prop
            accepted += 1
            cache = CollapsedCache(cur, A, b, Q, prior_precision, obs_precision, obs_info,
                                   table=cache.table, prior_terms=cache.prior_terms)
            log_target = cache.value + hmm_log_prior(cur, log_trans)
    return cur, accepted
