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
_BLOCK_CELLS = 1 << 21  # output cells per block of bins (~2 MB of uint8)


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


def _bin_index(times: np.ndarray, origin, bin_size: float) -> np.ndarray:
    """Bin index of each time against edges ``origin + k * bin_size``, exact at the edges.

    ``origin`` may be a scalar or an array aligned with ``times``. Division gives
    the index; only times whose quotient lies within 1e-6 of an integer (where
    rounding could put them on the wrong side of an edge) are checked against the
    float64 edges themselves and moved by one if needed.
    """
    q = np.subtract(times, origin)
    q /= bin_size
    k = np.floor(q).astype(np.int64)
    q -= k  # fractional position inside the bin
    near = np.flatnonzero((q < 1e-6) | (q > 1 - 1e-6))
    if near.size:
        t = times[near]
        o = origin[near] if np.ndim(origin) else origin
        kn = k[near]
        kn -= t < o + kn * bin_size
        kn += t >= o + (kn + 1) * bin_size
        k[near] = kn
    return k


def _write_runs(out: np.ndarray, positions: np.ndarray, dtype) -> np.ndarray:
    """Add the count of every run of equal ``positions`` into flat ``out``.

    Equal positions must be consecutive (true when events are grouped by unit and
    ordered in time within a unit); each occupied cell is written once. ``out``
    is widened to a larger unsigned dtype when a count does not fit (unless the
    caller fixed ``dtype``), and returned.
    """
    if positions.size == 0:
        return out
    starts = np.flatnonzero(positions[1:] != positions[:-1]) + 1
    runs = np.diff(starts, prepend=0, append=positions.size)
    starts = np.concatenate([[0], starts])
    if dtype is None and runs.max() > np.iinfo(out.dtype).max:
        out = out.astype(count_dtype(int(runs.max())))
    out[positions[starts]] = runs
    return out


def bin_spike_trains(spikes: SpikeTrains, start: float, stop: float, bin_size: float,
                     *, dtype=None) -> tuple[np.ndarray, np.ndarray]:
    """Count spikes of every unit in regular bins over ``[start, stop)``.

    O(n_spikes in range + n_bins * n_units): a binary search per unit finds the
    spikes in range, each gets its bin by arithmetic checked against the edges,
    and the counts are written once per occupied bin. An epoch of a long session
    costs what the epoch holds.

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
    n_units = spikes.n_units
    edges = bin_edges(start, n_bins, bin_size)
    # Work through the output in blocks of time bins small enough to stay in cache:
    # the scatter of counts is then local instead of striding over the whole matrix.
    block = max(1, _BLOCK_CELLS // max(n_units, 1))
    block_starts = np.arange(0, n_bins, block)
    index = spikes.searchsorted(np.append(edges[block_starts], edges[-1]))
    out = np.zeros(n_bins * n_units, dtype=count_dtype(0, dtype))
    units = np.arange(n_units, dtype=np.int64)
    for j, k0 in enumerate(block_starts):
        k1 = min(k0 + block, n_bins)
        lo, hi = index[:, j], index[:, j + 1]
        times = spikes.times[concatenate_ranges(lo, hi)]
        positions = _bin_index(times, start, bin_size)
        # Times inside [edges[k0], edges[k1]) have k0 <= k < k1; clip guards the last ulp.
        np.clip(positions, k0, k1 - 1, out=positions)
        positions *= n_units
        positions += np.repeat(units, hi - lo)
        # Spikes are grouped by unit and sorted in time: equal positions are consecutive.
        out = _write_runs(out, positions, dtype)
    return out.reshape(n_bins, n_units), edges


def align_spike_trains(spikes: SpikeTrains, event_times, window: tuple[float, float],
                       bin_size: float, *, dtype=None) -> tuple[np.ndarray, np.ndarray]:
    """Count spikes in bins of a window around each event; windows may overlap.

    For each event ``e`` the bins are ``[e + t0 + k * bin_size, e + t0 + (k + 1) * bin_size)``
    for ``k = 0 .. n_bins - 1``. Per unit, a binary search of the window starts and
    ends in its spike times finds the spikes of every window; only those are
    touched, so the cost is O(n_units * n_events * log + spikes in windows +
    output), with no per-trial loop.

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
    n_trials, n_units = events.size, spikes.n_units
    rel = bin_edges(t0, n_bins, bin_size)
    # Window k spans [left_k, right_k) with the edges computed as the docstring states;
    # sorting by left also sorts right (adding a constant is monotone in floating point).
    order = np.argsort(events, kind="stable")
    left = events[order] + t0
    right = left + n_bins * bin_size
    first, last = spikes.searchsorted(left), spikes.searchsorted(right)
    spike_idx = concatenate_ranges(first.ravel(), last.ravel())
    # One group per (unit, sorted window), unit-major; spread each group's window start
    # and output offset over its spikes with np.repeat (sequential, no division).
    per_group = (last - first).ravel()
    origin = np.repeat(np.tile(left, n_units), per_group)
    group_base = (order[None, :] * (n_bins * n_units)
                  + np.arange(n_units, dtype=np.int64)[:, None]).ravel()
    positions = _bin_index(spikes.times[spike_idx], origin, bin_size)
    del origin
    np.clip(positions, 0, n_bins - 1, out=positions)
    positions *= n_units
    positions += np.repeat(group_base, per_group)
    # Pairs are grouped by (unit, window) and sorted in time inside each group.
    out = np.zeros(n_trials * n_bins * n_units, dtype=count_dtype(0, dtype))
    return _write_runs(out, positions, dtype).reshape(n_trials, n_bins, n_units), rel
