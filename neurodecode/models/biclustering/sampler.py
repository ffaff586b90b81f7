"""One Gibbs iteration of the bi-clustering model, chain state, initialisation, chain runs.

Order of one iteration (every step leaves the posterior invariant):

1. ``(z_i, c_i)`` for each neuron by the exact MH move of :mod:`.labels`, then
   ``split_merge_proposals`` split–merge proposals (:mod:`.split_merge`);
2. ``r`` by CRT augmentation (Pólya-Gamma variables marginalised), then a
   mean-preserving ``(r, δ)`` Metropolis move (:mod:`.moves`);
3. ``ω ~ PG(y + r, ψ)``;
4. ``state_moves`` collapsed Metropolis–Hastings proposals on the states ``ξ`` with the
   latents integrated out (:mod:`.collapsed`), then all latent trajectories jointly given
   ``ξ`` (banded Cholesky): together a blocked update of ``(ξ, X)``;
5. ``(δ, c)`` for all neurons, then the exact shift between each cluster's intercept
   trajectory and its members' baselines (:mod:`.moves`);
6. states ``ξ`` by FFBS, then ``state_merge_moves`` whole-state merge/split proposals with
   the dynamics and transition rows integrated out (:mod:`.state_merge`); 7. ``β`` (with
   auxiliary tables), optionally the sticky hyper-parameters ``(α + κ, ρ)``
   (``resample_sticky``), then ``π``; 8. ``(A, b, Q)`` by MNIW.

With ``dynamics="coupled"`` (:mod:`.coupled`) the dynamics act on the stacked latents of
all clusters: step 1 uses :func:`.coupled.sweep_labels_coupled` (births and deaths by
reversible jump), steps 4, 6 and 8 run on the stacked view (one "cluster" of dimension
``K d``, block-diagonal observation terms), and the intercept shifts of step 5 are drawn
jointly (:func:`.coupled.coupled_offset_move`).

Steps 1–2 use the exact NB likelihood, so ``ω`` is drawn fresh in step 3 before
anything conditions on it. Nothing in the chain re-orders, rotates or relabels
for identifiability; empty clusters are simply dropped.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .collapsed import collapsed_state_moves
from .coupled import (
    coupled_offset_move,
    coupled_prior,
    sample_coupled_prior,
    stack_latents,
    stack_observation_terms,
    sweep_labels_coupled,
    unstack_latents,
)
from .dispersion import nb_loglik, sample_dispersion
from .hmm import (
    emission_loglik,
    ffbs,
    sample_beta,
    sample_beta_tables,
    sample_sticky_hyper,
    sample_transitions,
    transition_counts,
)
from .labels import DynamicsPrior, geometric_log_pk, mfm_log_coefficients, sweep_labels
from .latents import sample_latents, sample_slds_prior
from .loadings import linear_predictor, sample_loadings
from .mniw import mniw_posterior, regression_stats, sample_mniw
from .moves import cluster_offset_move, dispersion_baseline_move
from .polya_gamma import nb_kappa, sample_polya_gamma
from .split_merge import split_merge_move
from .state_merge import state_merge_moves

__all__ = ["SamplerConfig", "ChainState", "gibbs_step", "init_state", "sample_prior",
           "observation_terms", "record"]

_STATE_FIELDS = ("labels", "x", "A", "b", "Q", "delta", "loadings", "r", "states", "trans",
                 "beta", "sticky")


@dataclasses.dataclass
class SamplerConfig:
    """Model sizes and hyper-parameters (all fixed during sampling).

    ``dynamics``: ``"block"`` gives each neuron cluster its own switching dynamics
    (block-diagonal, sharing the state sequence); ``"coupled"`` one switching linear system
    over the stacked latents of all clusters (:mod:`.coupled`; then ``A, b, Q`` are stored
    as one stacked "cluster", shapes ``(1, L, K d, K d)`` and ``(1, L, K d)``).
    """

    latent_dim: int = 2
    intercept: bool = True
    n_states: int = 10
    hdp_alpha: float = 5.0
    hdp_gamma: float = 2.0
    sticky_kappa: float = 50.0
    mfm_gamma: float = 1.0
    cluster_geometric_p: float = 0.2
    baseline_mean: float = 0.0
    baseline_var: float = 4.0
    loading_var: float = 1.0
    dispersion_shape: float = 1.0
    dispersion_rate: float = 0.1
    fixed_dispersion: float | None = None
    noise_scale: float = 0.01
    split_merge_proposals: int = 0
    state_moves: int = 0
    state_move_floor: float = 0.01
    state_merge_moves: int = 0
    resample_sticky: bool = False
    sticky_conc_shape: float = 1.0
    sticky_rho_a: float = 10.0
    sticky_rho_b: float = 1.0
    dynamics: str = "block"

    def __post_init__(self):
        if self.dynamics not in ("block", "coupled"):
            raise ValueError(f"`dynamics` must be 'block' or 'coupled'; got {self.dynamics!r}.")
        if self.dynamics == "coupled" and self.split_merge_proposals > 0:
            raise ValueError("split-merge proposals (`split_merge_proposals` > 0) are not "
                             "supported with dynamics='coupled'; set them to 0.")

    @property
    def coupled(self) -> bool:
        return self.dynamics == "coupled"

    @property
    def d(self) -> int:
        return self.latent_dim + int(self.intercept)

    def dynamics_prior(self) -> DynamicsPrior:
        d = self.d
        nu0 = d + 10.0  # E[Q] = noise_scale I, well conditioned
        return DynamicsPrior(d, Psi0=self.noise_scale * (nu0 - d - 1) * np.eye(d), nu0=nu0)

    def stacked_prior(self, K: int) -> DynamicsPrior:
        """Prior of the stacked dynamics of ``K`` clusters (coupled dynamics)."""
        return coupled_prior(K, self.d, self.noise_scale)

    def loading_prior(self):
        mean = np.zeros(self.latent_dim + 1)
        mean[0] = self.baseline_mean
        var = np.full(self.latent_dim + 1, self.loading_var)
        var[0] = self.baseline_var
        return mean, var

    def log_v(self, n: int) -> np.ndarray:
        return mfm_log_coefficients(n, self.mfm_gamma, geometric_log_pk(self.cluster_geometric_p))

    def sticky_conc_rate(self) -> float:
        """Gamma rate of the ``α + κ`` prior: prior mean ``hdp_alpha + sticky_kappa``."""
        return self.sticky_conc_shape / (self.hdp_alpha + self.sticky_kappa)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class ChainState:
    """Everything one chain carries from iteration to iteration."""

    labels: np.ndarray    # (N,) int, contiguous 0..K-1
    x: np.ndarray         # (K, T, d) latents (column 0 = intercept trajectory if used)
    A: np.ndarray         # (K, L, d, d)
    b: np.ndarray         # (K, L, d)
    Q: np.ndarray         # (K, L, d, d)
    delta: np.ndarray     # (N,) logit-scale baseline
    loadings: np.ndarray  # (N, p)
    r: np.ndarray         # (N,)
    states: np.ndarray    # (T,) int
    trans: np.ndarray     # (L, L)
    beta: np.ndarray      # (L,)
    sticky: np.ndarray    # (2,) current (α, κ) of the sticky HDP-HMM (fixed unless resampled)

    def to_arrays(self, prefix: str = "") -> dict:
        return {prefix + f: np.asarray(getattr(self, f)) for f in _STATE_FIELDS}

    @classmethod
    def from_arrays(cls, arrays, prefix: str = "") -> ChainState:
        return cls(**{f: np.array(arrays[prefix + f]) for f in _STATE_FIELDS})

    def copy(self) -> ChainState:
        return ChainState(**{f: np.array(getattr(self, f)) for f in _STATE_FIELDS})


def _safe_log(p):
    return np.log(np.maximum(p, np.finfo(float).tiny))


def observation_terms(omega, kappa, labels, delta, loadings, K, intercept):
    """Per-cluster observation precision (K, T, d, d) and information (K, T, d) for the latents."""
    N, T = omega.shape
    g = np.concatenate([np.ones((N, 1)), loadings], axis=1) if intercept else loadings
    d = g.shape[1]
    onehot = np.zeros((K, N))
    onehot[labels, np.arange(N)] = 1.0
    gg = (g[:, :, None] * g[:, None, :]).reshape(N, d * d)
    prec = onehot @ (omega[:, :, None] * gg[:, None, :]).reshape(N, T * d * d)
    resid = kappa - omega * delta[:, None]
    info = onehot @ (resid[:, :, None] * g[:, None, :]).reshape(N, T * d)
    return prec.reshape(K, T, d, d), info.reshape(K, T, d)


def gibbs_step(state: ChainState, y: np.ndarray, cfg: SamplerConfig, log_v: np.ndarray,
               rng: np.random.Generator, update_labels: bool = True,
               update_states: bool = True) -> ChainState:
    """One full Gibbs/MH iteration; returns a new state (the input is not modified).

    Parameters
    ----------
    y : ndarray, shape (N, T)
        Counts, neurons by time.
    update_labels, update_states : bool
        Skip the neuron-label sweep or the state draws (collapsed moves and FFBS; used
        only while building a chain's start; every other block still targets the
        posterior given them).
    """
    s = state.copy()
    prior = cfg.dynamics_prior()
    if update_labels:
        if cfg.coupled:
            s.labels, s.x, s.A, s.b, s.Q, s.loadings, _ = sweep_labels_coupled(
                y, s.labels, s.x, s.A, s.b, s.Q, s.states, s.delta, s.loadings, s.r, log_v,
                cfg.mfm_gamma, cfg.loading_var, cfg.intercept, cfg.noise_scale, rng,
                order=rng.permutation(len(s.labels)))
        else:
            s.labels, s.x, s.A, s.b, s.Q, s.loadings, _ = sweep_labels(
                y, s.labels, s.x, s.A, s.b, s.Q, s.states, s.delta, s.loadings, s.r, log_v,
                cfg.mfm_gamma, cfg.loading_var, cfg.intercept, prior, rng,
                order=rng.permutation(len(s.labels)))
        if cfg.split_merge_proposals > 0:
            s.labels, s.x, s.A, s.b, s.Q, s.loadings, _ = split_merge_move(
                y, s.labels, s.x, s.A, s.b, s.Q, s.states, s.delta, s.loadings, s.r, log_v,
                cfg.mfm_gamma, cfg.loading_var, cfg.intercept, prior, rng,
                n_proposals=cfg.split_merge_proposals)
    if cfg.fixed_dispersion is None:
        psi = linear_predictor(s.x, s.labels, s.delta, s.loadings, cfg.intercept)
        s.r = sample_dispersion(y, psi, s.r, cfg.dispersion_shape, cfg.dispersion_rate, rng)
        s.delta, s.r, _ = dispersion_baseline_move(
            y, psi, s.delta, s.r, cfg.dispersion_shape, cfg.dispersion_rate, cfg.baseline_mean,
            cfg.baseline_var, rng)
    psi = linear_predictor(s.x, s.labels, s.delta, s.loadings, cfg.intercept)
    omega = sample_polya_gamma(y + s.r[:, None], psi, rng)
    kappa = nb_kappa(y, s.r[:, None])
    K = s.x.shape[0]
    prec, info = observation_terms(omega, kappa, s.labels, s.delta, s.loadings, K,
                                   cfg.intercept)
    if cfg.coupled:  # the stacked system: one "cluster" of dimension K d
        prior = cfg.stacked_prior(K)
        prec, info = stack_observation_terms(prec, info)
    if update_states and cfg.state_moves > 0:
        s.states, _ = collapsed_state_moves(
            s.states, s.A, s.b, s.Q, prior.x0_precision, prec, info, _safe_log(s.trans),
            s.beta + cfg.state_move_floor, cfg.state_moves, rng)
    s.x = sample_latents(s.states, s.A, s.b, s.Q, prior.x0_precision, prec, info, rng)
    if cfg.coupled:
        s.x = unstack_latents(s.x, K)
    mean, var = cfg.loading_prior()
    s.delta, s.loadings = sample_loadings(s.x, s.labels, omega, kappa, cfg.intercept, mean, var,
                                          rng)
    if cfg.intercept:
        offset_move = coupled_offset_move if cfg.coupled else cluster_offset_move
        s.x, s.delta, _ = offset_move(s.x, s.labels, s.delta, s.states, s.A, s.b, s.Q,
                                      prior.x0_precision, cfg.baseline_mean, cfg.baseline_var,
                                      rng)
    x_dyn = stack_latents(s.x) if cfg.coupled else s.x
    if update_states:
        s.states = ffbs(emission_loglik(x_dyn, s.A, s.b, s.Q), _safe_log(s.trans), rng)
    if update_states and cfg.state_merge_moves > 0:
        # whole-state merge/split with (A, b, Q) and π integrated out given x, β, (α, κ);
        # valid because π and (A, b, Q) are redrawn from their conditionals just below
        sticky = s.sticky if cfg.resample_sticky else (cfg.hdp_alpha, cfg.sticky_kappa)
        s.states, _ = state_merge_moves(s.states, x_dyn, s.beta, float(sticky[0]),
                                        float(sticky[1]), prior, cfg.state_merge_moves, rng)
    L = cfg.n_states
    counts = transition_counts(s.states, L)
    if cfg.resample_sticky:
        alpha, kappa = float(s.sticky[0]), float(s.sticky[1])
    else:
        alpha, kappa = cfg.hdp_alpha, cfg.sticky_kappa
    s.beta, tables, override = sample_beta_tables(counts, s.beta, alpha, kappa, cfg.hdp_gamma,
                                                  rng)
    if cfg.resample_sticky:
        conc, rho = sample_sticky_hyper(counts, tables, override, alpha + kappa,
                                        cfg.sticky_conc_shape, cfg.sticky_conc_rate(),
                                        cfg.sticky_rho_a, cfg.sticky_rho_b, rng)
        alpha, kappa = conc * (1.0 - rho), conc * rho
    s.sticky = np.array([alpha, kappa])
    s.trans = sample_transitions(counts, s.beta, alpha, kappa, rng)
    stats = regression_stats(x_dyn, s.states, L)
    s.A, s.b, s.Q = sample_mniw(*mniw_posterior(*stats, prior.M0, prior.V0, prior.Psi0,
                                                prior.nu0), rng)
    return s


def record(state: ChainState, y: np.ndarray, cfg: SamplerConfig) -> dict:
    """Label-invariant summaries of one state, for traces and diagnostics."""
    psi = linear_predictor(state.x, state.labels, state.delta, state.loadings, cfg.intercept)
    return {
        "labels": state.labels.astype(np.int32),
        "states": state.states.astype(np.int32),
        "n_clusters": np.int64(state.x.shape[0]),
        "n_states": np.int64(len(np.unique(state.states))),
        "loglik": np.float64(nb_loglik(y, psi, state.r[:, None]).sum()),
        # log r_i + time-averaged ψ_it: the neuron's average log NB mean, identified (unlike δ_i,
        # which trades off against the cluster intercept and the latents' mean)
        "log_mean_baseline": np.log(state.r) + psi.mean(axis=1),
        "dispersion": state.r.copy(),
    }


def _smoothed(y, width):
    kernel = np.exp(-0.5 * (np.arange(-3 * width, 3 * width + 1) / width) ** 2)
    kernel /= kernel.sum()
    return np.stack([np.convolve(row, kernel, mode="same") for row in y])


def lagged_similarity(y, width: float = 3.0, lags=(-10, -5, 0, 5, 10)) -> np.ndarray:
    """Neuron-by-neuron similarity: how well one neuron's lag embedding explains another.

    ``S`` are the z-scored, Gaussian-smoothed log-counts. ``R[i, j]`` is the
    fraction of ``S_j``'s variance captured by its projection on the span of the
    lagged copies ``{S_i(t - l)}``, symmetrised. Neurons reading out one
    low-dimensional latent trajectory through different loadings have lagged
    copies spanning nearly the same space (time-delay embedding), so ``R`` is high
    within a cluster even when plain correlations are near zero.

    Parameters
    ----------
    y : ndarray, shape (N, T)
    width : float
        Gaussian smoothing sd in bins.
    lags : sequence of int
        Lags (bins) of the embedding.

    Returns
    -------
    ndarray, shape (N, N), zero diagonal.

    Examples
    --------
    >>> y = np.random.default_rng(0).poisson(2.0, (4, 100))
    >>> lagged_similarity(y).shape
    (4, 4)
    """
    N, T = y.shape
    smooth = _smoothed(np.log(np.asarray(y, float) + 0.5), width)
    smooth = smooth - smooth.mean(1, keepdims=True)
    smooth /= smooth.std(1, keepdims=True) + 1e-12
    m = max(abs(int(v)) for v in lags)
    if T - 2 * m < 2 * len(lags):
        lags, m = (0,), 0
    target = smooth[:, m:T - m]
    embed = np.stack([np.roll(smooth, int(v), axis=1)[:, m:T - m] for v in lags], axis=-1)
    q, _ = np.linalg.qr(embed)  # (N, T', L) orthonormal bases of each neuron's embedding
    proj = np.einsum("itl,jt->ijl", q, target)
    R = (proj**2).sum(-1) / ((target**2).sum(1)[None, :] + 1e-12)
    np.fill_diagonal(R, 0.0)
    return 0.5 * (R + R.T)


def init_labels(y, n_clusters: int, rng: np.random.Generator) -> np.ndarray:
    """Starting neuron partition: spectral clustering of :func:`lagged_similarity`."""
    from sklearn.cluster import SpectralClustering

    N = y.shape[0]
    K = int(min(max(n_clusters, 1), N))
    if K == 1:
        return np.zeros(N, dtype=np.int64)
    R = lagged_similarity(y)
    labels = SpectralClustering(K, affinity="precomputed", n_init=10,
                                random_state=int(rng.integers(2**31))).fit_predict(R + 1e-9)
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def local_coupling(y, labels, width: float = 2.0, window: int = 20) -> np.ndarray:
    """Per-bin strength of within-cluster co-fluctuation, shape (T,).

    For each neuron cluster, the windowed covariance matrix of its members'
    z-scored smoothed log-counts; the feature is the summed squared off-diagonal
    entries (plus a small floor), on a log scale. Bins where a cluster's latent is
    large (an expanding or persistent dynamical state) couple its neurons; bins where the
    latent collapses to noise do not.

    Examples
    --------
    >>> y = np.random.default_rng(0).poisson(2.0, (4, 60))
    >>> local_coupling(y, np.array([0, 0, 1, 1])).shape
    (60,)
    """
    N, T = y.shape
    smooth = _smoothed(np.log(np.asarray(y, float) + 0.5), width)
    smooth = smooth - smooth.mean(1, keepdims=True)
    smooth /= smooth.std(1, keepdims=True) + 1e-12
    kernel = np.ones(min(window, T)) / min(window, T)
    feat = np.zeros(T)
    for k in np.unique(labels):
        members = smooth[labels == k]
        if len(members) < 2:
            continue
        prod = np.einsum("it,jt->ijt", members, members)
        iu = np.triu_indices(len(members), 1)
        local = np.stack([np.convolve(v, kernel, mode="same") for v in prod[iu]])
        feat += 2.0 * (local**2).sum(0)
    return np.log(feat + 1e-3)


def init_states(y, labels, n_states: int) -> np.ndarray:
    """Starting state sequence: equal-frequency bins of :func:`local_coupling` (low to high)."""
    T = y.shape[1]
    if n_states < 2:
        return np.zeros(T, dtype=np.int64)
    feat = local_coupling(y, labels)
    edges = np.quantile(feat, np.arange(1, n_states) / n_states)
    return np.searchsorted(edges, feat).astype(np.int64)


def init_state(y: np.ndarray, cfg: SamplerConfig, rng: np.random.Generator,
               n_clusters_init: int, n_arhmm_sweeps: int = 0,
               n_states_init: int = 2, labels=None, n_warm_sweeps: int = 0) -> ChainState:
    """Start a chain (only the starting point; burn-in removes its influence).

    Labels by spectral clustering of lagged-embedding similarities
    (:func:`init_labels`) unless ``labels`` are given; latents from the top
    principal components of each cluster's smoothed log-rates; states by k-means
    on the within-cluster co-fluctuation of the counts (:func:`init_states`), then
    ``n_arhmm_sweeps`` Gibbs sweeps of an autoregressive HMM on the latents.
    Finally ``n_warm_sweeps`` sampler iterations with labels and states held at
    their starting values, so latents, loadings and dynamics settle on that
    segmentation before the states are free to move (without this the states lock
    onto latents shaped by arbitrary starting dynamics).
    """
    N, T = y.shape
    L, d, p = cfg.n_states, cfg.d, cfg.latent_dim
    if labels is None:
        labels = init_labels(y, n_clusters_init, rng)
    labels = np.unique(np.asarray(labels), return_inverse=True)[1].astype(np.int64)
    K = int(labels.max()) + 1
    beta = np.full(L, 1.0 / L)
    trans = sample_transitions(np.zeros((L, L)), beta, cfg.hdp_alpha, cfg.sticky_kappa, rng)
    states = np.empty(T, dtype=np.int64)
    states[0] = rng.integers(L)
    for t in range(1, T):
        states[t] = rng.choice(L, p=trans[states[t - 1]])
    r = np.full(N, float(cfg.fixed_dispersion or 10.0))
    mean_rate = np.maximum(y.mean(axis=1), 1e-2)
    delta = np.log(mean_rate / r)
    # latents: top principal components of each cluster's smoothed log-rates
    smooth = _smoothed(np.log(y + 0.5), 2.0)
    smooth = (smooth - smooth.mean(1, keepdims=True)) / (smooth.std(1, keepdims=True) + 1e-9)
    x = np.zeros((K, T, d))
    loadings = np.zeros((N, p))
    scale = np.sqrt(cfg.noise_scale) * 3.0
    for k in range(K):
        members = np.flatnonzero(labels == k)
        u, sv, vt = np.linalg.svd(smooth[members].T, full_matrices=False)
        q = min(p, len(sv))
        x[k, :, d - p:d - p + q] = scale * u[:, :q] * np.sqrt(T)
        loadings[members, :q] = 0.3 * (sv[:q, None] * vt[:q]).T / (scale * np.sqrt(T))
    x += 0.01 * rng.standard_normal(x.shape)
    # states: k-means on the windowed within-cluster co-fluctuation of the counts, then
    # (optionally) a short autoregressive-HMM fit to the latents (x held fixed)
    states = init_states(y, labels, min(L, n_states_init))
    prior = cfg.stacked_prior(K) if cfg.coupled else cfg.dynamics_prior()
    x_dyn = stack_latents(x) if cfg.coupled else x
    A, b, Q = sample_mniw(*mniw_posterior(*regression_stats(x_dyn, states, L), prior.M0,
                                          prior.V0, prior.Psi0, prior.nu0), rng)
    for _ in range(n_arhmm_sweeps):
        states = ffbs(emission_loglik(x_dyn, A, b, Q), _safe_log(trans), rng)
        counts = transition_counts(states, L)
        beta = sample_beta(counts, beta, cfg.hdp_alpha, cfg.sticky_kappa, cfg.hdp_gamma, rng)
        trans = sample_transitions(counts, beta, cfg.hdp_alpha, cfg.sticky_kappa, rng)
        A, b, Q = sample_mniw(*mniw_posterior(*regression_stats(x_dyn, states, L), prior.M0,
                                              prior.V0, prior.Psi0, prior.nu0), rng)
    state = ChainState(labels=labels.astype(np.int64), x=x, A=A, b=b, Q=Q, delta=delta,
                       loadings=loadings, r=r, states=states, trans=trans, beta=beta,
                       sticky=np.array([cfg.hdp_alpha, cfg.sticky_kappa]))
    log_v = cfg.log_v(N)
    for _ in range(int(n_warm_sweeps)):
        state = gibbs_step(state, y, cfg, log_v, rng, update_labels=False, update_states=False)
    return state


def sample_prior(N: int, T: int, cfg: SamplerConfig, rng: np.random.Generator):
    """Draw a whole state and counts from the model's prior (for Geweke tests).

    Returns
    -------
    state : ChainState
    y : ndarray of int, shape (N, T)
    """
    from .hmm import sample_dirichlet

    L, d, p = cfg.n_states, cfg.d, cfg.latent_dim
    # MFM partition by its generative definition: K ~ p_K, weights ~ Dir(γ), labels ~ Cat
    n_components = int(rng.geometric(cfg.cluster_geometric_p))
    weights = sample_dirichlet(np.full(n_components, cfg.mfm_gamma), rng)
    raw = rng.choice(n_components, size=N, p=weights)
    _, first = np.unique(raw, return_index=True)
    order = np.argsort(first)  # relabel blocks by first appearance: 0..t-1
    relabel = np.empty(n_components, dtype=np.int64)
    relabel[np.unique(raw)[order]] = np.arange(len(order))
    labels = relabel[raw]
    K = int(labels.max()) + 1
    beta = sample_dirichlet(np.full(L, cfg.hdp_gamma / L), rng)
    alpha, kappa = cfg.hdp_alpha, cfg.sticky_kappa
    if cfg.resample_sticky:
        conc = rng.gamma(cfg.sticky_conc_shape, 1.0 / cfg.sticky_conc_rate())
        rho = rng.beta(cfg.sticky_rho_a, cfg.sticky_rho_b)
        alpha, kappa = conc * (1.0 - rho), conc * rho
    trans = sample_transitions(np.zeros((L, L)), beta, alpha, kappa, rng)
    states = np.empty(T, dtype=np.int64)
    states[0] = rng.integers(L)
    for t in range(1, T):
        states[t] = rng.choice(L, p=trans[states[t - 1]])
    if cfg.coupled:
        A, b, Q = sample_coupled_prior(K, d, L, cfg.noise_scale, rng)
        x = unstack_latents(sample_slds_prior(states, A, b, Q, np.eye(K * d), rng), K)
    else:
        prior = cfg.dynamics_prior()
        A, b, Q = prior.sample_dynamics(K, L, rng)
        x = sample_slds_prior(states, A, b, Q, prior.x0_precision, rng)
    mean, var = cfg.loading_prior()
    beta_i = mean + np.sqrt(var) * rng.standard_normal((N, p + 1))
    if cfg.fixed_dispersion is None:
        r = rng.gamma(cfg.dispersion_shape, 1.0 / cfg.dispersion_rate, N)
    else:
        r = np.full(N, float(cfg.fixed_dispersion))
    state = ChainState(labels=labels, x=x, A=A, b=b, Q=Q, delta=beta_i[:, 0],
                       loadings=beta_i[:, 1:], r=r, states=states, trans=trans, beta=beta,
                       sticky=np.array([alpha, kappa]))
    return state, sample_counts(state, cfg, rng)


def sample_counts(state: ChainState, cfg: SamplerConfig, rng: np.random.Generator) -> np.ndarray:
    """``y ~ NB(r, sigmoid(ψ))`` given a state, shape (N, T)."""
    psi = linear_predictor(state.x, state.labels, state.delta, state.loadings, cfg.intercept)
    # Gamma-Poisson mixture; ψ capped at 25 only so extreme prior draws cannot overflow
    rate = rng.gamma(state.r[:, None], np.exp(np.minimum(psi, 25.0)))
    return rng.poisson(rate)
