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
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from .hmm import emission_loglik, transition_counts
from .mniw import mniw_posterior

__all__ = ["mniw_log_evidence", "hmm_log_marginal", "merge_split_log_target", "mniw_log_density",
           "collapsed_merge_split_moves",
           "split_log_prob", "state_merge_moves"]


def _multigammaln(a, d: int):
    a = np.asarray(a, float)
    return 0.25 * d * (d - 1) * np.log(np.pi) + sum(gammaln(a - 0.5 * j) for j in range(d))


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
            + _multigammaln(0.5 * nun, d) - _multigammaln(0.5 * nu0, d))


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
    K, _, d = x.shape
    u = np.concatenate([x[:, steps - 1], np.ones((K, len(steps), 1))], axis=-1)
    y = x[:, steps]
    return (np.einsum("kta,ktb->kab", u, u), np.einsum("kta,ktb->kab", y, u),
            np.einsum("kta,ktb->kab", y, y), float(len(steps)))


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
        log_z = _logaddexp(last[0], last[1])
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
        del log_z
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


# ---------------------------------------------------------------------------------------------
# Merge/split with the latents integrated out (given ω) and the dynamics of the moved state
# proposed; the other states' dynamics and the transitions held.


def mniw_log_density(A, b, Q, M, V, Psi, nu):
    """``log MNIW(W = [A b], Q; M, V, Ψ, ν)`` (``Q ~ IW(Ψ, ν)``, ``W | Q ~ MN(M, Q, V)``).

    Parameters
    ----------
    A : ndarray, shape (..., d, d); b : ndarray, shape (..., d); Q : ndarray, shape (..., d, d)
    M : ndarray, shape (..., d, d+1); V : ndarray, shape (..., d+1, d+1)
    Psi : ndarray, shape (..., d, d); nu : ndarray or float, shape (...)

    Returns
    -------
    ndarray, shape (...)

    Examples
    --------
    >>> d = 1
    >>> v = mniw_log_density(np.zeros((d, d)), np.zeros(d), np.eye(d), np.zeros((d, d + 1)),
    ...                      np.eye(d + 1), np.eye(d), 3.0)
    >>> bool(np.isfinite(v))
    True
    """
    d = Q.shape[-1]
    q = d + 1
    nu = np.asarray(nu, float)
    W = np.concatenate([A, b[..., None]], axis=-1)
    _, ld_q = np.linalg.slogdet(Q)
    _, ld_psi = np.linalg.slogdet(Psi)
    _, ld_v = np.linalg.slogdet(V)
    Qi = np.linalg.inv(Q)
    log_iw = (0.5 * nu * ld_psi - 0.5 * nu * d * np.log(2.0) - _multigammaln(0.5 * nu, d)
              - 0.5 * (nu + d + 1) * ld_q - 0.5 * np.einsum("...ij,...ji->...", Psi, Qi))
    R = W - M
    quad = np.einsum("...ij,...jk,...kl,...li->...", np.linalg.inv(V), np.swapaxes(R, -1, -2),
                     Qi, R)
    log_mn = -0.5 * d * q * np.log(2 * np.pi) - 0.5 * q * ld_q - 0.5 * d * ld_v - 0.5 * quad
    return log_iw + log_mn


def _theta_posterior(x, steps, prior):
    """MNIW posterior parameters (K, ·) of one state's dynamics from the steps ``steps``."""
    return mniw_posterior(*_step_stats(x, steps), prior.M0, prior.V0, prior.Psi0, prior.nu0)


def _split_allocation(states, x, A, b, Q, i, j, t1, t2, log_trans, prior, window, rng,
                      target=None):
    """Split proposal of state ``i`` into ``{i, j}`` given the latents ``x``.

    Restricted FFBS over the bins of ``i``: label ``i`` scored by its own dynamics
    ``(A, b, Q)[:, i]``, label ``j`` by pilot dynamics (MNIW posterior mean) fitted to the
    steps of ``i`` within ``window`` bins of anchor ``t2``; transitions ``log_trans``;
    ``t1`` forced to ``i``, ``t2`` to ``j``. Draws (``target`` None) or scores ``target``.
    """
    d = x.shape[-1]
    bins = np.flatnonzero(states == i)
    near = bins[(np.abs(bins - t2) <= window) & (bins >= 1)]
    Mn, _, Psin, nun = _theta_posterior(x, near, prior)
    A2 = np.stack([A[:, i], Mn[..., :d]], axis=1)
    b2 = np.stack([b[:, i], Mn[..., d]], axis=1)
    Q2 = np.stack([Q[:, i], Psin / (np.asarray(nun)[..., None, None] - d - 1)], axis=1)
    emis = emission_loglik(x, A2, b2, Q2)
    return _restricted_ffbs(states, bins, i, j, emis, log_trans, {t1: 0, t2: 1}, rng,
                            target=target)


