"""Ragged spike trains in the NWB flat-array-plus-offsets layout."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np

from neurodecode.errors import SpikeTimesWarning

__all__ = ["SpikeTrains", "concatenate_ranges"]


def concatenate_ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Indices ``[starts[0]:stops[0]] ++ [starts[1]:stops[1]] ++ ...`` without a Python loop.

    Parameters
    ----------
    starts, stops : ndarray of int, shape (n_ranges,)
        Half-open index ranges; ``stops >= starts``.

    Returns
    -------
    ndarray of int64, shape (sum(stops - starts),)

    Examples
    --------
    >>> concatenate_ranges(np.array([0, 5]), np.array([2, 8]))
    array([0, 1, 5, 6, 7])
    """
    starts = np.asarray(starts, dtype=np.int64).reshape(-1)
    stops = np.asarray(stops, dtype=np.int64).reshape(-1)
    nonempty = stops > starts
    starts, stops = starts[nonempty], stops[nonempty]
    if starts.size == 0:
        return np.zeros(0, dtype=np.int64)
    lengths = stops - starts
    # Steps of +1 inside a range and a jump to the next range's start: one cumsum.
    steps = np.ones(int(lengths.sum()), dtype=np.int64)
    steps[0] = starts[0]
    steps[np.cumsum(lengths[:-1])] = starts[1:] - stops[:-1] + 1
    return np.cumsum(steps, out=steps)


