"""Neuron labels under a mixture of finite mixtures (Miller & Harrison 2018).

The prior on partitions is ``p(C) = V_n(t) Π_c γ^{(|c|)}`` with ``t`` blocks,
rising factorials ``γ^{(m)}`` and
``V_n(t) = Σ_{k>=t} k_{(t)} / (γk)^{(n)} p_K(k)``. Neuron ``i`` joins an existing
cluster with weight ``n_{-i,k} + γ`` and a new one with ``γ V_n(t+1) / V_n(t)``.

The move on ``(z_i, c_i)`` is Neal's (2000) algorithm 8 with one auxiliary
cluster (drawn from the dynamics prior, or neuron ``i``'s own cluster when it is
a singleton), made exact by a Metropolis–Hastings independence proposal: a
Laplace approximation of ``∫ p(y_i | x^{(k)}, c) p(c) dc`` chooses the cluster
and its Gaussian proposes ``c_i``, accepted with the exact NB likelihood.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, logsumexp

from .dispersion import softplus
from .latents import sample_slds_prior
from .loadings import laplace_loadings_batch, split_latents
from .mniw import sample_mniw

__all__ = ["mfm_log_coefficients", "mfm_log_partition_prior", "laplace_loadings",
           "sweep_labels", "DynamicsPrior"]


def mfm_log_coefficients(n: int, gamma: float, log_pk, k_max: int | None = None) -> np.ndarray:
    """``log V_n(t)`` for ``t = 0..n+1`` (entry 0 is ``-inf``).

    Parameters
    ----------
    n : int
        Number of items (neurons).
    gamma : float
        Dirichlet concentration of the mixture weights.
    log_pk : callable
        ``k -> log p_K(k)`` for an integer array ``k >= 1``.
    k_max : int, optional
        Truncation of the series; default ``n + 1000`` (the terms decay at least
        as fast as ``p_K``).

    Examples
    --------
    >>> logV = mfm_log_coefficients(3, 1.0, lambda k: np.log(0.5) * k)
    >>> logV.shape
    (5,)
    """
    k_max = n + 1000 if k_max is None else k_max
    k = np.arange(1, k_max + 1, dtype=float)
    log_ratio = gammaln(gamma * k) - gammaln(gamma * k + n) + log_pk(k.astype(np.int64))
    out = np.full(n + 2, -np.inf)
    for t in range(1, n + 2):
        valid = k >= t
        falling = gammaln(k[valid] + 1) - gammaln(k[valid] - t + 1)
        out[t] = logsumexp(falling + log_ratio[valid])
    return out


def mfm_log_partition_prior(sizes, gamma: float, log_v) -> float:
    """``log p(C)`` of a partition with block ``sizes`` under the MFM."""
    sizes = np.asarray(sizes, float)
    return float(log_v[len(sizes)] + np.sum(gammaln(gamma + sizes) - gammaln(gamma)))


def geometric_log_pk(p: float):
    """``log p_K(k)`` of ``K ~ Geometric(p)`` on ``{1, 2, …}``."""
    return lambda k: np.log(p) + (np.asarray(k) - 1) * np.log1p(-p)


def _nb_kernel(y, psi, r):
    """``log NB(y; r, sigmoid(ψ))`` up to terms free of ψ (they cancel in every ratio here)."""
    return y * psi - (y + r) * softplus(psi)


def _normalise_log(log_q):
    """``log_q - logsumexp(log_q)`` for a short vector (scipy's logsumexp costs ~0.2 ms)."""
    shifted = log_q - log_q.max()
    return shifted - np.log(np.exp(shifted).sum())


def laplace_loadings(y, r, base, feats, prior_var: float, n_newton: int = 4):
    """Laplace approximation of ``c ↦ p(y | ψ = base + feats c) N(c; 0, prior_var I)``.

    A fixed number of Newton steps from ``c = 0``, so the result depends only on
    the candidates, not on the current ``c_i`` (as an independence proposal must).

    Parameters
    ----------
    y : ndarray, shape (T,); r : float
    base : ndarray, shape (C, T)
    feats : ndarray, shape (C, T, p)

    Returns
    -------
    mode : (C, p), precision : (C, p, p), log_evidence : (C,)
        ``log_evidence`` omits ``Σ_t log Γ(y_t + r) - log Γ(r) - log y_t!`` (the same
        for every candidate).
    """
    C, T, p = feats.shape
    prior_prec = np.eye(p) / prior_var
    c = np.zeros((C, p))
    yr = y + r
    feats_t = np.swapaxes(feats, 1, 2)
    for _ in range(n_newton + 1):
        psi = base + (feats @ c[:, :, None])[..., 0]
        sig = 0.5 * (1.0 + np.tanh(0.5 * psi))
        grad = ((y - yr * sig)[:, None, :] @ feats)[:, 0] - c / prior_var
        prec = feats_t @ ((yr * sig * (1 - sig))[..., None] * feats) + prior_prec
        if _ == n_newton:
            break
        c = c + np.linalg.solve(prec, grad[..., None])[..., 0]
    loglik = _nb_kernel(y, psi, r).sum(axis=1)
    log_prior = -0.5 * (c**2).sum(1) / prior_var - 0.5 * p * np.log(2 * np.pi * prior_var)
    _, logdet = np.linalg.slogdet(prec)
    return c, prec, loglik + log_prior + 0.5 * p * np.log(2 * np.pi) - 0.5 * logdet


class DynamicsPrior:
    """Per-cluster dynamics hyper-parameters: MNIW ``(M0, V0, Ψ0, ν0)`` and ``x_0`` precision."""

    def __init__(self, d: int, M0=None, V0=None, Psi0=None, nu0=None, x0_precision=None):
        self.d = d
        self.M0 = np.zeros((d, d + 1)) if M0 is None else np.asarray(M0, float)
        self.V0 = np.eye(d + 1) if V0 is None else np.asarray(V0, float)
        self.Psi0 = 0.01 * (d + 2) * np.eye(d) if Psi0 is None else np.asarray(Psi0, float)
        self.nu0 = float(d + 2 if nu0 is None else nu0)
        self.x0_precision = np.eye(d) if x0_precision is None else np.asarray(x0_precision)

    def sample_dynamics(self, n, n_states, rng):
        """``(A, b, Q)`` of ``n`` independent systems, one per state, from the MNIW prior.

        Returns ``A (n, S, d, d), b (n, S, d), Q (n, S, d, d)``.
        """
        d = self.d
        return sample_mniw(np.broadcast_to(self.M0, (n, n_states, d, d + 1)),
                           np.broadcast_to(self.V0, (n, n_states, d + 1, d + 1)),
                           np.broadcast_to(self.Psi0, (n, n_states, d, d)),
                           np.full((n, n_states), self.nu0), rng)

    def sample_clusters(self, states, n_states, n, rng):
        """``n`` independent new clusters from the prior: dynamics per state and trajectories.

        Returns ``x (n, T, d), A (n, S, d, d), b (n, S, d), Q (n, S, d, d)``.
        """
        A, b, Q = self.sample_dynamics(n, n_states, rng)
        x = sample_slds_prior(states, A, b, Q, self.x0_precision, rng)
        return x, A, b, Q


def _log_target(j, c, y, r, base, feats, log_w, loading_var):
    """Unnormalised ``log p(z_i = j, c_i = c | rest)`` on the auxiliary-cluster space."""
    psi = base[j] + feats[j] @ c
    return log_w[j] - 0.5 * c @ c / loading_var + _nb_kernel(y, psi, r).sum()


def _log_normal(c, mean, prec):
    diff = c - mean
    _, logdet = np.linalg.slogdet(prec)
    return 0.5 * logdet - 0.5 * diff @ prec @ diff - 0.5 * len(c) * np.log(2 * np.pi)


def label_move_log_ratio(old, new, y, r, base, feats, log_w, loading_var: float, log_q, mode,
                         prec) -> float:
    """Log MH ratio of the proposal ``(z_i, c_i) = old → new`` on the auxiliary-cluster space.

    The target is :func:`_log_target`; the proposal picks slot ``j`` with probability
    ``exp(log_q[j])`` and draws ``c ~ N(mode[j], prec[j]⁻¹)`` (a Laplace approximation).

    Parameters
    ----------
    old, new : tuple (int, ndarray of shape (p,))
        Slot and loadings before and after.
    y : ndarray, shape (T,); r : float
        The neuron's counts and dispersion.
    base : ndarray, shape (J, T); feats : ndarray, shape (J, T, p)
        Per slot: offset (baseline plus intercept trajectory) and latent features.
    log_w : ndarray, shape (J,)
        Log prior weight of each slot.
    log_q : ndarray, shape (J,); mode : ndarray, shape (J, p); prec : ndarray, shape (J, p, p)

    Examples
    --------
    >>> J, T, p = 2, 5, 1
    >>> ratio = label_move_log_ratio((0, np.zeros(p)), (0, np.zeros(p)), np.ones(T), 5.0,
    ...                              np.zeros((J, T)), np.zeros((J, T, p)), np.zeros(J), 1.0,
    ...                              np.log(np.full(J, 0.5)), np.zeros((J, p)),
    ...                              np.broadcast_to(np.eye(p), (J, p, p)))
    >>> bool(abs(ratio) < 1e-12)  # proposing the current value: ratio 1
    True
    """
    (j_old, c_old), (j_new, c_new) = old, new
    return (_log_target(j_new, c_new, y, r, base, feats, log_w, loading_var)
            - _log_target(j_old, c_old, y, r, base, feats, log_w, loading_var)
            + log_q[j_old] + _log_normal(c_old, mode[j_old], prec[j_old])
            - log_q[j_new] - _log_normal(c_new, mode[j_new], prec[j_new]))


def sweep_labels(y, labels, x, A, b, Q, states, delta, loadings, r, log_v, gamma: float,
                 loading_var: float, intercept: bool, prior: DynamicsPrior,
                 rng: np.random.Generator, order=None):
    """One MH sweep over neurons of ``(z_i, c_i)``; clusters are born and removed as needed.

    Parameters
    ----------
    y : ndarray, shape (N, T)
    labels : ndarray of int, shape (N,), values ``0..K-1`` all used
    x : (K, T, d); A, Q : (K, S, d, d); b : (K, S, d)
        Cluster latents and dynamics.
    states : (T,); delta : (N,); loadings : (N, p); r : (N,)
    log_v : ndarray
        :func:`mfm_log_coefficients` for ``n = N``.

    Returns
    -------
    labels, x, A, b, Q, loadings, n_accepted
        Updated copies; cluster indices stay contiguous.
    """
    labels = labels.copy()
    loadings = loadings.copy()
    N = len(labels)
    S = A.shape[1]
    accepted = 0
    # one fresh prior draw per neuron, made up front (the states do not change in a sweep)
    aux_x, aux_A, aux_b, aux_Q = prior.sample_clusters(states, S, N, rng)
    # Laplace fits depend only on (y_i, r_i, δ_i) and a candidate's latents, all fixed during
    # the sweep: fit every neuron against every cluster (and its own auxiliary) in two
    # batched calls, add a column when a cluster is born, drop one when it dies
    def fit_all(cluster_x):
        off, ft = split_latents(cluster_x, intercept)
        return laplace_loadings_batch(y, r, delta[:, None, None] + off[None], ft, loading_var)

    fit_mode, fit_prec, fit_ev = fit_all(x)
    aux_off, aux_ft = split_latents(aux_x, intercept)
    aux_mode, aux_prec, aux_ev = laplace_loadings_batch(
        y, r, (delta[:, None] + aux_off)[:, None], aux_ft[:, None], loading_var)
    for i in (range(N) if order is None else order):
        K = x.shape[0]
        own = labels[i]
        sizes = np.bincount(labels, minlength=K)
        sizes[own] -= 1
        singleton = sizes[own] == 0
        if singleton:
            existing = np.delete(np.arange(K), own)
            aux = (x[own], A[own], b[own], Q[own])
        else:
            existing = np.arange(K)
            aux = (aux_x[i], aux_A[i], aux_b[i], aux_Q[i])
        t = len(existing)
        log_w = np.append(np.log(sizes[existing] + gamma),
                          np.log(gamma) + log_v[t + 1] - log_v[t])
        cand_x = np.concatenate([x[existing], aux[0][None]], axis=0)
        offset, feats = split_latents(cand_x, intercept)
        base = delta[i] + offset
        if singleton:
            cols = np.append(existing, own)
            mode, prec, log_ev = fit_mode[i, cols], fit_prec[i, cols], fit_ev[i, cols]
        else:
            mode = np.concatenate([fit_mode[i], aux_mode[i]])
            prec = np.concatenate([fit_prec[i], aux_prec[i]])
            log_ev = np.concatenate([fit_ev[i], aux_ev[i]])
        log_q = _normalise_log(log_w + log_ev)
        j_new = int(rng.choice(len(log_q), p=np.exp(log_q)))
        chol = np.linalg.cholesky(prec[j_new])
        c_new = mode[j_new] + np.linalg.solve(chol.T, rng.standard_normal(len(mode[j_new])))
        j_old = len(existing) if singleton else int(own)
        c_old = loadings[i]

        log_alpha = label_move_log_ratio((j_old, c_old), (j_new, c_new), y[i], r[i], base, feats,
                                         log_w, loading_var, log_q, mode, prec)
        if np.log(rng.random()) >= log_alpha:
            continue
        accepted += 1
        loadings[i] = c_new
        if j_new == len(existing):  # the auxiliary cluster
            if not singleton:
                x = np.concatenate([x, aux[0][None]])
                A = np.concatenate([A, aux[1][None]])
                b = np.concatenate([b, aux[2][None]])
                Q = np.concatenate([Q, aux[3][None]])
                labels[i] = K
                born = fit_all(aux[0][None])
                fit_mode, fit_prec, fit_ev = (np.concatenate([old, new], axis=1) for old, new
                                              in zip((fit_mode, fit_prec, fit_ev), born,
                                                     strict=True))
        else:
            labels[i] = existing[j_new]
            if singleton:
                x, A, b, Q = (np.delete(v, own, axis=0) for v in (x, A, b, Q))
                fit_mode, fit_prec, fit_ev = (np.delete(v, own, axis=1)
                                              for v in (fit_mode, fit_prec, fit_ev))
                labels[labels > own] -= 1
    return labels, x, A, b, Q, loadings, accepted
