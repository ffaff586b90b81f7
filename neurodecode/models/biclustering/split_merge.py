"""Exact split–merge move for the neuron labels (Jain & Neal 2004 style, MFM prior).

One proposal picks an ordered pair of distinct neurons ``(i, j)``.

* **Split** (``z_i = z_j = k``): ``i`` stays in ``k`` (keeping ``θ_k``), ``j`` founds a
  new cluster, and every other member of ``k`` joins one side by a sequential
  allocation on a data similarity (members visited in a random order; member ``m``
  joins ``j``'s side with probability ``σ(τ (s̄_j(m) - s̄_i(m)))``, ``s̄`` its mean
  :func:`~.sampler.lagged_similarity` to the side's members so far). The new
  cluster's latent trajectory ``x'`` is drawn from a Gaussian approximation of its
  conditional given the moving neurons' counts (:func:`trajectory_proposal`: a
  banded Gaussian from Laplace pseudo-observations of a deterministic fit to those
  neurons and a fixed smoothing prior), its dynamics ``(A', b', Q')`` from their exact
  MNIW conditional given ``x'`` and the states, and the moving neurons' loadings
  ``c'_m`` from their Laplace Gaussians under ``x'``.
* **Merge** (``z_i ≠ z_j``): the cluster of ``j`` is absorbed into the cluster of
  ``i``, which keeps its ``θ``; ``θ`` of ``j``'s cluster is dropped and its members get
  loadings drawn from their Laplace Gaussians under ``θ_{z_i}``.

Both are each other's reverse for the same ordered pair (drawn with the same
probability both ways); the map between ``(state, proposal draws)`` on both sides is
the identity on the stacked variables (Jacobian 1). Because ``(A', b', Q')`` is drawn
from its exact conditional, ``p(A', b', Q') p(x' | A', b', Q') / q(A', b', Q' | x')``
is the MNIW marginal ``p(x' | ξ)`` (:func:`trajectory_log_marginal`). With ``C`` the
partition, ``J`` the neurons of ``j``'s side and ``ℓ`` the exact NB log-likelihood, a
split is accepted with probability ``min(1, e^a)``,

``a = log p(C') - log p(C) + log p(x' | ξ) - log q_x(x')
+ Σ_{m∈J} [log N(c'_m; 0, σ²) + ℓ(y_m | x', c'_m) - log N(c_m; 0, σ²) - ℓ(y_m | θ_k, c_m)]
+ Σ_{m∈J} log q_L(c_m | θ_k) - Σ_{m∈J} log q_L(c'_m | x') - log q(allocation)``;

a merge uses ``-a`` with the roles exchanged, ``q_x`` and ``q(allocation)`` evaluated
at the split that would recreate the current state. ``q_x`` depends only on
``(y, δ, r)`` of ``J`` (not on any loading), so both directions compute the same
density. Everything else (states, baselines, dispersions, other clusters) is
untouched, so the move leaves the joint posterior invariant.
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy.linalg import cho_solve_banded, cholesky_banded
from scipy.linalg.lapack import dtbtrs

from .labels import _nb_kernel, mfm_log_partition_prior
from .latents import banded_gaussian_logpdf, stacked_band
from .loadings import laplace_loadings_batch, split_latents
from .mniw import mniw_log_evidence, mniw_posterior, regression_stats, sample_mniw

__all__ = ["split_merge_move", "trajectory_proposal", "trajectory_log_marginal",
           "banded_gaussian_logpdf", "allocation_log_prob"]

#: allocation sharpness ``τ`` (similarities are fractions of variance, within-cluster
#: means about 0.06 above between-cluster means on the paper's simulation)
ALLOCATION_SHARPNESS = 20.0
#: persistence of the fixed AR(1) smoothing prior of the trajectory proposal
PROPOSAL_PERSISTENCE = 0.98
#: refinements (loadings fit, then trajectory mean) of the proposal's expansion point
PROPOSAL_REFINEMENTS = 3

#: bound on the proposal's expansion trajectory (latents are O(1) on the logit scale)
X_HAT_CLIP = 10.0

_SIMILARITY_CACHE: dict = {}


def _similarity(y):
    """:func:`~.sampler.lagged_similarity` of the counts, cached by content (data only)."""
    from .sampler import lagged_similarity

    y = np.ascontiguousarray(y)
    key = (y.shape, str(y.dtype), hashlib.sha1(y.view(np.uint8)).hexdigest())
    if key not in _SIMILARITY_CACHE:
        if len(_SIMILARITY_CACHE) > 8:
            _SIMILARITY_CACHE.clear()
        _SIMILARITY_CACHE[key] = lagged_similarity(np.asarray(y, float))
    return _SIMILARITY_CACHE[key]


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


# --------------------------------------------------------------------------- allocation
def allocation_log_prob(similarity, i: int, j: int, free, order, rng=None, to_new=None,
                        sharpness: float = ALLOCATION_SHARPNESS):
    """Sequential allocation of ``free`` neurons between the sides of ``i`` and ``j``.

    Neurons are visited in ``order`` (a permutation of ``range(len(free))``); neuron ``m``
    joins ``j``'s side with probability ``σ(τ (mean_{n∈S_j} R[m, n] - mean_{n∈S_i} R[m, n]))``
    over the sides ``S_i ∋ i``, ``S_j ∋ j`` as built so far. Draws the allocation when
    ``to_new`` is None (``rng`` needed), otherwise scores the given one.

    Returns
    -------
    to_new : ndarray of bool, shape (len(free),)
    log_prob : float
    """
    free = np.asarray(free, dtype=np.int64)
    draw = to_new is None
    out = np.zeros(len(free), bool) if draw else np.asarray(to_new, bool)
    sum_i = similarity[free, i].astype(float).copy()
    sum_j = similarity[free, j].astype(float).copy()
    n_i = n_j = 1
    log_prob = 0.0
    for pos in order:
        logit = sharpness * (sum_j[pos] / n_j - sum_i[pos] / n_i)
        log_p_new = -np.logaddexp(0.0, -logit)
        log_p_old = -np.logaddexp(0.0, logit)
        if draw:
            out[pos] = rng.random() < np.exp(log_p_new)
        m = free[pos]
        if out[pos]:
            log_prob += log_p_new
            sum_j += similarity[free, m]
            n_j += 1
        else:
            log_prob += log_p_old
            sum_i += similarity[free, m]
            n_i += 1
    return out, float(log_prob)


# --------------------------------------------------------------------------- trajectories
def trajectory_log_marginal(x, states, n_states: int, prior) -> float:
    """``log p(x | ξ)`` of one trajectory with its dynamics integrated over the MNIW prior.

    ``x_0 ~ N(0, P0⁻¹)`` and, per state ``s``, the regression of ``x_t`` on
    ``[x_{t-1}; 1]`` over the steps with ``ξ_t = s`` has the matrix-T marginal
    ``π^{-n d/2} (|V_n| / |V_0|)^{d/2} |Ψ_0|^{ν_0/2} |Ψ_n|^{-ν_n/2} Γ_d(ν_n/2) / Γ_d(ν_0/2)``.

    Parameters
    ----------
    x : ndarray, shape (T, d)
    states : ndarray of int, shape (T,)
    n_states : int
    prior : DynamicsPrior

    Examples
    --------
    >>> from neurodecode.models.biclustering.labels import DynamicsPrior
    >>> x = np.random.default_rng(0).normal(0, 0.1, (20, 2))
    >>> bool(np.isfinite(trajectory_log_marginal(x, np.zeros(20, int), 2, DynamicsPrior(2))))
    True
    """
    x = np.asarray(x, float)
    T, d = x.shape
    Sxx, Syx, Syy, n = regression_stats(x[None], np.asarray(states), n_states)
    per_state = mniw_log_evidence(Sxx[0], Syx[0], Syy[0], n, prior.M0, prior.V0, prior.Psi0,
                                  prior.nu0)
    P0 = np.asarray(prior.x0_precision, float)
    _, logdet_p0 = np.linalg.slogdet(P0)
    log_x0 = 0.5 * logdet_p0 - 0.5 * x[0] @ P0 @ x[0] - 0.5 * d * np.log(2 * np.pi)
    return float(per_state[n > 0].sum() + log_x0)


def _band_factor(ab_t, h):
    """Cholesky factor (lower band storage) and mean of ``N(Λ⁻¹ h, Λ⁻¹)``, ``Λ`` from ``ab_t``."""
    chol = cholesky_banded(np.asfortranarray(ab_t.T), lower=True, check_finite=False)
    mean = cho_solve_banded((chol, True), h, check_finite=False)
    return chol, mean


def _smoothed_log_counts(y, width: float = 2.0):
    from scipy.ndimage import gaussian_filter1d

    s = gaussian_filter1d(np.log(np.asarray(y, float) + 0.5), width, axis=-1, mode="nearest")
    s = s - s.mean(-1, keepdims=True)
    return s / (s.std(-1, keepdims=True) + 1e-9)


def trajectory_proposal(y, r, delta, d: int, intercept: bool, loading_var: float, prior,
                        states=None, n_states: int = 1, n_refine: int = PROPOSAL_REFINEMENTS,
                        fit_dynamics: bool = True):
    """Gaussian proposal for a new cluster's trajectory given its neurons' counts only.

    A deterministic function of ``(y, r, δ)`` of the neurons (no loadings, no current
    latents), so a split and the merge that reverses it compute the same density:

    1. ``x̂``: the top principal components of the neurons' smoothed, standardised
       log-counts (scaled like a prior trajectory), intercept column zero;
    2. ``n_refine`` times: loadings ``ĉ`` by Laplace under ``x̂``, then ``x̂`` ← the mean
       of the Gaussian below, built at the current ``x̂``;
    3. the Gaussian: the fixed AR(1) smoothing prior ``x_t = ρ x_{t-1} + N(0, E[Q])``
       (``x_0`` from the model's prior) times Laplace pseudo-observations of every
       neuron's NB likelihood in ``η = ĝᵀ x_t`` (``ĝ = (1, ĉ)`` with an intercept)
       expanded at ``x̂``: precision ``Σ_m w_mt ĝ_m ĝ_mᵀ``, information
       ``Σ_m ĝ_m (s_mt + w_mt η̂_mt)`` with ``s = y - (y + r) σ(ψ̂)`` and
       ``w = (y + r) σ(ψ̂) (1 - σ(ψ̂))``. Block tridiagonal, so banded.

    Parameters
    ----------
    y : ndarray, shape (B, T)
    r, delta : ndarray, shape (B,)
    d : int
        Latent dimension including the intercept column.
    prior : DynamicsPrior

    Returns
    -------
    chol : ndarray, shape (2 d, T d)
        Lower band Cholesky factor of the precision.
    mean : ndarray, shape (T d,)

    Examples
    --------
    >>> from neurodecode.models.biclustering.labels import DynamicsPrior
    >>> y = np.random.default_rng(0).poisson(1.0, (3, 40))
    >>> chol, mean = trajectory_proposal(y, np.full(3, 10.0), np.zeros(3) - 2.3, 3, True, 1.0,
    ...                                  DynamicsPrior(3))
    >>> chol.shape, mean.shape
    ((6, 120), (120,))
    """
    y = np.asarray(y, float)
    r = np.asarray(r, float)
    delta = np.asarray(delta, float)
    B, T = y.shape
    p = d - int(intercept)
    q_mean = prior.Psi0 / (prior.nu0 - d - 1)
    if states is None:
        states, n_states = np.zeros(T, dtype=np.int64), 1
    states = np.asarray(states, dtype=np.int64)
    n_states = int(max(n_states, states.max() + 1))
    # fixed AR(1) smoothing dynamics for the first pass, per-state fitted ones afterwards
    A = np.broadcast_to(PROPOSAL_PERSISTENCE * np.eye(d), (1, n_states, d, d))
    Q = np.broadcast_to(q_mean, (1, n_states, d, d))
    b = np.zeros((1, n_states, d))
    x_hat = np.zeros((T, d))
    if p > 0:
        u, sv, _ = np.linalg.svd(_smoothed_log_counts(y).T, full_matrices=False)
        k = min(p, len(sv))
        # sign convention (the largest entry of each component positive): the proposal must
        # not depend on LAPACK's arbitrary signs, which can change with the row order
        u = u[:, :k] * np.where(u[np.abs(u[:, :k]).argmax(0), np.arange(k)] < 0, -1.0, 1.0)
        x_hat[:, d - p:d - p + k] = np.sqrt(np.trace(q_mean) / d / (1 - PROPOSAL_PERSISTENCE**2)) \
            * u[:, :k] * np.sqrt(T)
    yr = y + r[:, None]
    for step in range(int(n_refine) + 1):
        off, ft = split_latents(x_hat[None], intercept)
        c_hat, _, _ = laplace_loadings_batch(y, r, delta[:, None, None] + off[None], ft,
                                             loading_var)
        g = np.concatenate([np.ones((B, 1)), c_hat[:, 0]], axis=1) if intercept else c_hat[:, 0]
        eta = g @ x_hat.T                                          # (B, T)
        psi = delta[:, None] + eta
        sig = 0.5 * (1.0 + np.tanh(0.5 * psi))
        w = yr * sig * (1 - sig)
        score = y - yr * sig
        obs_prec = np.einsum("bt,ba,bc->tac", w, g, g)[None]
        obs_info = ((score + w * eta).T @ g)[None]
        if step > 0 and fit_dynamics:
            Mn, _, Psin, nun = mniw_posterior(*regression_stats(x_hat[None], states, n_states),
                                              prior.M0, prior.V0, prior.Psi0, prior.nu0)
            A, b = Mn[..., :d], Mn[..., d]
            Q = Psin / (nun - d - 1)[..., None, None]
        ab_t, h = stacked_band(states, A, b, Q, prior.x0_precision, obs_prec, obs_info)
        chol, mean = _band_factor(ab_t, h)
        if step < n_refine:
            # clipped so that fitted dynamics of extreme counts cannot run away (any
            # deterministic rule keeps the move exact; this one keeps the MNIW fit finite)
            x_hat = np.clip(mean.reshape(T, d), -X_HAT_CLIP, X_HAT_CLIP)
    return chol, mean


def _draw_band(chol, mean, rng):
    z = rng.standard_normal((len(mean), 1))
    noise, info = dtbtrs(chol, z, uplo="L", trans="T")
    if info != 0:  # pragma: no cover - cholesky_banded already raised for non-PD input
        raise np.linalg.LinAlgError(f"banded triangular solve failed (info={info})")
    return mean + noise[:, 0]


# --------------------------------------------------------------------------- the move
def _split_log_ratio(y, r, delta, keep_x, new_x, move, old_c_move, new_c_move, log_alloc,
                     log_q_x, log_marg_x, sizes_split, sizes_merged, log_v, gamma, loading_var,
                     intercept):
    """``log`` acceptance ratio of split (merged state → split state); a merge uses its negative.

    ``move``: neurons of ``j``'s side after the split, ``old_c_move`` their loadings under
    ``keep_x`` (merged state), ``new_c_move`` under ``new_x``; ``log_alloc`` the
    allocation's log-probability, ``log_q_x`` the proposal density of ``new_x`` and
    ``log_marg_x`` its MNIW marginal ``log p(new_x | ξ)``.
    """
    mode, prec, _ = _fits(y, r, delta, move, np.stack([keep_x, new_x]), intercept, loading_var)
    prior_new = -0.5 * (new_c_move**2).sum(1) / loading_var
    prior_old = -0.5 * (old_c_move**2).sum(1) / loading_var
    lik_new = _loglik(y[move], r[move], delta[move], new_x, new_c_move, intercept)
    lik_old = _loglik(y[move], r[move], delta[move], keep_x, old_c_move, intercept)
    q_merge = _log_gauss(old_c_move, mode[:, 0], prec[:, 0])
    q_split = _log_gauss(new_c_move, mode[:, 1], prec[:, 1])
    return (mfm_log_partition_prior(sizes_split, gamma, log_v)
            - mfm_log_partition_prior(sizes_merged, gamma, log_v)
            + log_marg_x - log_q_x
            + (prior_new + lik_new - prior_old - lik_old + q_merge - q_split).sum()
            - log_alloc)


def split_merge_move(y, labels, x, A, b, Q, states, delta, loadings, r, log_v, gamma: float,
                     loading_var: float, intercept: bool, prior, rng: np.random.Generator,
                     n_proposals: int = 1, similarity=None):
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
        MNIW prior of a new cluster's dynamics and its ``x_0`` precision.
    n_proposals : int
        Independent split-or-merge proposals, applied in turn.
    similarity : ndarray, shape (N, N), optional
        Neuron similarity of the allocation (a function of the data only); default
        :func:`~.sampler.lagged_similarity` of ``y`` (cached).

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
    if N < 2 or int(n_proposals) < 1:
        return labels, x, A, b, Q, loadings, stats
    R = _similarity(y) if similarity is None else np.asarray(similarity, float)
    yf = np.asarray(y, float)
    n_states = A.shape[1]
    T, d = x.shape[1], x.shape[2]
    for _ in range(int(n_proposals)):
        i, j = (int(v) for v in rng.choice(N, size=2, replace=False))
        K = x.shape[0]
        sizes = np.bincount(labels, minlength=K)
        if labels[i] == labels[j]:
            stats["split_proposed"] += 1
            k = labels[i]
            members = np.flatnonzero(labels == k)
            free = members[(members != i) & (members != j)]
            to_new, log_alloc = allocation_log_prob(R, i, j, free, rng.permutation(len(free)),
                                                    rng=rng)
            move = np.concatenate([[j], free[to_new]]).astype(np.int64)
            canon = np.sort(move)
            chol, mean = trajectory_proposal(yf[canon], r[canon], delta[canon], d, intercept,
                                             loading_var, prior, states, n_states)
            new_x = _draw_band(chol, mean, rng).reshape(T, d)
            log_q_x = banded_gaussian_logpdf(new_x, chol, mean)
            log_marg = trajectory_log_marginal(new_x, states, n_states, prior)
            mode, prec, _ = _fits(yf, r, delta, move, new_x[None], intercept, loading_var)
            new_c = _draw_gauss(mode[:, 0], prec[:, 0], rng)
            sizes_split = np.append(sizes, len(move))
            sizes_split[k] -= len(move)
            log_a = _split_log_ratio(yf, r, delta, x[k], new_x, move, loadings[move], new_c,
                                     log_alloc, log_q_x, log_marg, sizes_split, sizes, log_v,
                                     gamma, loading_var, intercept)
            if np.log(rng.random()) < log_a:
                stats["split_accepted"] += 1
                new_A, new_b, new_Q = sample_mniw(*mniw_posterior(
                    *regression_stats(new_x[None], states, n_states), prior.M0, prior.V0,
                    prior.Psi0, prior.nu0), rng)
                labels[move] = K
                loadings[move] = new_c
                x, A, b, Q = (np.concatenate([v, w]) for v, w in
                              ((x, new_x[None]), (A, new_A), (b, new_b), (Q, new_Q)))
        else:
            stats["merge_proposed"] += 1
            ki, kj = labels[i], labels[j]
            stay = np.concatenate([[i], np.flatnonzero((labels == ki) & (np.arange(N) != i))])
            move = np.concatenate([[j], np.flatnonzero((labels == kj) & (np.arange(N) != j))])
            free = np.concatenate([stay[1:], move[1:]])
            to_new = np.concatenate([np.zeros(len(stay) - 1, bool), np.ones(len(move) - 1, bool)])
            _, log_alloc = allocation_log_prob(R, i, j, free, rng.permutation(len(free)),
                                               to_new=to_new)
            canon = np.sort(move)
            chol, mean = trajectory_proposal(yf[canon], r[canon], delta[canon], d, intercept,
                                             loading_var, prior, states, n_states)
            log_q_x = banded_gaussian_logpdf(x[kj], chol, mean)
            log_marg = trajectory_log_marginal(x[kj], states, n_states, prior)
            mode, prec, _ = _fits(yf, r, delta, move, x[ki][None], intercept, loading_var)
            merged_c = _draw_gauss(mode[:, 0], prec[:, 0], rng)
            sizes_merged = sizes.copy()
            sizes_merged[ki] += sizes[kj]
            sizes_merged = np.delete(sizes_merged, kj)
            log_a = -_split_log_ratio(yf, r, delta, x[ki], x[kj], move, merged_c,
                                      loadings[move], log_alloc, log_q_x, log_marg, sizes,
                                      sizes_merged, log_v, gamma, loading_var, intercept)
            if np.log(rng.random()) < log_a:
                stats["merge_accepted"] += 1
                labels[move] = ki
                loadings[move] = merged_c
                x, A, b, Q = (np.delete(v, kj, axis=0) for v in (x, A, b, Q))
                labels[labels > kj] -= 1
    return labels, x, A, b, Q, loadings, stats
