"""Exact split–merge move for the neuron labels (Jain & Neal 2004 style, MFM prior).

One proposal picks an ordered pair of distinct neurons ``(i, j)``.

* **Split** (``z_i = z_j = k``): a new cluster's dynamics and latent trajectory
  ``θ' = (x', A', b', Q')`` are drawn from the dynamics prior (given the current
  states); ``i`` stays in ``k`` (keeping ``θ_k``), ``j`` moves to the new cluster,
  and every other member ``m`` of ``k`` independently chooses between them with
  probabilities proportional to its Laplace evidences
  ``∫ p(y_m | θ, c) N(c; 0, σ² I) dc`` under ``θ_k`` and ``θ'``. Members that move
  get loadings ``c'_m`` drawn from the Laplace Gaussian under ``θ'``; members that
  stay keep theirs.
* **Merge** (``z_i ≠ z_j``): the cluster of ``j`` is absorbed into the cluster of
  ``i``, which keeps its ``θ``; ``θ`` of ``j``'s cluster is dropped and its members get
  loadings drawn from their Laplace Gaussians under ``θ_{z_i}``.

The two are each other's reverse for the same ordered pair (the pair is drawn with
the same probability both ways), and the map between ``(state, proposal draws)`` on
both sides is the identity on the stacked variables (Jacobian 1). With ``C`` the
partition, ``J`` the neurons in ``j``'s (new) cluster and ``ℓ`` the exact NB
log-likelihood, a split is accepted with probability ``min(1, e^a)``,

``a = log p(C') - log p(C)
+ Σ_{m∈J} [log N(c'_m; 0, σ²) + ℓ(y_m | θ', c'_m) - log N(c_m; 0, σ²) - ℓ(y_m | θ_k, c_m)]
+ Σ_{m∈J} log q_L(c_m | θ_k) - Σ_{m∈J} log q_L(c'_m | θ')
- Σ_{m∈k∖{i,j}} log q(a_m)``,

where the prior density of ``θ'`` appears in the target and in the proposal and
cancels; a merge uses ``-a`` with the roles exchanged. Everything else (states,
baselines, dispersions, other clusters) is untouched, so the move leaves the joint
posterior invariant.
"""

from __future__ import annotations

import numpy as np

from .labels import _nb_kernel, _normalise_log, mfm_log_partition_prior
from .loadings import laplace_loadings_batch, split_latents

__all__ = ["split_merge_move"]


def _log_gauss(c, mode, prec):
    """``log N(c; mode, prec^{-1})`` for stacked rows: c, mode (B, p), prec (B, p, p)."""
    diff = c - mode
    _, logdet = np.linalg.slogdet(prec)
    quad = np.einsum("bi,bij,bj->b", diff, prec, diff)
    return 0.5 * logdet - 0.5 * quad - 0.5 * c.shape[1] * np.log(2 * np.pi)


def _draw_gauss(mode, prec, rng):
    chol = np.linalg.cholesky(prec)
    eps = rng.standard_normal(mode.shape)
    return mode + np.linalg.solve(np.swapaxes(chol, 1, 2), eps[..., None])[..., 0]


def _loglik(y, r, delta, x_k, c, intercept):
    """Exact NB log-likelihood kernel of rows ``y`` (B, T) under one cluster's latents."""
    off, ft = split_latents(x_k, intercept)
    psi = delta[:, None] + off[None] + c @ ft.T
    return _nb_kernel(y, psi, r[:, None]).sum(axis=1)


def _fits(y, r, delta, members, cand_x, intercept, loading_var):
    """Laplace fits of ``members`` against candidate latents ``cand_x`` (C, T, d)."""
    off, ft = split_latents(cand_x, intercept)
    base = delta[members, None, None] + off[None]
    return laplace_loadings_batch(y[members], r[members], base, ft, loading_var)


def _split_log_ratio(y, r, delta, keep_x, new_x, stay, move, old_c_move, new_c_move,
                     free, free_to_new, sizes_split, sizes_merged, log_v, gamma, loading_var,
                     intercept):
    """``log`` acceptance ratio of split (merged state → split state); a merge uses its negative.

    ``stay`` / ``move``: neurons in ``i``'s / ``j``'s block after the split; ``old_c_move``
    their loadings under ``keep_x`` (merged state), ``new_c_move`` under ``new_x``;
    ``free`` the members other than ``i, j`` with their allocation ``free_to_new``.
    """
    both = np.concatenate([stay, move])
    mode, prec, ev = _fits(y, r, delta, both, np.stack([keep_x, new_x]), intercept,
                           loading_var)
    n_stay = len(stay)
    pos = {int(m): k for k, m in enumerate(both)}
    log_q = np.array([_normalise_log(ev[k]) for k in range(len(both))])  # (B, 2)
    free_idx = np.array([pos[int(m)] for m in free], dtype=np.int64)
    log_alloc = log_q[free_idx, free_to_new.astype(np.int64)].sum() if len(free) else 0.0
    mv = np.arange(n_stay, len(both))
    prior_new = -0.5 * (new_c_move**2).sum(1) / loading_var
    prior_old = -0.5 * (old_c_move**2).sum(1) / loading_var
    lik_new = _loglik(y[move], r[move], delta[move], new_x, new_c_move, intercept)
    lik_old = _loglik(y[move], r[move], delta[move], keep_x, old_c_move, intercept)
    q_merge = _log_gauss(old_c_move, mode[mv, 0], prec[mv, 0])
    q_split = _log_gauss(new_c_move, mode[mv, 1], prec[mv, 1])
    return (mfm_log_partition_prior(sizes_split, gamma, log_v)
            - mfm_log_partition_prior(sizes_merged, gamma, log_v)
            + (prior_new + lik_new - prior_old - lik_old + q_merge - q_split).sum()
            - log_alloc)


