"""Significance of detected motifs by surrogate rasters, vectorised.

Surrogates keep what a motif should not depend on and destroy the precise
timing it is made of: *dithering* moves every spike by a uniform random offset
of up to ``±max_shift`` bins within its own unit (rates kept at that scale,
fine timing destroyed); *trial shuffling* gives every unit an independent
permutation of the trials (each unit's trial-averaged response kept,
cross-unit timing within a trial destroyed). The detector is run on each
surrogate, and an event's p-value is the fraction of surrogate scores at least
as large as its own.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dither_spikes", "shuffle_trials", "surrogate_p_values"]


def dither_spikes(counts: np.ndarray, max_shift: int, rng) -> np.ndarray:
    """Move each spike by an integer offset uniform in ``[-max_shift, max_shift]`` bins.

    Offsets that would leave the raster are reflected back into it.

    Parameters
    ----------
    counts : ndarray (n_trials, n_time, n_units), non-negative integers
    max_shift : int
    rng : numpy Generator

    Returns
    -------
    ndarray, same shape and spike count per unit and trial

    Examples
    --------
    >>> x = np.zeros((1, 100, 2), np.int64); x[0, 50, 0] = 3
    >>> int(dither_spikes(x, 5, np.random.default_rng(0)).sum())
    3
    """
    counts = np.asarray(counts)
    n_time = counts.shape[1]
    r, t, a = np.nonzero(counts)
    reps = counts[r, t, a].astype(np.int64)
    r, t, a = np.repeat(r, reps), np.repeat(t, reps), np.repeat(a, reps)
    new_t = t + rng.integers(-max_shift, max_shift + 1, len(t))
    new_t = np.where(new_t < 0, -new_t, new_t)
    new_t = np.where(new_t >= n_time, 2 * (n_time - 1) - new_t, new_t)
    new_t = np.clip(new_t, 0, n_time - 1)
    out = np.zeros(counts.shape, dtype=np.int64)
    np.add.at(out, (r, new_t, a), 1)
    return out


def shuffle_trials(counts: np.ndarray, rng) -> np.ndarray:
    """Independent permutation of the trials for every unit, shape (n_trials, n_time, n_units)."""
    counts = np.asarray(counts)
    n_trials, _, n_units = counts.shape
    if n_trials < 2:
        raise ValueError("trial shuffling needs at least 2 trials; use dithering for one raster")
    perm = np.argsort(rng.random((n_trials, n_units)), axis=0)
    return np.take_along_axis(counts, perm[:, None, :], axis=0)


def surrogate_p_values(observed: np.ndarray, motif: np.ndarray, null_scores: np.ndarray,
                       max_statistic: bool = False) -> np.ndarray:
    """p-value of each observed event score against surrogate scores of the same motif.

    Parameters
    ----------
    observed : array (n_events,)
        Detector score of each event.
    motif : array (n_events,) of int
        Motif of each event.
    null_scores : array (n_surrogates, n_trials, n_time, n_motifs)
        Detector scores on the surrogate rasters.
    max_statistic : bool
        False: per-bin p-value ``(1 + #{surrogate bins ≥ s}) / (1 + #bins)``.
        True: family-wise over the whole recording, ``(1 + #{surrogates whose
        maximum ≥ s}) / (1 + n_surrogates)``.

    Returns
    -------
    ndarray (n_events,)

    Examples
    --------
    >>> null = np.arange(10.)[:, None, None, None]  # 10 surrogates, one bin each
    >>> surrogate_p_values(np.array([8.5]), np.array([0]), null).round(3).tolist()
    [0.182]
    """
    observed = np.asarray(observed, dtype=np.float64)
    motif = np.asarray(motif, dtype=np.int64)
    null = np.asarray(null_scores, dtype=np.float64)
    n_motifs = null.shape[-1]
    p = np.ones(len(observed))
    for m in range(n_motifs):
        values = null[..., m]
        values = (values.reshape(values.shape[0], -1).max(axis=1) if max_statistic
                  else values.ravel())
        values = np.sort(values)
        sel = motif == m
        n_ge = len(values) - np.searchsorted(values, observed[sel], side="left")
        p[sel] = (1.0 + n_ge) / (1.0 + len(values))
    return p
