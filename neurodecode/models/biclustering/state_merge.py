"""Merge/split Metropolis–Hastings moves on whole HMM states, dynamics and transitions integrated.

Given the latents ``X`` (and the global state weights ``β`` and sticky parameters
``(α, κ)``), the dynamics ``(A, b, Q)`` of every cluster and state have conjugate MNIW
priors and the transition rows ``π_i ~ Dir(α β + κ e_i)`` Dirichlet priors, so both
integrate out in closed form:

``p(ξ | X, β) ∝ p(ξ | β, α, κ) Π_{k,s} ML(x_k on the steps with ξ_t = s)``

with ``p(ξ | β, α, κ) = (1/L) Π_i Γ(α+κ)/Γ(α+κ+n_i·) Π_j Γ(a_ij + n_ij)/Γ(a_ij)``
(``a_ij = α β_j + κ δ_ij``, ``n`` the transition counts) and ``ML`` the MNIW evidence
of a Bayesian linear regression (:func:`mniw_log_evidence`). An unoccupied state
contributes nothing, so relabellings are free and the number of occupied states can
change by whole-state moves:

* merge: pick an ordered pair ``(i, j)`` of occupied states and anchors
  ``t1 ∈ {ξ = i}``, ``t2 ∈ {ξ = j}``; relabel every bin of ``j`` to ``i``;
* split: pick an occupied state ``i``, ordered anchors ``t1 ≠ t2`` among its bins and
  an empty state ``j``; pilot dynamics are fitted (MNIW posterior means) to the steps
  of ``i`` within ``window`` bins of each anchor, and the bins of ``i`` are re-allocated
  to ``{i, j}`` by forward-filter backward-sample of a two-label HMM restricted to those
  bins (pilot emissions, prior-mean sticky transitions, ``t1`` forced to ``i`` and
  ``t2`` to ``j``).

The split of the merged sequence with the same ``(i, j, t1, t2)`` is the reverse of a
merge (the pilots depend only on the merged sequence and the anchors), and the
restricted FFBS probability of any allocation is computed exactly, so the
acceptance ratio is exact. This is a move on ``ξ`` with ``(A, b, Q)`` and ``π``
integrated out: it must be followed by fresh draws of ``π`` (and ``β``) given ``ξ``
and of ``(A, b, Q)`` given ``(X, ξ)`` before anything conditions on them (the sampler
does exactly that right after it).

Measured on the paper's simulation (seeds 0-2, 300 iterations, 2 proposals per
iteration): 10 of 1,768 proposals accepted. Given the latents, the states are far
from exchangeable: the latents were drawn under the current segmentation and carry its
dynamics, so merging even a 4-bin state costs 8-19 nats of evidence and a substantial
one (39 bins over 4 runs) 190-240; random splits lose 12-100 nats to the Occam factor
of a new state's 54 dynamics parameters and 6-60 to the transitions into it. A variant
with the latents integrated out instead (given ω; the new state's dynamics proposed from
their posterior given the current latents) accepted 1 of 1,760 (history: b029e20).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from .hmm import emission_loglik, transition_counts
from .mniw import mniw_log_evidence, mniw_posterior, regression_stats

__all__ = ["mniw_log_evidence", "hmm_log_marginal", "merge_split_log_target",
           "split_log_prob", "state_merge_moves"]


def hmm_log_marginal(states, beta, alpha: float, kappa: float) -> float:
    """``log p(ξ | β, α, κ)`` of the weak-limit sticky HDP-HMM, rows ``π_i`` integrated out.

    Uniform initial state over ``L = len(beta)``; ``π_i ~ Dir(α β + κ e_i)``.

    Examples
    --------
    >>> round(hmm_log_marginal(np.array([0]), np.array([0.5, 0.5]), 1.0, 0.0), 6)
    -0.693147
    """
    L = len(beta)
    counts = transition_counts(np.asarray(states), L)
    a = alpha * np.asarray(beta)[None, :] + kappa * np.eye(L)
    used = counts > 0
    out = -np.log(L) + float((gammaln(alpha + kappa) - gammaln(alpha + kappa + counts.sum(1))
                              ).sum())
    return float(out + (gammaln(a[used] + counts[used]) - gammaln(a[used])).sum())


def _step_stats(x, steps):
    """MNIW statistics (K, ·) of the steps ``t`` (``x_{t-1} → x_t``) in ``steps``."""
    in_steps = np.ones(x.shape[1], dtype=np.int64)
    in_steps[steps] = 0
    Sxx, Syx, Syy, n = regression_stats(x, in_steps, 2)
    return Sxx[:, 0], Syx[:, 0], Syy[:, 0], float(n[0])


def _states_log_evidence(x, states, labels, prior) -> float:
    """``Σ_k Σ_{s ∈ labels} log ML`` of the steps with ``ξ_t = s``."""
    s = np.asarray(states)
    total = 0.0
    for lab in labels:
        steps = np.flatnonzero(s[1:] == lab) + 1
        if len(steps) == 0:
            continue
        total += float(mniw_log_evidence(*_step_stats(x, steps), prior.M0, prior.V0,
                                         prior.Psi0, prior.nu0).sum())
    return total


def merge_split_log_target(states, x, beta, alpha, kappa, prior) -> float:
    """``log p(ξ | X, β, α, κ)`` up to a constant (dynamics and transition rows integrated).

    Parameters
    ----------
    states : ndarray of int, shape (T,)
    x : ndarray, shape (K, T, d)
    beta : ndarray, shape (L,)
    alpha, kappa : float
    prior : DynamicsPrior
        ``M0, V0, Psi0, nu0`` of the MNIW prior.
    """
    s = np.asarray(states)
    return hmm_log_marginal(s, beta, alpha, kappa) + _states_log_evidence(
        x, s, np.unique(s[1:]), prior)


def _pilots(x, bins, anchors, window: int, prior):
    """Pilot dynamics (K, 2, ·): MNIW posterior means on the steps in ``bins`` near each anchor."""
    K, _, d = x.shape
    A = np.empty((K, 2, d, d))
    b = np.empty((K, 2, d))
    Q = np.empty((K, 2, d, d))
    for c, t in enumerate(anchors):
        near = bins[(np.abs(bins - t) <= window) & (bins >= 1)]
        Mn, _, Psin, nun = mniw_posterior(*_step_stats(x, near), prior.M0, prior.V0,
                                          prior.Psi0, prior.nu0)
        A[:, c], b[:, c] = Mn[..., :d], Mn[..., d]
        Q[:, c] = Psin / (np.asarray(nun)[..., None, None] - d - 1)
    return A, b, Q


def _logaddexp(a, b):
    m = a if a > b else b
    if m == -math.inf:
        return m
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def _restricted_ffbs(states, bins, i, j, emis, log_p, forced, rng, target=None):
    """FFBS over the bins of the merged state ``i`` with labels ``{i, j}``; others fixed.

    ``emis`` (T, 2) pilot log-likelihoods (column 0 label ``i``, 1 label ``j``),
    ``log_p`` (L, L) proposal log transitions, ``forced`` a dict ``bin -> column``.
    Draws an allocation (``target is None``) or scores ``target`` (a full sequence).

    Returns
    -------
    (new_states, log_q) : the allocation and its log proposal probability.
    """
    T = len(states)
    out = np.array(states, copy=True)
    lab = (i, j)
    log_q = 0.0
    # maximal runs of the bins (consecutive indices)
    cut = np.flatnonzero(np.diff(bins) > 1)
    run_starts = np.concatenate([[0], cut + 1])
    run_ends = np.concatenate([cut, [len(bins) - 1]])
    lp = log_p.tolist()
    em = emis.tolist()
    for rs, re in zip(run_starts, run_ends, strict=True):
        ts = bins[rs:re + 1].tolist()
        left = int(states[ts[0] - 1]) if ts[0] > 0 else None
        right = int(states[ts[-1] + 1]) if ts[-1] < T - 1 else None
        fwd = []
        prev = None
        for t in ts:
            e = em[t]
            cur = [0.0, 0.0]
            for c in (0, 1):
                if forced.get(t, c) != c:
                    cur[c] = -math.inf
                    continue
                if prev is None:
                    v = lp[left][lab[c]] if left is not None else 0.0
                else:
                    v = _logaddexp(prev[0] + lp[i][lab[c]], prev[1] + lp[j][lab[c]])
                cur[c] = v + e[c]
            fwd.append(cur)
            prev = cur
        last = list(prev)
        if right is not None:
            last = [last[0] + lp[i][right], last[1] + lp[j][right]]
        # backward: sample (or score) columns from the end
        nxt = None
        for pos in range(len(ts) - 1, -1, -1):
            f = fwd[pos]
            if nxt is None:
                w = last
            else:
                w = [f[0] + lp[i][lab[nxt]], f[1] + lp[j][lab[nxt]]]
            norm = _logaddexp(w[0], w[1])
            if target is None:
                c = 0 if rng.random() < math.exp(w[0] - norm) else 1
            else:
                c = 0 if target[ts[pos]] == i else 1
            if w[c] == -math.inf:
                return out, -math.inf
            log_q += w[c] - norm
            out[ts[pos]] = lab[c]
            nxt = c
    return out, log_q


def _proposal_log_trans(beta, alpha, kappa):
    L = len(beta)
    return np.log((alpha * np.asarray(beta)[None, :] + kappa * np.eye(L)) / (alpha + kappa))


def split_log_prob(merged, x, i, j, t1, t2, target, beta, alpha, kappa, prior,
                   window: int = 10) -> float:
    """``log`` probability that the split of state ``i`` (anchors ``t1, t2``, new label ``j``)
    of ``merged`` produces ``target`` (allocation step only)."""
    bins = np.flatnonzero(merged == i)
    A, b, Q = _pilots(x, bins, (t1, t2), window, prior)
    emis = emission_loglik(x, A, b, Q)
    return _restricted_ffbs(merged, bins, i, j, emis, _proposal_log_trans(beta, alpha, kappa),
                            {t1: 0, t2: 1}, None, target=target)[1]


def state_merge_moves(states, x, beta, alpha: float, kappa: float, prior, n_proposals: int,
                      rng: np.random.Generator, window: int = 10):
    """``n_proposals`` merge/split MH updates of ``ξ`` targeting ``p(ξ | X, β, α, κ)``.

    Parameters
    ----------
    states : ndarray of int, shape (T,)
    x : ndarray, shape (K, T, d)
        Latents.
    beta : ndarray, shape (L,)
        Global state weights (``L`` labels).
    alpha, kappa : float
        Sticky HDP-HMM concentration and self-transition bias.
    prior : DynamicsPrior
        MNIW prior of the dynamics.
    n_proposals : int
    window : int
        Half-width (bins) of the anchor windows the split's pilot dynamics are fitted to.

    Returns
    -------
    states : ndarray of int, shape (T,)
        New sequence (the input is not modified).
    stats : dict
        ``merge_proposed, merge_accepted, split_proposed, split_accepted``.

    Examples
    --------
    >>> from neurodecode.models.biclustering.labels import DynamicsPrior
    >>> rng = np.random.default_rng(0)
    >>> x = 0.1 * rng.standard_normal((1, 30, 2))
    >>> s, st = state_merge_moves(np.repeat([0, 1], 15), x, np.full(3, 1 / 3), 1.0, 5.0,
    ...                           DynamicsPrior(2), 4, rng)
    >>> s.shape, sorted(st)
    ((30,), ['merge_accepted', 'merge_proposed', 'split_accepted', 'split_proposed'])
    """
    cur = np.array(states, dtype=np.int64)
    L = len(beta)
    stats = dict(merge_proposed=0, merge_accepted=0, split_proposed=0, split_accepted=0)
    if L < 2 or n_proposals <= 0:
        return cur, stats
    log_p = _proposal_log_trans(beta, alpha, kappa)
    for _ in range(int(n_proposals)):
        occ = np.bincount(cur, minlength=L)
        occupied = np.flatnonzero(occ)
        m = len(occupied)
        if rng.random() < 0.5:  # merge j into i
            if m < 2:
                continue
            i, j = (int(v) for v in rng.choice(occupied, 2, replace=False))
            t1 = int(rng.choice(np.flatnonzero(cur == i)))
            t2 = int(rng.choice(np.flatnonzero(cur == j)))
            prop = cur.copy()
            prop[prop == j] = i
            n_ij = occ[i] + occ[j]
            log_q_fwd = -np.log(m * (m - 1)) - np.log(occ[i]) - np.log(occ[j])
            log_q_rev = (-np.log(m - 1) - np.log(n_ij * (n_ij - 1)) - np.log(L - m + 1)
                         + split_log_prob(prop, x, i, j, t1, t2, cur, beta, alpha, kappa,
                                          prior, window))
            kind = "merge"
        else:  # split i, the bins of the new label j
            if m == L:
                continue
            i = int(rng.choice(occupied))
            if occ[i] < 2:
                continue
            bins = np.flatnonzero(cur == i)
            t1, t2 = (int(v) for v in rng.choice(bins, 2, replace=False))
            j = int(rng.choice(np.flatnonzero(occ == 0)))
            A, b, Q = _pilots(x, bins, (t1, t2), window, prior)
            prop, log_alloc = _restricted_ffbs(cur, bins, i, j, emission_loglik(x, A, b, Q),
                                               log_p, {t1: 0, t2: 1}, rng)
            n_i, n_j = int((prop == i).sum()), int((prop == j).sum())
            log_q_fwd = (-np.log(m) - np.log(occ[i] * (occ[i] - 1)) - np.log(L - m)
                         + log_alloc)
            log_q_rev = -np.log((m + 1) * m) - np.log(n_i) - np.log(n_j)
            kind = "split"
        stats[kind + "_proposed"] += 1
        changed = np.unique(np.concatenate([cur[cur != prop], prop[cur != prop], [i]]))
        log_ratio = (hmm_log_marginal(prop, beta, alpha, kappa)
                     - hmm_log_marginal(cur, beta, alpha, kappa)
                     + _states_log_evidence(x, prop, changed, prior)
                     - _states_log_evidence(x, cur, changed, prior)
                     + log_q_rev - log_q_fwd)
        if np.log(rng.random()) < log_ratio:
            cur = prop
            stats[kind + "_accepted"] += 1
    return cur, stats