def split_merge_move(y, labels, x, A, b, Q, states, delta, loadings, r, log_v, gamma: float,
                     loading_var: float, intercept: bool, prior, rng: np.random.Generator,
                     n_proposals: int = 1):
    """Exact split–merge Metropolis–Hastings proposals on the neuron partition.

    Parameters
    ----------
    y : ndarray, shape (N, T)
    labels : ndarray of int, shape (N,), values ``0..K-1`` all used
    x : (K, T, d); A, Q : (K, S, d, d); b : (K, S, d)
        Cluster latents and dynamics.
    states : (T,); delta : (N,); loadings : (N, p); r : (N,)
    log_v : ndarray
        MFM coefficients (:func:`.labels.mfm_log_coefficients` for ``n = N``).
    gamma, loading_var : float
        MFM Dirichlet concentration; prior variance of each loading.
    intercept : bool
        Column 0 of ``x`` is the cluster intercept trajectory.
    prior : DynamicsPrior
        Source of new clusters (``prior.sample_clusters``).
    n_proposals : int
        Independent split-or-merge proposals, applied in turn.

    Returns
    -------
    labels, x, A, b, Q, loadings
        Updated copies; cluster indices stay contiguous (a split appends cluster ``K``,
        a merge deletes ``j``'s cluster and shifts later indices down).
    stats : dict
        ``split_proposed, split_accepted, merge_proposed, merge_accepted`` counts.

    Examples
    --------
    >>> from neurodecode.models.biclustering.sampler import SamplerConfig, sample_prior
    >>> cfg = SamplerConfig(latent_dim=1, n_states=2)
    >>> rng = np.random.default_rng(0)
    >>> s, y = sample_prior(4, 6, cfg, rng)
    >>> out = split_merge_move(y, s.labels, s.x, s.A, s.b, s.Q, s.states, s.delta, s.loadings,
    ...                        s.r, cfg.log_v(4), cfg.mfm_gamma, cfg.loading_var, True,
    ...                        cfg.dynamics_prior(), rng, n_proposals=3)
    >>> out[0].shape, sorted(out[-1])[0]
    ((4,), 'merge_accepted')
    """
    labels = np.array(labels, dtype=np.int64)
    loadings = np.array(loadings, float)
    x, A, b, Q = (np.array(v, float) for v in (x, A, b, Q))
    N = len(labels)
    stats = dict(split_proposed=0, split_accepted=0, merge_proposed=0, merge_accepted=0)
    if N < 2:
        return labels, x, A, b, Q, loadings, stats
    n_states = A.shape[1]
    for _ in range(int(n_proposals)):
        i, j = (int(v) for v in rng.choice(N, size=2, replace=False))
        K = x.shape[0]
        sizes = np.bincount(labels, minlength=K)
        if labels[i] == labels[j]:
            stats["split_proposed"] += 1
            k = labels[i]
            members = np.flatnonzero(labels == k)
            free = members[(members != i) & (members != j)]
            new_x, new_A, new_b, new_Q = prior.sample_clusters(states, n_states, 1, rng)
            cand = np.stack([x[k], new_x[0]])
            _, _, ev = _fits(y, r, delta, free, cand, intercept, loading_var)
            p_new = np.array([np.exp(_normalise_log(e))[1] for e in ev]) if len(free) else \
                np.zeros(0)
            to_new = rng.random(len(free)) < p_new
            stay = np.concatenate([[i], free[~to_new]]).astype(np.int64)
            move = np.concatenate([[j], free[to_new]]).astype(np.int64)
            mode, prec, _ = _fits(y, r, delta, move, new_x, intercept, loading_var)
            new_c = _draw_gauss(mode[:, 0], prec[:, 0], rng)
            sizes_split = np.append(sizes, len(move))
            sizes_split[k] -= len(move)
            log_a = _split_log_ratio(y, r, delta, x[k], new_x[0], stay, move,
                                     loadings[move], new_c, free, to_new, sizes_split, sizes,
                                     log_v, gamma, loading_var, intercept)
            if np.log(rng.random()) < log_a:
                stats["split_accepted"] += 1
                labels[move] = K
                loadings[move] = new_c
                x, A, b, Q = (np.concatenate([v, w]) for v, w in
                              ((x, new_x), (A, new_A), (b, new_b), (Q, new_Q)))
        else:
            stats["merge_proposed"] += 1
            ki, kj = labels[i], labels[j]
            stay = np.concatenate([[i], np.flatnonzero((labels == ki) & (np.arange(N) != i))])
            move = np.concatenate([[j], np.flatnonzero((labels == kj) & (np.arange(N) != j))])
            free = np.concatenate([stay[1:], move[1:]])
            to_new = np.concatenate([np.zeros(len(stay) - 1, bool), np.ones(len(move) - 1, bool)])
            mode, prec, _ = _fits(y, r, delta, move, x[ki][None], intercept, loading_var)
            merged_c = _draw_gauss(mode[:, 0], prec[:, 0], rng)
            sizes_merged = sizes.copy()
            sizes_merged[ki] += sizes[kj]
            sizes_merged = np.delete(sizes_merged, kj)
            log_a = -_split_log_ratio(y, r, delta, x[ki], x[kj], stay, move, merged_c,
                                      loadings[move], free, to_new, sizes, sizes_merged, log_v,
                                      gamma, loading_var, intercept)
            if np.log(rng.random()) < log_a:
                stats["merge_accepted"] += 1
                labels[move] = ki
                loadings[move] = merged_c
                x, A, b, Q = (np.delete(v, kj, axis=0) for v in (x, A, b, Q))
                labels[labels > kj] -= 1
    return labels, x, A, b, Q, loadings, stats
