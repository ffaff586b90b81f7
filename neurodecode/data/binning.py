"""Spike counting: the maths of binning and event alignment as pure functions.

Bins are half-open, ``[left, right)``: a spike exactly on an edge counts in the
bin to its right. (AllenSDK's ``presentationwise_spike_counts`` uses closed bins
through ``np.histogram``-style edges, so spikes exactly on its last edge differ.)
Edges are always ``left_k = origin + k * bin_size`` computed in float64, and the
counting code checks its arithmetic against those edges, so results equal a
naive ``np.histogram`` over the same edges (with the last bin made half-open).
"""

from __future__ import annotations

import numpy as np

from neurodecode.data.spiketrains import SpikeTrains, concatenate_ranges

__all__ = ["n_regular_bins", "bin_edges", "bin_spike_trains", "align_spike_trains",
           "count_dtype"]

_EDGE_TOL = 1e-9


def n_regular_bins(start: float, stop: float, bin_size: float) -> int:
    """Number of whole bins of ``bin_size`` in ``[start, stop)``; a partial last bin is dropped.

    A span that is a whole number of bins up to floating-point error (e.g.
    ``(0.3 - 0.0) / 0.1``) counts as whole.
    """
    if not np.isfinite(start) or not np.isfinite(stop):
        raise ValueError(f"bin range must be finite, got start={start}, stop={stop}")
    if not bin_size > 0:
        raise ValueError(f"`bin_size` must be a positive number of seconds, got {bin_size!r}")
    if stop <= start:
        raise ValueError(f"empty bin range: start={start} >= stop={stop}")
    return int(np.floor((stop - start) / bin_size + _EDGE_TOL))


def bin_edges(start: float, n_bins: int, bin_size: float) -> np.ndarray:
    """Edges ``start + k * bin_size`` for ``k = 0 .. n_bins``, shape (n_bins + 1,)."""
    return start + np.arange(n_bins + 1, dtype=np.float64) * bin_size


def count_dtype(max_count: int, dtype=None) -> np.dtype:
    """Smallest unsigned integer dtype holding ``max_count`` (uint8 upward), or ``dtype``."""
    if dtype is not None:
        return np.dtype(dtype)
    for candidate in (np.uint8, np.uint16, np.uint32):
        if max_count <= np.iinfo(candidate).max:
            return np.dtype(candidate)
    return np.dtype(np.uint64)


def _bin_index(offsets_from_origin: np.ndarray, origin, bin_size: float) -> np.ndarray:
    """Bin index of each time against edges ``origin + k * bin_size``, exact at the edges.

    ``origin`` may be a scalar or an array aligned with the times. The division is
    a first guess; comparisons against the float64 edges fix the off-by-one cases
    that rounding makes for times sitting on an edge.
    """
    k = np.floor(offsets_from_origin / bin_size).astype(np.int64)
    times = origin + offsets_from_origin
    left = origin + k * bin_size
    k -= times < left
    right = origin + (k + 1) * bin_size
    k += times >= right
    return k


def bin_spike_trains(spikes: SpikeTrains, start: float, stop: float, bin_size: float,
                     *, dtype=None) -> tuple[np.ndarray, np.ndarray]:
    """Count spikes of every unit in regular bins over ``[start, stop)``.

    One global ``np.bincount`` over the spikes in range: O(n_spikes + n_bins * n_units).
    Only the spikes inside the range are touched (a binary search per unit finds them),
    so an epoch of a long session costs what the epoch holds.

    Parameters
    ----------
    spikes : SpikeTrains
    start, stop : float
        Range in seconds; bins are ``[start + k * bin_size, start + (k + 1) * bin_size)``
        and a partial last bin is dropped.
    bin_size : float
        Seconds.
    dtype : numpy dtype, optional
        Counts dtype; default the smallest unsigned integer that holds the largest count.

    Returns
    -------
    counts : ndarray of unsigned int, shape (n_bins, n_units)
    edges : ndarray of float64, shape (n_bins + 1,)

    Examples
    --------
    >>> st = SpikeTrains.from_list([[0.05, 0.15, 0.16], [0.25]])
    >>> counts, edges = bin_spike_trains(st, 0.0, 0.3, 0.1)
    >>> counts.tolist()
    [[1, 0], [2, 0], [0, 1]]
    """
    n_bins = n_regular_bins(start, stop, bin_size)
    edges = bin_edges(start, n_bins, bin_size)
    lo, hi = spikes.spike_ranges(edges[0], edges[-1])
    idx = concatenate_ranges(lo, hi)
    times = spikes.times[idx]
    units = np.repeat(np.arange(spikes.n_units, dtype=np.int64), hi - lo)
    k = _bin_index(times - start, start, bin_size)
    # Rounding can only push a time that is inside [edges[0], edges[-1]) by one bin; clip.
    np.clip(k, 0, n_bins - 1, out=k)
    flat = np.bincount(k * spikes.n_units + units, minlength=n_bins * spikes.n_units)
    counts = flat.reshape(n_bins, spikes.n_units)
    return counts.astype(count_dtype(int(counts.max(initial=0)), dtype), copy=False), edges


def align_spike_trains(spikes: SpikeTrains, event_times, window: tuple[float, float],
                       bin_size: float, *, dtype=None) -> tuple[np.ndarray, np.ndarray]:
    """Count spikes in bins of a window around each event; windows may overlap.

    For each event ``e`` the bins are ``[e + t0 + k * bin_size, e + t0 + (k + 1) * bin_size)``
    for ``k = 0 .. n_bins - 1``. Each unit's spike times are searched once for all
    window edges (``np.searchsorted``), so the cost is O(n_spikes in windows +
    n_events * n_bins * n_units) with no per-trial loop.

    Parameters
    ----------
    spikes : SpikeTrains
    event_times : array_like of float, shape (n_trials,)
        Event (alignment) times in seconds, any order.
    window : (float, float)
        ``(t0, t1)`` relative to each event, in seconds; a partial last bin is dropped.
    bin_size : float
    dtype : numpy dtype, optional

    Returns
    -------
    counts : ndarray of unsigned int, shape (n_trials, n_bins, n_units)
    relative_edges : ndarray of float64, shape (n_bins + 1,)
        Edges relative to the event.

    Examples
    --------
    >>> st = SpikeTrains.from_list([[0.9, 1.05, 2.0, 2.01]])
    >>> counts, rel = align_spike_trains(st, [1.0, 2.0], (-0.1, 0.1), 0.1)
    >>> counts[:, :, 0].tolist()
    [[1, 1], [0, 2]]
    """
    events = np.asarray(event_times, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(events)):
        raise ValueError("`event_times` contains NaN or infinite values.")
    t0, t1 = float(window[0]), float(window[1])
    n_bins = n_regular_bins(t0, t1, bin_size)
    rel = bin_edges(t0, n_bins, bin_size)
    # Absolute edges (n_trials, n_bins + 1), computed the way the docstring states.
    edges = (events[:, None] + t0) + np.arange(n_bins + 1) * bin_size
    flat_edges = edges.ravel()
    counts = np.empty((events.size, n_bins, spikes.n_units), dtype=np.uint32)
    for u in range(spikes.n_units):
        pos = np.searchsorted(spikes[u], flat_edges, side="left").reshape(events.size, -1)
        counts[:, :, u] = np.diff(pos, axis=1)
    return counts.astype(count_dtype(int(counts.max(initial=0)), dtype), copy=False), rel
