"""Switching states: emission log-likelihoods, forward-filter backward-sample, sticky HDP.

States ``ξ_t`` (``t = 0..T-1``) follow a Markov chain with a uniform initial
distribution; ``ξ_t`` for ``t >= 1`` selects the dynamics of the step
``x_{t-1} → x_t``, so state ``t`` and latent step ``t`` always share an index.
Transitions have the weak-limit sticky HDP prior of Fox et al. (2011):
``β ~ Dir(γ/L, …)``, ``π_j ~ Dir(α β + κ e_j)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["emission_loglik", "forward_filter", "posterior_marginals", "ffbs",
           "transition_counts",
           "sample_crt", "sample_dirichlet", "sample_beta", "sample_beta_tables",
           "sample_sticky_hyper", "sample_transitions"]


def emission_loglik(x, A, b, Q) -> np.ndarray:
    """``log N(x_t | A_s x_{t-1} + b_s, Q_s)`` summed over clusters, for every t and state.

    Parameters
    ----------
    x : ndarray, shape (K, T, d)
    A, Q : ndarray, shape (K, S, d, d); b : ndarray, shape (K, S, d)

    Returns
    -------
    ndarray, shape (T, S)
        Row 0 is zero (``x_0`` has a state-free prior).
    """
    K, T, d = x.shape
    S = A.shape[1]
    chol = np.linalg.cholesky(Q)  # (K, S, d, d)
    logdet = 2 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1)  # (K, S)
    pred = np.einsum("ksab,ktb->ksta", A, x[:, :-1]) + b[:, :, None, :]
    resid = x[:, None, 1:, :] - pred  # (K, S, T-1, d)
    chol_inv = np.linalg.inv(chol)
    w = np.einsum("ksab,kstb->ksta", chol_inv, resid)
    quad = (w**2).sum(-1)  # (K, S, T-1)
    ll = -0.5 * (quad + logdet[:, :, None] + d * np.log(2 * np.pi))
    out = np.zeros((T, S))
    out[1:] = ll.sum(0).T
    return out


def forward_filter(loglik, log_trans):
    """Normalised forward messages and the log marginal likelihood.

    Parameters
    ----------
    loglik : ndarray, shape (T, S)
    log_trans : ndarray, shape (S, S)
        ``log P(ξ_t = j | ξ_{t-1} = i)`` at ``[i, j]``; initial distribution uniform.

    Returns
    -------
    alpha : ndarray, shape (T, S)
        ``p(ξ_t | emissions up to t)``.
    log_marginal : float
    """
    T, S = loglik.shape
    trans = np.exp(log_trans)
    alpha = np.empty((T, S))
    shift = loglik.max(axis=1, keepdims=True)
    lik = np.exp(loglik - shift)
    a = lik[0] / S
    norm = a.sum()
    alpha[0] = a / norm
    log_marginal = np.log(norm) + shift[0, 0]
    for t in range(1, T):
        a = (alpha[t - 1] @ trans) * lik[t]
        norm = a.sum()
        alpha[t] = a / norm
        log_marginal += np.log(norm) + shift[t, 0]
    return alpha, float(log_marginal)


def posterior_marginals(loglik, log_trans) -> np.ndarray:
    """Smoothed state marginals ``p(ξ_t = s | all emissions)`` by forward-backward, (T, S).

    Parameters
    ----------
    loglik : ndarray, shape (T, S)
    log_trans : ndarray, shape (S, S)
        As in :func:`forward_filter` (uniform initial distribution).

    Examples
    --------
    >>> ll = np.log([[0.5, 0.5], [0.9, 0.1], [0.1, 0.9]])
    >>> np.round(posterior_marginals(ll, np.log([[0.9, 0.1], [0.1, 0.9]])).sum(1), 6)
    array([1., 1., 1.])
    """
    alpha, _ = forward_filter(loglik, log_trans)
    T, S = alpha.shape
    trans = np.exp(log_trans)
    lik = np.exp(loglik - loglik.max(axis=1, keepdims=True))
    post = np.empty((T, S))
    post[-1] = alpha[-1]
    beta = np.ones(S)
    for t in range(T - 2, -1, -1):
        beta = trans @ (lik[t + 1] * beta)
        beta /= beta.sum()
        p = alpha[t] * beta
        post[t] = p / p.sum()
    return post


def ffbs(loglik, log_trans, rng: np.random.Generator) -> np.ndarray:
    """Forward-filter backward-sample one state sequence, shape (T,), from ``p(ξ | x)``.

    Examples
    --------
    >>> ll = np.log([[0.5, 0.5], [0.9, 0.1], [0.1, 0.9]])
    >>> ffbs(ll, np.log([[0.9, 0.1], [0.1, 0.9]]), np.random.default_rng(0)).shape
    (3,)
    """
    alpha, _ = forward_filter(loglik, log_trans)
    T, S = alpha.shape
    trans = np.exp(log_trans)
    u = rng.random(T)
    # every step's draw for every possible successor state at once (the same cumulative sums
    # and the same uniform as a step-by-step pass), then a chain of table look-ups
    cdf = np.cumsum(alpha[:, :, None] * trans[None], axis=1)  # (T, S_prev, S_next)
    pick = np.minimum((cdf <= (u[:, None] * cdf[:, -1, :])[:, None, :]).sum(axis=1), S - 1)
    cdf_last = np.cumsum(alpha[-1])
    s = min(int(np.searchsorted(cdf_last, u[-1] * cdf_last[-1], side="right")), S - 1)
    table = pick.tolist()
    out = [0] * T
    out[-1] = s
    for t in range(T - 2, -1, -1):
        s = table[t][s]
        out[t] = s
    return np.array(out, dtype=np.int64)


def transition_counts(states, n_states: int) -> np.ndarray:
    """``n[i, j]`` = number of ``t`` with ``ξ_{t-1} = i, ξ_t = j``."""
    n = np.zeros((n_states, n_states), dtype=np.int64)
    np.add.at(n, (states[:-1], states[1:]), 1)
    return n


def sample_crt(counts, concentration, rng: np.random.Generator) -> np.ndarray:
    """Chinese-restaurant-table draws ``L ~ CRT(n, a)`` elementwise.

    ``L = Σ_{j=1}^{n} Bernoulli(a / (a + j - 1))``: the number of tables ``n``
    customers occupy in a CRP with concentration ``a``.

    Examples
    --------
    >>> sample_crt(np.array([0, 1, 5]), np.array([2.0, 2.0, 1e-12]), np.random.default_rng(0))
    array([0, 1, 1])
    """
    counts = np.asarray(counts, dtype=np.int64)
    conc = np.broadcast_to(np.asarray(concentration, float), counts.shape)
    flat_n, flat_a = counts.ravel(), conc.ravel()
    owner = np.repeat(np.arange(flat_n.size), flat_n)
    j = np.arange(owner.size) - np.repeat(np.cumsum(flat_n) - flat_n, flat_n)
    a = flat_a[owner]
    hits = rng.random(owner.size) < a / (a + j)
    return np.bincount(owner, weights=hits, minlength=flat_n.size).astype(np.int64).reshape(
        counts.shape)


def sample_dirichlet(concentration, rng: np.random.Generator) -> np.ndarray:
    """Dirichlet draws along the last axis, stable for tiny concentrations.

    Uses ``log G(a) = log G(a + 1) + log(U) / a`` so no weight underflows to NaN.
    """
    a = np.asarray(concentration, float)
    log_g = np.log(rng.gamma(a + 1.0)) + np.log(rng.random(a.shape)) / a
    log_g -= log_g.max(axis=-1, keepdims=True)
    w = np.exp(log_g)
    return w / w.sum(axis=-1, keepdims=True)


def sample_beta_tables(counts, beta, alpha: float, kappa: float, gamma: float,
                       rng: np.random.Generator):
    """Global state weights ``β | ξ`` with the transition rows integrated out (Fox et al. 2011).

    Auxiliary table counts ``m_jk ~ CRT(n_jk, α β_k + κ δ_jk)``, the sticky
    override ``w_j ~ Binomial(m_jj, ρ / (ρ + β_j (1 - ρ)))`` with ``ρ = κ/(α+κ)``,
    then ``β ~ Dir(γ/L + Σ_j m̄_jk)``.

    Returns
    -------
    beta : ndarray, shape (L,)
    tables : ndarray of int, shape (L, L)
        ``m`` (before the override is removed).
    override : ndarray of int, shape (L,)
        ``w``.
    """
    L = len(beta)
    conc = alpha * beta[None, :] + kappa * np.eye(L)
    m = sample_crt(counts, conc, rng)
    override = np.zeros(L, dtype=np.int64)
    m_bar = m
    if kappa > 0:
        rho = kappa / (alpha + kappa)
        diag = np.diagonal(m)
        override = rng.binomial(diag, rho / (rho + beta * (1 - rho)))
        m_bar = m - np.diag(override)
    return sample_dirichlet(gamma / L + m_bar.sum(axis=0), rng), m, override


def sample_beta(counts, beta, alpha: float, kappa: float, gamma: float,
                rng: np.random.Generator) -> np.ndarray:
    """``β | ξ`` alone: :func:`sample_beta_tables` without the auxiliary tables."""
    return sample_beta_tables(counts, beta, alpha, kappa, gamma, rng)[0]


def sample_sticky_hyper(counts, tables, override, concentration: float, conc_shape: float,
                        conc_rate: float, rho_a: float, rho_b: float,
                        rng: np.random.Generator):
    """``(α + κ, ρ = κ / (α + κ))`` given the auxiliary tables (Fox et al. 2011, App. C).

    Priors ``α + κ ~ Gamma(conc_shape, conc_rate)`` and ``ρ ~ Beta(rho_a, rho_b)``.
    Given the tables ``m`` (:func:`sample_beta_tables`) the transition rows contribute
    ``(α+κ)^{m_j·} Γ(α+κ) / Γ(α+κ + n_j·)``; with the auxiliary variables
    ``r_j ~ Beta(α+κ+1, n_j·)`` and ``s_j ~ Bernoulli(n_j· / (n_j· + α+κ))`` (Escobar &
    West 1995) ``α+κ ~ Gamma(conc_shape + m_·· - Σ s_j, conc_rate - Σ log r_j)``. The
    override counts ``w`` give ``ρ ~ Beta(rho_a + Σ w, rho_b + m_·· - Σ w)``.

    Returns
    -------
    concentration, rho : float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> c, rho = sample_sticky_hyper(np.array([[9, 1], [1, 9]]), np.array([[3, 1], [1, 3]]),
    ...                              np.array([2, 2]), 10.0, 1.0, 0.1, 10.0, 1.0, rng)
    >>> bool(c > 0 and 0 < rho < 1)
    True
    """
    n_row = np.asarray(counts).sum(axis=1)
    used = n_row > 0
    r = rng.beta(concentration + 1.0, np.maximum(n_row[used], 1))
    s = rng.random(used.sum()) < n_row[used] / (n_row[used] + concentration)
    m_total = int(np.asarray(tables).sum())
    conc = rng.gamma(conc_shape + m_total - s.sum(), 1.0 / (conc_rate - np.log(r).sum()))
    w_total = int(np.asarray(override).sum())
    rho = rng.beta(rho_a + w_total, rho_b + m_total - w_total)
    return float(conc), float(rho)


def sample_transitions(counts, beta, alpha: float, kappa: float,
                       rng: np.random.Generator) -> np.ndarray:
    """Transition rows ``π_j | β, ξ ~ Dir(α β + κ e_j + n_j)``, shape (L, L)."""
    L = len(beta)
    return sample_dirichlet(alpha * beta[None, :] + kappa * np.eye(L) + counts, rng)
