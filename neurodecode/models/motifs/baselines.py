"""Reference detectors from known kernels: the matched filter (oracle) and a correlation template.

The firing-rate baseline (one weight per neuron, no timing) is
``MotifConv(parametrization="rate")`` trained like the others.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["expected_spike_kernels", "matched_filter_kernels", "icann_oracle_kernels",
           "correlation_kernels"]


def expected_spike_kernels(delays, n_delays: int, *, dropout: float, jitter_bins: float,
                           time_warp: float = 0.0) -> np.ndarray:
    """Expected motif spikes per (motif, unit, delay bin) of single-spike motifs.

    A member with delay ``d`` fires with probability ``1 - dropout`` at
    ``d`` plus Gaussian jitter (``jitter_bins``, widened by the time-warp
    spread), binned like :func:`~neurodecode.datasets.motifs.make_recording_motifs`.
    This is the motif's true kernel as the data show it (the binary delay
    kernel blurred by the jitter).

    Returns
    -------
    ndarray (n_motifs, n_units, n_delays)
    """
    d = np.asarray(delays, dtype=np.float64)
    member = np.isfinite(d)
    grid = np.arange(n_delays, dtype=np.float64)
    sigma = np.sqrt(jitter_bins ** 2 + (time_warp * np.nan_to_num(d)) ** 2 / 3.0)
    centre = np.nan_to_num(d)[..., None]
    if np.all(sigma == 0):
        prob = (grid == centre).astype(np.float64)
    else:
        s = np.maximum(sigma, 1e-9)[..., None]
        prob = ndtr((grid + 0.5 - centre) / s) - ndtr((grid - 0.5 - centre) / s)
    return (1.0 - dropout) * prob * member[..., None]


def matched_filter_kernels(delays, n_delays: int, *, dropout: float, jitter_bins: float,
                           background_prob, time_warp: float = 0.0,
                           onset_prob: float | None = None):
    """Poisson log-likelihood-ratio kernels for single-spike motifs (recording regime).

    A member neuron with delay ``d`` spikes, with probability ``1 - dropout``,
    in bin ``δ`` with probability ``P(δ)`` of a Gaussian of width ``jitter_bins``
    centred on ``d`` (widened by the time-warp spread); the background gives
    ``background_prob`` spikes per bin. The optimal evidence for an onset is
    ``Σ A(a, t+δ) log(1 + λ₁/λ₀) - Σ λ₁``.

    Parameters
    ----------
    delays : array (n_motifs, n_units)
        Delay in bins, NaN for non-members.
    n_delays : int
    dropout, jitter_bins, time_warp : float
    background_prob : float or array (n_units,)
        Background spikes per bin.
    onset_prob : float, optional
        Onset probability per bin, added to the bias as its logit.

    Returns
    -------
    kernels : ndarray (n_motifs, n_units, n_delays)
    bias : ndarray (n_motifs,)
    """
    d = np.asarray(delays, dtype=np.float64)
    lam1 = expected_spike_kernels(d, n_delays, dropout=dropout, jitter_bins=jitter_bins,
                                  time_warp=time_warp)
    lam0 = np.broadcast_to(np.asarray(background_prob, dtype=np.float64), d.shape[1:])
    lam0 = np.maximum(lam0, 1e-9)[None, :, None]
    kernels = np.log1p(lam1 / lam0)
    bias = -lam1.sum(axis=(1, 2))
    if onset_prob is not None:
        bias = bias + np.log(onset_prob) - np.log1p(-onset_prob)
    return kernels, bias


def icann_oracle_kernels(kernels, p_A: float, p_B: float | None = None):
    """Exact log-odds detector for the ICANN generative model.

    The Bernoulli log-likelihood ratio of an onset is ``Σ A·K + Σ log((1-p₁)/(1-p₀))``
    with ``p₁ = σ(logit p_A + K)``, ``p₀ = p_A``: the generative kernel itself
    (``logit p₁ - logit p₀ = K``) plus a bias (isolated-motif approximation).

    Returns
    -------
    kernels : ndarray (n_motifs, n_units, n_delays)
    bias : ndarray (n_motifs,)
    """
    k = np.asarray(kernels, dtype=np.float64)
    logit_a = np.log(p_A) - np.log1p(-p_A)
    bias = (-np.logaddexp(0.0, logit_a + k) + np.logaddexp(0.0, logit_a)).sum(axis=(1, 2))
    if p_B is not None:
        bias = bias + np.log(p_B) - np.log1p(-p_B)
    return k.copy(), bias


def correlation_kernels(kernels, p_A: float | None = None):
    """Template of each motif for the correlation baseline (no log-odds weighting).

    Parameters
    ----------
    kernels : array (n_motifs, n_units, n_delays)
        True generative kernels (logit increments).
    p_A : float, optional
        Background spiking probability. Given, the template is the spiking
        probability the motif causes, ``σ(logit p_A + K)`` at every (neuron,
        delay) — the "correlation" detector of Perrinet (ICANN 2023) and its
        code. Without it, the binary support ``K > 0`` (plain spike counting
        in the motif's bins).

    Returns
    -------
    ndarray (n_motifs, n_units, n_delays)

    Examples
    --------
    >>> k = np.array([[[0.0, 3.0]]])
    >>> correlation_kernels(k).tolist()
    [[[0.0, 1.0]]]
    >>> np.round(correlation_kernels(k, p_A=0.5), 3).tolist()
    [[[0.5, 0.953]]]
    """
    k = np.asarray(kernels, dtype=np.float64)
    if p_A is None:
        return (k > 0).astype(np.float64)
    if not 0 < p_A < 1:
        raise ValueError(f"`p_A` must be a probability in (0, 1), got {p_A!r}")
    logit_a = np.log(p_A) - np.log1p(-p_A)
    return 1.0 / (1.0 + np.exp(-(logit_a + k)))
