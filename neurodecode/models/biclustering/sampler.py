"""One Gibbs iteration of the bi-clustering model, chain state, initialisation, chain runs.

Order of one iteration (every step leaves the posterior invariant):

1. ``(z_i, c_i)`` for each neuron by the exact MH move of :mod:`.labels`;
2. ``r`` by CRT augmentation (Pólya-Gamma variables marginalised);
3. ``ω ~ PG(y + r, ψ)``;
4. all latent trajectories jointly (banded Cholesky);
5. ``(δ, c)`` for all neurons;
6. states ``ξ`` by FFBS; 7. ``β`` then ``π``; 8. ``(A, b, Q)`` by MNIW.

Steps 1–2 use the exact NB likelihood, so ``ω`` is drawn fresh in step 3 before
anything conditions on it. Nothing in the chain re-orders, rotates or relabels
for identifiability; empty clusters are simply dropped.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .dispersion import nb_loglik, sample_dispersion
from .hmm import emission_loglik, ffbs, sample_beta, sample_transitions, transition_counts
from .labels import DynamicsPrior, geometric_log_pk, mfm_log_coefficients, sweep_labels
from .latents import sample_latents, sample_slds_prior
from .loadings import linear_predictor, sample_loadings
from .mniw import mniw_posterior, regression_stats, sample_mniw
from .polya_gamma import nb_kappa, sample_polya_gamma

__all__ = ["SamplerConfig", "ChainState", "gibbs_step", "init_state", "sample_prior",
           "observation_terms", "record"]

_STATE_FIELDS = ("labels", "x", "A", "b", "Q", "delta", "loadings", "r", "states", "trans",
                 "beta")


@dataclasses.dataclass
class SamplerConfig:
    """Model sizes and hyper-parameters (all fixed during sampling)."""

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

    @property
    def d(self) -> int:
        return self.latent_dim + int(self.intercept)

    def dynamics_prior(self) -> DynamicsPrior:
        d = self.d
        nu0 = d + 10.0  # E[Q] = noise_scale I, well conditioned
        return DynamicsPrior(d, Psi0=self.noise_scale * (nu0 - d - 1) * np.eye(d), nu0=nu0)

    def loading_prior(self):
        mean = np.zeros(self.latent_dim + 1)
        mean[0] = self.baseline_mean
        var = np.full(self.latent_dim + 1, self.loading_var)
        var[0] = self.baseline_var
        return mean, var

    def log_v(self, n: int) -> np.ndarray:
        return mfm_log_coefficients(n, self.mfm_gamma, geometric_log_pk(self.cluster_geometric_p))

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
               rng: np.random.Generator, update_labels: bool = True) -> ChainState:
    """One full Gibbs/MH iteration; returns a new state (the input is not modified).

    Parameters
    ----------
    y : ndarray, shape (N, T)
        Counts, neurons by time.
    """
    s = state.copy()
    prior = cfg.dynamics_prior()
    if update_labels:
        s.labels, s.x, s.A, s.b, s.Q, s.loadings, _ = sweep_labels(
            y, s.labels, s.x, s.A, s.b, s.Q, s.states, s.delta, s.loadings, s.r, log_v,
            cfg.mfm_gamma, cfg.loading_var, cfg.intercept, prior, rng,
            order=rng.permutation(len(s.labels)))
    if cfg.fixed_dispersion is None:
        psi = linear_predictor(s.x, s.labels, s.delta, s.loadings, cfg.intercept)
        s.r = sample_dispersion(y, psi, s.r, cfg.dispersion_shape, cfg.dispersion_rate, rng)
    psi = linear_predictor(s.x, s.labels, s.delta, s.loadings, cfg.intercept)
    omega = sample_polya_gamma(y + s.r[:, None], psi, rng)
    kappa = nb_kappa(y, s.r[:, None])
    prec, info = observation_terms(omega, kappa, s.labels, s.delta, s.loadings, s.x.shape[0],
                                   cfg.intercept)
    s.x = sample_latents(s.states, s.A, s.b, s.Q, prior.x0_precision, prec, info, rng)
    mean, var = cfg.loading_prior()
    s.delta, s.loadings = sample_loadings(s.x, s.labels, omega, kappa, cfg.intercept, mean, var,
                                          rng)
    s.states = ffbs(emission_loglik(s.x, s.A, s.b, s.Q), _safe_log(s.trans), rng)
    L = cfg.n_states
    counts = transition_counts(s.states, L)
    s.beta = sample_beta(counts, s.beta, cfg.hdp_alpha, cfg.sticky_kappa, cfg.hdp_gamma, rng)
    s.trans = sample_transitions(counts, s.beta, cfg.hdp_alpha, cfg.sticky_kappa, rng)
    stats = regression_stats(s.x, s.states, L)
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
        "log_mean_baseline": state.delta + np.log(state.r),
        "dispersion": state.r.copy(),
    }


def _smoothed(y, width):
    kernel = np.exp(-0.5 * (np.arange(-3 * width, 3 * width + 1) / width) ** 2)
    kernel /= kernel.sum()
    return np.stack([np.convolve(row, kernel, mode="same") for row in y])


def _local_dynamics_kmeans(x, n_states, rng, window: int = 10):
    from sklearn.cluster import KMeans

    K, T, d = x.shape
    lagged = np.concatenate([x[:, :1], x[:, :-1]], axis=1)
    feats = np.concatenate([np.einsum("kta,ktb->tkab", x, x).reshape(T, -1),
                            np.einsum("kta,ktb->tkab", x, lagged).reshape(T, -1)], axis=1)
    kernel = np.ones(window) / window
    feats = np.stack([np.convolve(f, kernel, mode="same") for f in feats.T], axis=1)
    feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-9)
    if n_states < 2:
        return np.zeros(T, dtype=np.int64)
    return KMeans(n_states, n_init=4, random_state=int(rng.integers(2**31))).fit_predict(
        feats).astype(np.int64)


def init_state(y: np.ndarray, cfg: SamplerConfig, rng: np.random.Generator,
               n_clusters_init: int, n_arhmm_sweeps: int = 0,
               n_states_init: int = 4) -> ChainState:
    """Start a chain (only the starting point; burn-in removes its influence).

    Labels by k-means on neurons' |correlation| profiles; latents from the top
    principal components of each cluster's smoothed log-rates; states and
    dynamics by ``n_arhmm_sweeps`` Gibbs sweeps of an autoregressive HMM on
    those latents.
    """
    from sklearn.cluster import KMeans

    N, T = y.shape
    L, d, p = cfg.n_states, cfg.d, cfg.latent_dim
    K = int(min(max(n_clusters_init, 1), N))
    if K > 1:
        smooth = _smoothed(y.astype(float), 5.0)
        corr = np.nan_to_num(np.corrcoef(smooth))
        labels = KMeans(K, n_init=4, random_state=int(rng.integers(2**31))).fit_predict(
            np.abs(corr))
        labels = np.unique(labels, return_inverse=True)[1]
    else:
        labels = np.zeros(N, dtype=np.int64)
    K = int(labels.max()) + 1
    beta = np.full(L, 1.0 / L)
    trans = sample_transitions(np.zeros((L, L)), beta, cfg.hdp_alpha, cfg.sticky_kappa, rng)
    states = np.empty(T, dtype=np.int64)
    states[0] = rng.integers(L)
    for t in range(1, T):
        states[t] = rng.choice(L, p=trans[states[t - 1]])
    A = np.zeros((K, L, d, d))
    b = np.zeros((K, L, d))
    Q = np.broadcast_to(cfg.noise_scale * np.eye(d), (K, L, d, d)).copy()
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
    # states: k-means on local second-order statistics of those latents (windowed x_t x_tᵀ
    # and x_t x_{t-1}ᵀ), then a short autoregressive-HMM fit to them (x held fixed)
    states = _local_dynamics_kmeans(x, min(L, n_states_init), rng)
    prior = cfg.dynamics_prior()
    A, b, Q = sample_mniw(*mniw_posterior(*regression_stats(x, states, L), prior.M0, prior.V0,
                                          prior.Psi0, prior.nu0), rng)
    for _ in range(n_arhmm_sweeps):
        states = ffbs(emission_loglik(x, A, b, Q), _safe_log(trans), rng)
        counts = transition_counts(states, L)
        beta = sample_beta(counts, beta, cfg.hdp_alpha, cfg.sticky_kappa, cfg.hdp_gamma, rng)
        trans = sample_transitions(counts, beta, cfg.hdp_alpha, cfg.sticky_kappa, rng)
        A, b, Q = sample_mniw(*mniw_posterior(*regression_stats(x, states, L), prior.M0,
                                              prior.V0, prior.Psi0, prior.nu0), rng)
    return ChainState(labels=labels.astype(np.int64), x=x, A=A, b=b, Q=Q, delta=delta,
                      loadings=loadings, r=r, states=states, trans=trans, beta=beta)


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
    trans = sample_transitions(np.zeros((L, L)), beta, cfg.hdp_alpha, cfg.sticky_kappa, rng)
    states = np.empty(T, dtype=np.int64)
    states[0] = rng.integers(L)
    for t in range(1, T):
        states[t] = rng.choice(L, p=trans[states[t - 1]])
    prior = cfg.dynamics_prior()
    A, b, Q = sample_mniw(np.broadcast_to(prior.M0, (K, L, d, d + 1)),
                          np.broadcast_to(prior.V0, (K, L, d + 1, d + 1)),
                          np.broadcast_to(prior.Psi0, (K, L, d, d)), np.full((K, L), prior.nu0),
                          rng)
    x = sample_slds_prior(states, A, b, Q, prior.x0_precision, rng)
    mean, var = cfg.loading_prior()
    beta_i = mean + np.sqrt(var) * rng.standard_normal((N, p + 1))
    if cfg.fixed_dispersion is None:
        r = rng.gamma(cfg.dispersion_shape, 1.0 / cfg.dispersion_rate, N)
    else:
        r = np.full(N, float(cfg.fixed_dispersion))
    state = ChainState(labels=labels, x=x, A=A, b=b, Q=Q, delta=beta_i[:, 0],
                       loadings=beta_i[:, 1:], r=r, states=states, trans=trans, beta=beta)
    return state, sample_counts(state, cfg, rng)


def sample_counts(state: ChainState, cfg: SamplerConfig, rng: np.random.Generator) -> np.ndarray:
    """``y ~ NB(r, sigmoid(ψ))`` given a state, shape (N, T)."""
    psi = linear_predictor(state.x, state.labels, state.delta, state.loadings, cfg.intercept)
    # Gamma-Poisson mixture; ψ capped at 25 only so extreme prior draws cannot overflow
    rate = rng.gamma(state.r[:, None], np.exp(np.minimum(psi, 25.0)))
    return rng.poisson(rate)