class SpikeTrains:
    """Spike times of many units, stored flat with offsets (CSR, as NWB stores them).

    Unit ``i`` owns ``times[offsets[i]:offsets[i + 1]]``. Times are float64 seconds,
    sorted within each unit. Nothing here builds a Python object per unit, so
    reading, restricting and binning cost O(number of spikes).

    Parameters
    ----------
    times : array_like of float, shape (n_spikes,)
        All spike times, unit after unit.
    offsets : array_like of int, shape (n_units + 1,)
        Start of each unit's spikes in ``times``, with ``offsets[-1] == n_spikes``.
        NWB's ``spike_times_index`` (end positions) converts with
        :meth:`from_nwb_index`.
    unit_ids : array_like, shape (n_units,), optional
        Identifier of each unit; defaults to ``0 .. n_units - 1``.
    sort : {"check", "sort", "assume"}
        ``"check"`` (default) raises if any unit's times are not ascending or
        contain NaN; ``"sort"`` sorts them and drops NaNs with a
        :class:`~neurodecode.errors.SpikeTimesWarning` naming the units;
        ``"assume"`` skips the check (for data known to be clean).

    Examples
    --------
    >>> st = SpikeTrains.from_list([[0.1, 0.5], [], [0.2]], unit_ids=[7, 8, 9])
    >>> st.n_units, st.n_spikes
    (3, 3)
    >>> st.unit(9)
    array([0.2])
    """

    def __init__(self, times, offsets, unit_ids=None, *, sort: str = "check"):
        times = np.ascontiguousarray(times, dtype=np.float64).reshape(-1)
        offsets = np.asarray(offsets)
        if offsets.ndim != 1 or offsets.size == 0:
            raise ValueError("SpikeTrains: `offsets` must be a 1-D array of n_units + 1 positions.")
        # Real files store the index as uint8/uint16/uint32: widen before any arithmetic.
        offsets = offsets.astype(np.int64)
        if offsets[0] != 0 or offsets[-1] != times.size or np.any(np.diff(offsets) < 0):
            raise ValueError(
                "SpikeTrains: `offsets` must start at 0, be non-decreasing and end at "
                f"len(times)={times.size}; got first={offsets[0]}, last={offsets[-1]}."
            )
        n_units = offsets.size - 1
        if unit_ids is None:
            unit_ids = np.arange(n_units)
        unit_ids = np.asarray(unit_ids)
        if unit_ids.shape != (n_units,):
            raise ValueError(
                f"SpikeTrains: `unit_ids` has {unit_ids.size} entries for {n_units} units."
            )
        if len(np.unique(unit_ids)) != n_units:
            raise ValueError("SpikeTrains: `unit_ids` must be unique.")
        if sort not in ("check", "sort", "assume"):
            raise ValueError("SpikeTrains: `sort` must be 'check', 'sort' or 'assume', "
                             f"not {sort!r}.")
        self.times = times
        self.offsets = offsets
        self.unit_ids = unit_ids
        if sort != "assume":
            bad_order, bad_nan = self._problem_units()
            if bad_order.size or bad_nan.size:
                if sort == "check":
                    raise ValueError(_describe_problems(self.unit_ids, bad_order, bad_nan)
                                     + " Pass sort='sort' to repair them.")
                warnings.warn(_describe_problems(self.unit_ids, bad_order, bad_nan)
                              + " They were sorted and NaNs dropped.", SpikeTimesWarning,
                              stacklevel=2)
                self._repair()

    # ----------------------------------------------------------------- builders
    @classmethod
    def from_list(cls, trains: Iterable[Sequence[float]], unit_ids=None, *, sort="check"):
        """Build from one array of spike times per unit."""
        arrays = [np.asarray(t, dtype=np.float64).reshape(-1) for t in trains]
        lengths = np.array([a.size for a in arrays], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        times = np.concatenate(arrays) if arrays else np.zeros(0)
        return cls(times, offsets, unit_ids, sort=sort)

    @classmethod
    def from_nwb_index(cls, times, index, unit_ids=None, *, sort="check"):
        """Build from NWB's ``spike_times`` and ``spike_times_index`` (end positions)."""
        index = np.asarray(index).astype(np.int64)
        return cls(times, np.concatenate([[0], index]), unit_ids, sort=sort)

    @classmethod
    def from_labels(cls, times, labels, unit_ids=None):
        """Build from spike times and the unit each spike belongs to (any order).

        Parameters
        ----------
        times : array_like of float, shape (n_spikes,)
        labels : array_like of int, shape (n_spikes,)
            Index ``0 .. n_units - 1`` of each spike's unit (positions in ``unit_ids``).
        unit_ids : array_like, optional
            Defaults to ``0 .. labels.max()``.
        """
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if times.shape != labels.shape:
            raise ValueError("SpikeTrains.from_labels: `times` and `labels` differ in length.")
        n_units = len(unit_ids) if unit_ids is not None else int(labels.max(initial=-1)) + 1
        if labels.size and (labels.min() < 0 or labels.max() >= n_units):
            raise ValueError(f"SpikeTrains.from_labels: labels must lie in [0, {n_units}).")
        order = np.lexsort((times, labels))
        offsets = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=n_units))])
        return cls(times[order], offsets, unit_ids, sort="assume")

    # ---------------------------------------------------------------- accessors
    @property
    def n_units(self) -> int:
        return self.offsets.size - 1

    @property
    def n_spikes(self) -> int:
        return int(self.times.size)

    @property
    def counts(self) -> np.ndarray:
        """Number of spikes of each unit, shape (n_units,)."""
        return np.diff(self.offsets)

    @property
    def labels(self) -> np.ndarray:
        """Position (0 .. n_units - 1) of the unit of each spike, shape (n_spikes,)."""
        return np.repeat(np.arange(self.n_units, dtype=np.int64), self.counts)

    def __len__(self) -> int:
        return self.n_units

    def __getitem__(self, i: int) -> np.ndarray:
        """Spike times of the unit at position ``i`` (a view)."""
        if not -self.n_units <= i < self.n_units:
            raise IndexError(f"unit position {i} out of range for {self.n_units} units")
        i %= self.n_units
        return self.times[self.offsets[i]:self.offsets[i + 1]]

    def __iter__(self):
        for i in range(self.n_units):
            yield self[i]

    def unit(self, unit_id) -> np.ndarray:
        """Spike times of the unit with identifier ``unit_id``."""
        pos = np.flatnonzero(self.unit_ids == unit_id)
        if pos.size == 0:
            raise KeyError(f"no unit with id {unit_id!r}")
        return self[int(pos[0])]

    def time_range(self) -> tuple[float, float]:
        """First and last spike time over all units (NaN, NaN when empty)."""
        if self.n_spikes == 0:
            return (np.nan, np.nan)
        return float(self.times.min()), float(self.times.max())

    def __repr__(self) -> str:
        lo, hi = self.time_range()
        return f"<SpikeTrains: {self.n_units} units, {self.n_spikes} spikes, {lo:.3f}-{hi:.3f} s>"

    def equals(self, other: SpikeTrains) -> bool:
        """True when unit ids, offsets and spike times are identical."""
        return (
            isinstance(other, SpikeTrains)
            and np.array_equal(self.unit_ids, other.unit_ids)
            and np.array_equal(self.offsets, other.offsets)
            and np.array_equal(self.times, other.times)
        )

    # --------------------------------------------------------------- selection
    def select(self, positions) -> SpikeTrains:
        """Units at the given positions (int array or boolean mask), in that order."""
        positions = np.asarray(positions)
        if positions.dtype == bool:
            if positions.shape != (self.n_units,):
                raise ValueError(f"boolean unit mask has shape {positions.shape}, "
                                 f"expected ({self.n_units},)")
            positions = np.flatnonzero(positions)
        positions = positions.astype(np.int64).reshape(-1)
        starts, stops = self.offsets[positions], self.offsets[positions + 1]
        idx = concatenate_ranges(starts, stops)
        offsets = np.concatenate([[0], np.cumsum(stops - starts)])
        return SpikeTrains(self.times[idx], offsets, self.unit_ids[positions], sort="assume")

    def searchsorted(self, values) -> np.ndarray:
        """Per unit, the global index of the first spike ``>= value`` for each value.

        Parameters
        ----------
        values : array_like of float, shape (n_values,)
            Ascending times.

        Returns
        -------
        ndarray of int64, shape (n_units, n_values)
            Indices into :attr:`times`; unit ``i``'s spikes in ``[values[j], values[j+1])``
            are ``times[out[i, j]:out[i, j + 1]]``. One binary search per unit:
            O(n_units * n_values * log n_spikes), no spike copied.
        """
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        out = np.empty((self.n_units, values.size), dtype=np.int64)
        for i in range(self.n_units):
            a, b = self.offsets[i], self.offsets[i + 1]
            out[i] = a + np.searchsorted(self.times[a:b], values, side="left")
        return out

    def spike_ranges(self, start: float, stop: float) -> tuple[np.ndarray, np.ndarray]:
        """Per unit, the index range ``[lo, hi)`` of spikes with ``start <= t < stop``."""
        idx = self.searchsorted([start, stop])
        return idx[:, 0], idx[:, 1]

    def restrict(self, start: float, stop: float) -> SpikeTrains:
        """Spikes with ``start <= t < stop``, all units kept."""
        lo, hi = self.spike_ranges(start, stop)
        idx = concatenate_ranges(lo, hi)
        offsets = np.concatenate([[0], np.cumsum(hi - lo)])
        return SpikeTrains(self.times[idx], offsets, self.unit_ids, sort="assume")

    # ------------------------------------------------------------------ repair
    def _problem_units(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions of units whose times descend somewhere, and of units with NaN."""
        nan = np.isnan(self.times)
        labels = None
        bad_nan = np.zeros(0, dtype=np.int64)
        if nan.any():
            labels = self.labels
            bad_nan = np.unique(labels[nan])
        descending = np.flatnonzero(self.times[1:] < self.times[:-1])
        # A descent across a unit boundary is allowed: drop those.
        boundary = np.zeros(self.times.size, dtype=bool)
        boundary[self.offsets[1:-1][self.offsets[1:-1] < self.times.size]] = True
        descending = descending[~boundary[descending + 1]]
        if descending.size:
            labels = self.labels if labels is None else labels
            bad_order = np.unique(labels[descending + 1])
        else:
            bad_order = np.zeros(0, dtype=np.int64)
        return bad_order, bad_nan

    def _repair(self) -> None:
        labels = self.labels
        keep = ~np.isnan(self.times)
        times, labels = self.times[keep], labels[keep]
        order = np.lexsort((times, labels))
        self.times = np.ascontiguousarray(times[order])
        self.offsets = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=self.n_units))])


def _describe_problems(unit_ids, bad_order, bad_nan) -> str:
    parts = []
    if bad_order.size:
        parts.append(f"spike times not sorted ascending in {bad_order.size} unit(s) "
                     f"(unit ids {_short_list(unit_ids[bad_order])})")
    if bad_nan.size:
        parts.append(f"NaN spike times in {bad_nan.size} unit(s) "
                     f"(unit ids {_short_list(unit_ids[bad_nan])})")
    return "SpikeTrains: " + "; ".join(parts) + "."


def _short_list(values, limit: int = 10) -> str:
    values = [v.item() if hasattr(v, "item") else v for v in values]
    text = ", ".join(map(str, values[:limit]))
    return text + (f", ... ({len(values) - limit} more)" if len(values) > limit else "")
