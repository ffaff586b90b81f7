"""Simulated bi-clustered spiking: neuron clusters sharing latents, time clusters of dynamics.

The simulation of Wei (ICLR 2024, "Bayesian bi-clustering of neural spiking
activity with latent structures"): neurons fall in clusters, each cluster has a
``p``-dimensional latent trajectory, and all clusters switch synchronously
between discrete dynamical states. Counts are negative binomial.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["make_biclustering_data", "rotation_matrix"]


def rotation_matrix(angle: float, p: int = 2) -> np.ndarray:
    """Block rotation by ``angle`` in the first two coordinates, identity elsewhere.

    Examples
    --------
    >>> np.round(rotation_matrix(np.pi / 2), 6)
    array([[ 0., -1.],
           [ 1.,  0.]])
    """
    R = np.eye(p)
    R[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    return R


def _state_sequence(n_time, n_states, mean_duration, rng):
    """States alternating 0, 1, ..., with durations ~ 1 + Poisson(mean_duration - 1)."""
    states = np.empty(n_time, dtype=np.int64)
    t, s = 0, int(rng.integers(n_states))
    while t < n_time:
        duration = 1 + int(rng.poisson(mean_duration - 1))
        states[t:t + duration] = s
        t += duration
        s = (s + 1) % n_states
    return states


def make_biclustering_data(n_clusters: int = 3, neurons_per_cluster: int = 10, n_time: int = 500,
                           latent_dim: int = 2, mean_duration: float = 50.0,
                           dispersion: float = 10.0, noise_var: float = 0.01,
                           baseline_sd: float = 0.5, loading_sd: float = 0.5,
                           coupling: float = 0.0, coupling_state: int = 0,
                           bin_size: float = 0.01, random_state=None):
    """Spike counts from the paper's bi-clustering simulation, with the truth.

    Two states alternate with durations of about ``mean_duration`` bins. State 0
    has ``A = 0.01 I``; state 1 a slightly expanding rotation
    ``1.01 B R(pi/20) B^T`` in a random orthonormal basis ``B`` per cluster;
    ``b = 0`` and ``Q = noise_var * I`` in both. For neuron ``i`` in cluster
    ``k``: ``log E[y_it] = delta_i + c_i^T x^(k)_t``, ``delta_i ~ N(0, baseline_sd^2)``,
    ``c_i ~ N(0, loading_sd^2 I)``, ``y_it ~ NegativeBinomial(dispersion, mean)``.

    With ``coupling != 0`` the clusters' dynamics are coupled (one switching system over the
    stacked latents): in state ``coupling_state`` each cluster ``k >= 1`` is driven by the
    previous one, ``x^(k)_t += coupling * x^(k-1)_{t-1}`` (the cross block
    ``A[k, k-1] = coupling I`` of the stacked ``A``; block lower-triangular, so the
    eigenvalues and stability are those of the uncoupled system). In state 0 the driver is
    white noise, so the drive is identifiable from the latents; in state 1 (both clusters
    rotating at the same frequency) the drive is resonant: the driven latent grows and
    becomes nearly a linear function of the driver's, so own and cross terms are hard to
    tell apart (and counts overflow for ``coupling`` above about 0.05).

    Parameters
    ----------
    n_clusters, neurons_per_cluster : int
        Neuron clusters and their size (N = product).
    n_time : int
        Number of time bins T.
    latent_dim : int
        Latent dimension p per cluster (>= 2).
    mean_duration : float
        Mean state duration in bins.
    dispersion : float
        Negative-binomial dispersion r (variance = mean + mean^2 / r).
    noise_var, baseline_sd, loading_sd : float
        Latent innovation variance, baseline and loading prior sd.
    coupling : float
        Strength of the cross-cluster drive (0: block-diagonal dynamics, the paper's setting).
    coupling_state : {0, 1}
        The state in which the drive acts.
    bin_size : float
        Bin width in seconds (sets the ``time`` coordinate).
    random_state : int or numpy Generator, optional
        Seed; same seed, same data.

    Returns
    -------
    counts : xr.DataArray, shape (n_time, N), dims ("time", "unit"), int64
        Spike tensor; coord ``cluster`` on ``unit`` and ``state`` on ``time``.
    truth : dict
        ``labels`` (N,), ``states`` (T,), ``latents`` (K, T, p), ``A`` (K, 2, p, p),
        ``b`` (K, 2, p), ``Q`` (K, 2, p, p), ``A_stacked`` (2, K p, K p) (the stacked
        dynamics, cluster-major coordinates; its diagonal blocks are ``A``), ``delta`` (N,),
        ``loadings`` (N, p), ``dispersion`` (N,), ``rates`` (T, N).

    Examples
    --------
    >>> counts, truth = make_biclustering_data(n_time=100, random_state=0)
    >>> counts.dims, counts.shape, sorted(set(truth["labels"].tolist()))
    (('time', 'unit'), (100, 30), [0, 1, 2])
    """
    if latent_dim < 2:
        raise ValueError(f"`latent_dim` must be >= 2 for a rotation; got {latent_dim}.")
    if coupling_state not in (0, 1):
        raise ValueError(f"`coupling_state` must be 0 or 1; got {coupling_state!r}.")
    if n_clusters < 1 or neurons_per_cluster < 1 or n_time < 2:
        raise ValueError("`n_clusters`, `neurons_per_cluster` must be >= 1 and `n_time` >= 2.")
    rng = np.random.default_rng(random_state)
    K, p, T = n_clusters, latent_dim, n_time
    N = K * neurons_per_cluster
    states = _state_sequence(T, 2, mean_duration, rng)
    A = np.empty((K, 2, p, p))
    A[:, 0] = 0.01 * np.eye(p)
    for k in range(K):
        basis, _ = np.linalg.qr(rng.standard_normal((p, p)))
        A[k, 1] = 1.01 * basis @ rotation_matrix(np.pi / 20, p) @ basis.T
    b = np.zeros((K, 2, p))
    Q = np.broadcast_to(noise_var * np.eye(p), (K, 2, p, p)).copy()
    A_stacked = np.zeros((2, K * p, K * p))
    for k in range(K):
        A_stacked[:, k * p:(k + 1) * p, k * p:(k + 1) * p] = A[k]
        if k >= 1:
            A_stacked[coupling_state, k * p:(k + 1) * p, (k - 1) * p:k * p] = \
                coupling * np.eye(p)
    x = np.empty((K, T, p))
    x[:, 0] = rng.normal(0.0, np.sqrt(noise_var), (K, p))
    chol_Q = np.sqrt(noise_var)
    for t in range(1, T):
        s = states[t]
        x[:, t] = np.einsum("kab,kb->ka", A[:, s], x[:, t - 1]) + b[:, s] \
            + chol_Q * rng.standard_normal((K, p))
        if coupling and s == coupling_state:  # cross blocks of the stacked A (same draws)
            x[1:, t] += coupling * x[:-1, t - 1]
    labels = np.repeat(np.arange(K), neurons_per_cluster)
    delta = rng.normal(0.0, baseline_sd, N)
    loadings = rng.normal(0.0, loading_sd, (N, p))
    log_rate = delta[None, :] + np.einsum("np,ntp->tn", loadings, x[labels])
    rates = np.exp(log_rate)
    r = np.full(N, float(dispersion))
    counts = rng.negative_binomial(r[None, :], r[None, :] / (r[None, :] + rates))
    data = xr.DataArray(
        counts.astype(np.int64), dims=("time", "unit"),
        coords={"time": (np.arange(T) + 0.5) * bin_size, "unit": np.arange(N),
                "cluster": ("unit", labels), "state": ("time", states)},
        attrs={"bin_size": float(bin_size), "session_id": "simulated-biclustering",
               "source": "neurodecode.datasets.make_biclustering_data"})
    truth = {"labels": labels, "states": states, "latents": x, "A": A, "b": b, "Q": Q,
             "A_stacked": A_stacked,
             "delta": delta, "loadings": loadings, "dispersion": r, "rates": rates}
    return data, truth