def collapsed_merge_split_moves(states, x, A, b, Q, prior, obs_precision, obs_info, log_trans,
                                n_proposals: int, rng: np.random.Generator, window: int = 5):
    """Merge/split MH updates of ``(ξ, A_j, b_j, Q_j, X)`` with the latents integrated out.

    Target: ``p(ξ, θ | ω, π, rest) ∝ Z(ξ, θ) p(ξ | π) Π_s p0(θ_s)`` with ``Z`` the latent
    integral of :func:`.collapsed.collapsed_log_marginal` (``θ = (A, b, Q)``; an empty
    state's ``θ`` is a prior draw). Proposals, each with probability ½:

    * merge: ordered pair ``(i, j)`` of occupied states, anchors ``t1 ∈ {ξ = i}``,
      ``t2 ∈ {ξ = j}``; relabel ``j → i``; ``θ_j ~ p0`` (the state is now empty);
    * split: occupied ``i``, ordered anchors ``t1 ≠ t2`` among its bins, empty ``j``;
      allocate the bins of ``i`` by :func:`_split_allocation` on the current latents,
      then ``θ_j ~`` its MNIW posterior given the latents on the steps allocated to ``j``.

    The split's proposal uses the latents, so ``X`` is a state variable of the move: the
    current ``x`` must be a draw of ``p(X | ξ, θ, ω)`` (call this right after the latent
    draw), and a merge draws ``X' ~ p(X | ξ', θ, ω)`` to score its reverse split; the
    acceptance ratio is then ``Z(ξ', θ') p(ξ' | π) / (Z(ξ, θ) p(ξ | π))`` times the
    proposal ratio with ``p0`` of the moved ``θ_j`` cancelling against the prior draw
    (auxiliary-variable MH; exact). Accepted moves return the latents they drew
    (``X'`` ~ ``p(X | ξ', θ', ω)``).

    Parameters
    ----------
    states : ndarray of int, shape (T,)
    x : ndarray, shape (K, T, d)
        Latents, a draw given ``states``, the dynamics and ``ω``.
    A, b, Q : ndarray, shapes (K, L, d, d), (K, L, d), (K, L, d, d)
    prior : DynamicsPrior
    obs_precision, obs_info : ndarray, shapes (K, T, d, d), (K, T, d)
        Observation terms given ``ω`` (:func:`.sampler.observation_terms`).
    log_trans : ndarray, shape (L, L)
    n_proposals : int
    window : int
        Half-width (bins) of the window around anchor ``t2`` for the split's pilot dynamics.

    Returns
    -------
    states, x, A, b, Q : the new values (inputs not modified)
    stats : dict
        ``merge_proposed, merge_accepted, split_proposed, split_accepted``.

    Examples
    --------
    >>> from neurodecode.models.biclustering.labels import DynamicsPrior
    >>> rng = np.random.default_rng(0)
    >>> K, L, T, d = 1, 3, 30, 2
    >>> pr = DynamicsPrior(d)
    >>> A, b = np.zeros((K, L, d, d)), np.zeros((K, L, d))
    >>> Q = np.tile(0.1 * np.eye(d), (K, L, 1, 1))
    >>> P = np.tile(np.eye(d), (K, T, 1, 1)); h = rng.standard_normal((K, T, d))
    >>> s0 = np.repeat([0, 1], 15)
    >>> x = rng.standard_normal((K, T, d))
    >>> out = collapsed_merge_split_moves(s0, x, A, b, Q, pr, P, h, np.log(np.full((L, L), 1 / L)),
    ...                                   3, rng)
    >>> out[0].shape, out[1].shape
    ((30,), (1, 30, 2))
    """
    from .collapsed import collapsed_log_marginal, hmm_log_prior
    from .latents import sample_latents
    from .mniw import sample_mniw

    cur = np.array(states, dtype=np.int64)
    x, A, b, Q = (np.array(v, dtype=float) for v in (x, A, b, Q))
    K, L, d, _ = A.shape
    P0 = prior.x0_precision
    stats = dict(merge_proposed=0, merge_accepted=0, split_proposed=0, split_accepted=0)
    if L < 2 or n_proposals <= 0:
        return cur, x, A, b, Q, stats

    def log_target(s, A_, b_, Q_):
        return (collapsed_log_marginal(s, A_, b_, Q_, P0, obs_precision, obs_info)
                + hmm_log_prior(s, log_trans))

    current = log_target(cur, A, b, Q)
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
            A2, b2, Q2 = A.copy(), b.copy(), Q.copy()
            A2[:, j], b2[:, j], Q2[:, j] = sample_mniw(
                np.broadcast_to(prior.M0, (K, d, d + 1)),
                np.broadcast_to(prior.V0, (K, d + 1, d + 1)),
                np.broadcast_to(prior.Psi0, (K, d, d)), np.full(K, prior.nu0), rng)
            x2 = sample_latents(prop, A2, b2, Q2, P0, obs_precision, obs_info, rng)
            # reverse split from (prop, x2): allocation of cur, then θ_j(old) from its posterior
            _, log_alloc = _split_allocation(prop, x2, A2, b2, Q2, i, j, t1, t2, log_trans,
                                             prior, window, None, target=cur)
            steps = np.flatnonzero(cur[1:] == j) + 1
            post = _theta_posterior(x2, steps, prior)
            log_q_theta = float(mniw_log_density(A[:, j], b[:, j], Q[:, j], *post).sum())
            log_p0 = float(mniw_log_density(A[:, j], b[:, j], Q[:, j], prior.M0, prior.V0,
                                            prior.Psi0, prior.nu0).sum())
            n_ij = occ[i] + occ[j]
            log_q_fwd = -np.log(m * (m - 1)) - np.log(occ[i]) - np.log(occ[j])
            log_q_rev = (-np.log(m - 1) - np.log(n_ij * (n_ij - 1)) - np.log(L - m + 1)
                         + log_alloc + log_q_theta - log_p0)
            kind = "merge"
        else:  # split i: bins to the empty state j, θ_j from its posterior given x
            if m == L:
                continue
            i = int(rng.choice(occupied))
            if occ[i] < 2:
                continue
            t1, t2 = (int(v) for v in rng.choice(np.flatnonzero(cur == i), 2, replace=False))
            j = int(rng.choice(np.flatnonzero(occ == 0)))
            prop, log_alloc = _split_allocation(cur, x, A, b, Q, i, j, t1, t2, log_trans,
                                                prior, window, rng)
            steps = np.flatnonzero(prop[1:] == j) + 1
            post = _theta_posterior(x, steps, prior)
            A2, b2, Q2 = A.copy(), b.copy(), Q.copy()
            A2[:, j], b2[:, j], Q2[:, j] = sample_mniw(*post, rng)
            log_q_theta = float(mniw_log_density(A2[:, j], b2[:, j], Q2[:, j], *post).sum())
            log_p0 = float(mniw_log_density(A2[:, j], b2[:, j], Q2[:, j], prior.M0, prior.V0,
                                            prior.Psi0, prior.nu0).sum())
            n_i, n_j = int((prop == i).sum()), int((prop == j).sum())
            log_q_fwd = (-np.log(m) - np.log(occ[i] * (occ[i] - 1)) - np.log(L - m)
                         + log_alloc + log_q_theta - log_p0)
            log_q_rev = -np.log((m + 1) * m) - np.log(n_i) - np.log(n_j)
            x2 = None
            kind = "split"
        stats[kind + "_proposed"] += 1
        proposed = log_target(prop, A2, b2, Q2)
        if np.log(rng.random()) < proposed - current + log_q_rev - log_q_fwd:
            if x2 is None:
                x2 = sample_latents(prop, A2, b2, Q2, P0, obs_precision, obs_info, rng)
            cur, x, A, b, Q, current = prop, x2, A2, b2, Q2, proposed
            stats[kind + "_accepted"] += 1
    return cur, x, A, b, Q, stats
