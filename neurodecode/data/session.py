"""`Session`: one recording — spikes, units, intervals, behaviour, stimuli, metadata."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from neurodecode.data.behavior import resample_series, series_time_dim
from neurodecode.data.binning import align_spike_trains, bin_spike_trains
from neurodecode.data.spiketrains import SpikeTrains
from neurodecode.data.tensor import unit_coords

__all__ = ["Session"]


class Session:
    """One recording session, the common currency of neurodecode.

    Parameters
    ----------
    spikes : SpikeTrains
        Spike times of every unit.
    units : pandas.DataFrame, optional
        One row per unit, indexed by unit id (index name ``"unit_id"``) in the
        order of ``spikes.unit_ids``; columns such as ``brain_area`` and quality
        metrics. Default: an empty table on the unit ids.
    intervals : dict of str to DataFrame, optional
        Interval tables (``"trials"``, ``"epochs"``, ``"*_presentations"``), each
        with ``start_time`` and ``stop_time`` columns in seconds.
    behavior : xarray.Dataset, optional
        Behaviour series. Each variable's first dim is its own time axis with a
        coordinate in seconds (conventionally ``"<name>_time"``), so series sampled
        at different rates live side by side; further dims are components
        (e.g. ``position`` with ``("position_time", "position_axis")``).
    stimuli : dict of str to DataArray, optional
        Stimulus templates, dims ``("frame", "y", "x")`` (plus ``"channel"`` for colour).
    metadata : dict, optional
        ``session_id``, ``session_start_time``, ``subject``, ``description``, ``source`` …

    Examples
    --------
    >>> st = SpikeTrains.from_list([[0.1, 0.2, 1.5], [0.7]], unit_ids=[10, 11])
    >>> units = pd.DataFrame({"brain_area": ["CA1", "CA3"]},
    ...                      index=pd.Index([10, 11], name="unit_id"))
    >>> s = Session(st, units, metadata={"session_id": "demo"})
    >>> X = s.bin(0.5, start=0.0, stop=2.0)
    >>> X.dims, X.sel(unit=10).values.tolist()
    (('time', 'unit'), [2, 0, 0, 1])
    """

    def __init__(self, spikes: SpikeTrains, units: pd.DataFrame | None = None,
                 intervals: Mapping[str, pd.DataFrame] | None = None,
                 behavior: xr.Dataset | None = None,
                 stimuli: Mapping[str, xr.DataArray] | None = None,
                 metadata: Mapping | None = None):
        if not isinstance(spikes, SpikeTrains):
            raise TypeError(f"Session: `spikes` must be a SpikeTrains, got {type(spikes).__name__}")
        if units is None:
            units = pd.DataFrame(index=pd.Index(spikes.unit_ids, name="unit_id"))
        if not isinstance(units, pd.DataFrame):
            raise TypeError("Session: `units` must be a pandas DataFrame indexed by unit id.")
        if len(units) != spikes.n_units or not np.array_equal(units.index.to_numpy(),
                                                              spikes.unit_ids):
            raise ValueError(
                f"Session: the units table ({len(units)} rows) must be indexed by the spike "
                f"trains' unit ids ({spikes.n_units} units), in the same order.")
        units = units.copy()
        units.index.name = "unit_id"
        intervals = {str(k): v for k, v in (intervals or {}).items()}
        for name, table in intervals.items():
            missing = {"start_time", "stop_time"} - set(table.columns)
            if missing:
                raise ValueError(f"Session: intervals table {name!r} lacks column(s) "
                                 f"{sorted(missing)}; expected start_time and stop_time in s.")
        behavior = xr.Dataset() if behavior is None else behavior
        for name, var in behavior.data_vars.items():
            series_time_dim(var, str(name))
        self.spikes = spikes
        self.units = units
        self.intervals = intervals
        self.behavior = behavior
        self.stimuli = dict(stimuli or {})
        self.metadata = dict(metadata or {})

    # ---------------------------------------------------------------- basics
    @property
    def session_id(self) -> str:
        return str(self.metadata.get("session_id", ""))

    @property
    def unit_ids(self) -> np.ndarray:
        return self.spikes.unit_ids

    @property
    def n_units(self) -> int:
        return self.spikes.n_units

    def time_range(self) -> tuple[float, float]:
        """``(start, stop)`` of the recording: spikes, intervals and behaviour together."""
        lows, highs = [], []
        lo, hi = self.spikes.time_range()
        if np.isfinite(lo):
            lows.append(lo)
            highs.append(hi)
        for table in self.intervals.values():
            for column, bucket in (("start_time", lows), ("stop_time", highs)):
                values = table[column].to_numpy(dtype=np.float64)
                values = values[np.isfinite(values)]
                if values.size:
                    bucket.append(float(values.min() if bucket is lows else values.max()))
        for name, var in self.behavior.data_vars.items():
            t = var[series_time_dim(var, str(name))].values
            if t.size:
                lows.append(float(t[0]))
                highs.append(float(t[-1]))
        if not lows:
            return (np.nan, np.nan)
        return min(lows), max(highs)

    @property
    def duration(self) -> float:
        lo, hi = self.time_range()
        return hi - lo

    def __repr__(self) -> str:
        lo, hi = self.time_range()
        parts = [f"<Session {self.session_id!r}: {self.n_units} units, "
                 f"{self.spikes.n_spikes} spikes, {lo:.1f}-{hi:.1f} s"]
        if "brain_area" in self.units:
            areas = self.units["brain_area"].value_counts()
            parts.append("areas " + ", ".join(f"{a or '(unknown)'}:{n}"
                                              for a, n in areas.items()))
        if self.intervals:
            parts.append("intervals " + ", ".join(f"{k}({len(v)})"
                                                  for k, v in self.intervals.items()))
        if self.behavior.data_vars:
            parts.append("behavior " + ", ".join(map(str, self.behavior.data_vars)))
        if self.stimuli:
            parts.append("stimuli " + ", ".join(self.stimuli))
        return "; ".join(parts) + ">"

    def equals(self, other: Session, *, check_metadata: bool = False) -> bool:
        """True when spikes, units, intervals, behaviour and stimuli are the same."""
        if not isinstance(other, Session) or not self.spikes.equals(other.spikes):
            return False
        if not _frames_equal(self.units, other.units):
            return False
        if set(self.intervals) != set(other.intervals) or not all(
                _frames_equal(self.intervals[k], other.intervals[k]) for k in self.intervals):
            return False
        if not self.behavior.equals(other.behavior):
            return False
        if set(self.stimuli) != set(other.stimuli) or not all(
                self.stimuli[k].equals(other.stimuli[k]) for k in self.stimuli):
            return False
        return not check_metadata or self.metadata == other.metadata

    def _replace(self, **changes) -> Session:
        fields = dict(spikes=self.spikes, units=self.units, intervals=self.intervals,
                      behavior=self.behavior, stimuli=self.stimuli, metadata=self.metadata)
        fields.update(changes)
        return Session(**fields)

    # -------------------------------------------------------------- selection
    def select_units(self, mask=None, *, brain_area=None, unit_ids=None, query: str | None = None,
                     **column_filters) -> Session:
        """A session with only some units.

        Parameters
        ----------
        mask : array_like of bool, shape (n_units,), optional
        brain_area : str or list of str, optional
            Keep units whose ``brain_area`` is one of these.
        unit_ids : array_like, optional
            Keep these units, in this order.
        query : str, optional
            A ``DataFrame.query`` expression on the units table, e.g.
            ``"quality == 'good' and isi_violations < 0.5"``.
        **column_filters
            ``column=value`` (equality) or ``column=[values]`` (membership).

        Examples
        --------
        >>> st = SpikeTrains.from_list([[0.1], [0.2], [0.3]], unit_ids=[1, 2, 3])
        >>> units = pd.DataFrame({"brain_area": ["CA1", "CA3", "CA1"], "snr": [5, 1, 3]},
        ...                      index=pd.Index([1, 2, 3], name="unit_id"))
        >>> Session(st, units).select_units(brain_area="CA1", query="snr > 4").unit_ids
        array([1])
        """
        keep = np.ones(self.n_units, dtype=bool) if mask is None else np.asarray(mask, bool)
        if keep.shape != (self.n_units,):
            raise ValueError(f"select_units: `mask` must have shape ({self.n_units},).")
        if brain_area is not None:
            column_filters["brain_area"] = brain_area
        for column, wanted in column_filters.items():
            if column not in self.units.columns:
                raise KeyError(f"select_units: the units table has no column {column!r}; "
                               f"columns are {list(self.units.columns)}.")
            values = self.units[column].to_numpy()
            wanted = [wanted] if np.isscalar(wanted) else list(wanted)
            keep &= np.isin(values, wanted)
        if query is not None:
            keep &= self.units.index.isin(self.units.query(query).index)
        positions = np.flatnonzero(keep)
        if unit_ids is not None:
            wanted_ids = np.asarray(unit_ids)
            lookup = {uid: i for i, uid in enumerate(self.unit_ids.tolist())}
            missing = [u for u in wanted_ids.tolist() if u not in lookup]
            if missing:
                raise KeyError(f"select_units: unknown unit ids {missing[:10]}.")
            order = np.array([lookup[u] for u in wanted_ids.tolist()], dtype=np.int64)
            positions = order[keep[order]]
        return self._replace(spikes=self.spikes.select(positions),
                             units=self.units.iloc[positions])

    # ---------------------------------------------------------------- tensors
    def _tensor_attrs(self, bin_size: float) -> dict:
        return {"bin_size": float(bin_size), "session_id": self.session_id,
                "source": str(self.metadata.get("source", ""))}

    def bin(self, bin_size: float, start: float | None = None, stop: float | None = None, *,
            epoch: str | tuple | None = None, behavior: bool | list[str] = False,
            behavior_method: str = "mean", dtype=None) -> xr.DataArray:
        """Spike counts in regular bins, ``("time", "unit")``.

        Bins are half-open ``[left, right)`` from ``start`` in steps of ``bin_size``;
        a partial last bin is dropped. Cost O(spikes in range + bins): a long
        session can be binned epoch by epoch without a whole-session matrix.

        Parameters
        ----------
        bin_size : float
            Seconds.
        start, stop : float, optional
            Range in seconds; default the session's :meth:`time_range`.
        epoch : str or (str, int) or (float, float), optional
            Bin one epoch instead: the name of an intervals table with one row,
            ``(table, row)``, or an explicit ``(start, stop)``.
        behavior : bool or list of str
            Attach behaviour variables (all, or those named) resampled onto the bin
            centres as coords on ``time``; a variable with components becomes one
            coord per component, ``"<name>_<component>"``.
        behavior_method : {"mean", "interp", "nearest"}
            See :func:`neurodecode.data.behavior.resample_series`.
        dtype : numpy dtype, optional
            Count dtype; default the smallest unsigned integer that fits.

        Returns
        -------
        xr.DataArray, dims ``("time", "unit")``
            ``time`` = bin centres (s); per-unit coords from the units table.
        """
        start, stop = self._resolve_range(start, stop, epoch)
        counts, edges = bin_spike_trains(self.spikes, start, stop, bin_size, dtype=dtype)
        centres = (edges[:-1] + edges[1:]) / 2
        X = xr.DataArray(
            counts, dims=("time", "unit"),
            coords={"time": centres, "unit": self.unit_ids, **unit_coords(self.units)},
            attrs=self._tensor_attrs(bin_size), name="spike_counts")
        X.time.attrs["units"] = "s"
        if behavior is not False:
            names = None if behavior is True else list(behavior)
            resampled = self.behavior_at(centres, bin_size, names=names, method=behavior_method)
            X = X.assign_coords(_flatten_components(resampled, "time"))
        return X

    def align(self, events, window: tuple[float, float], bin_size: float, *,
              event_column: str = "start_time", behavior: bool | list[str] = False,
              behavior_method: str = "mean", dtype=None) -> xr.DataArray:
        """Spike counts around events, ``("trial", "time", "unit")``.

        Windows may overlap. Bins are half-open ``[left, right)`` (AllenSDK's
        ``presentationwise_spike_counts`` closes the last edge instead).

        Parameters
        ----------
        events : str, DataFrame or array_like of float
            The name of an intervals table (e.g. ``"trials"``), a table with an
            ``event_column``, or event times in seconds. Table columns of scalar
            type become per-trial coords.
        window : (float, float)
            Seconds relative to each event, e.g. ``(-0.5, 1.0)``.
        bin_size : float
            Seconds.
        event_column : str
            Column holding the event time when ``events`` is a table.
        behavior, behavior_method
            As in :meth:`bin`; resampled at each trial's bin centres.
        dtype : numpy dtype, optional

        Returns
        -------
        xr.DataArray, dims ``("trial", "time", "unit")``
            ``time`` = bin centres relative to the event; ``trial`` coords include
            ``event_time`` and the table's columns.

        Examples
        --------
        >>> st = SpikeTrains.from_list([[0.96, 1.02, 2.04]])
        >>> X = Session(st).align([1.0, 2.0], (-0.1, 0.1), 0.05)
        >>> X.sizes["trial"], X.sizes["time"], X.sum("unit").values.tolist()
        (2, 4, [[0, 1, 1, 0], [0, 0, 1, 0]])
        """
        table, times = self._resolve_events(events, event_column)
        counts, rel_edges = align_spike_trains(self.spikes, times, window, bin_size, dtype=dtype)
        centres = (rel_edges[:-1] + rel_edges[1:]) / 2
        trial_coords = {"event_time": ("trial", times)}
        if table is not None:
            for column in table.columns:
                values = table[column].to_numpy()
                if values.dtype != object or all(isinstance(v, (str, int, float, bool, np.generic))
                                                 for v in values):
                    trial_coords[str(column)] = ("trial", values)
            trial_index = table.index.to_numpy()
        else:
            trial_index = np.arange(times.size)
        X = xr.DataArray(
            counts, dims=("trial", "time", "unit"),
            coords={"trial": trial_index, "time": centres, "unit": self.unit_ids,
                    **trial_coords, **unit_coords(self.units)},
            attrs={**self._tensor_attrs(bin_size), "window": tuple(map(float, window))},
            name="spike_counts")
        X.time.attrs["units"] = "s (relative to event)"
        if behavior is not False:
            names = None if behavior is True else list(behavior)
            abs_centres = times[:, None] + centres[None, :]
            resampled = self.behavior_at(abs_centres, bin_size, names=names,
                                         method=behavior_method, dims=("trial", "time"))
            X = X.assign_coords(_flatten_components(resampled, ("trial", "time")))
        return X

    def behavior_at(self, times, bin_size: float, *, names=None, method: str = "mean",
                    dims=("time",)) -> xr.Dataset:
        """Behaviour resampled onto bin centres ``times`` (bins of ``bin_size``).

        Returns an ``xr.Dataset`` whose variables have dims ``dims`` followed by
        their component dims; NaN outside each series' recorded range.
        """
        times = np.asarray(times, dtype=np.float64)
        names = list(self.behavior.data_vars) if names is None else names
        out = {}
        for name in names:
            if name not in self.behavior.data_vars:
                raise KeyError(f"behaviour has no variable {name!r}; "
                               f"it has {list(self.behavior.data_vars)}.")
            var = self.behavior[name]
            tdim = series_time_dim(var, name)
            values = resample_series(var[tdim].values, var.values, times, bin_size, method)
            extra = {d: var[d].values for d in var.dims[1:] if d in var.coords}
            out[name] = xr.DataArray(values, dims=tuple(dims) + var.dims[1:], coords=extra,
                                     attrs=var.attrs)
        return xr.Dataset(out)

    # --------------------------------------------------------------- helpers
    def _resolve_range(self, start, stop, epoch) -> tuple[float, float]:
        if epoch is not None:
            if start is not None or stop is not None:
                raise ValueError("bin: give either `epoch` or `start`/`stop`, not both.")
            if isinstance(epoch, tuple) and len(epoch) == 2 and not isinstance(epoch[0], str):
                return float(epoch[0]), float(epoch[1])
            name, row = (epoch, None) if isinstance(epoch, str) else epoch
            if name not in self.intervals:
                raise KeyError(f"bin: no intervals table {name!r}; tables are "
                               f"{list(self.intervals)}.")
            table = self.intervals[name]
            if row is None:
                if len(table) != 1:
                    raise ValueError(f"bin: intervals table {name!r} has {len(table)} rows; "
                                     "pass epoch=(table, row) to pick one.")
                row = 0
            return float(table["start_time"].iloc[row]), float(table["stop_time"].iloc[row])
        lo, hi = self.time_range()
        start = lo if start is None else float(start)
        stop = hi if stop is None else float(stop)
        if not np.isfinite(start) or not np.isfinite(stop):
            raise ValueError("bin: the session is empty; give `start` and `stop`.")
        return start, stop

    def _resolve_events(self, events, event_column):
        if isinstance(events, str):
            if events not in self.intervals:
                raise KeyError(f"align: no intervals table {events!r}; tables are "
                               f"{list(self.intervals)}.")
            events = self.intervals[events]
        if isinstance(events, pd.DataFrame):
            if event_column not in events.columns:
                raise KeyError(f"align: the events table has no column {event_column!r}; "
                               f"columns are {list(events.columns)}.")
            return events, events[event_column].to_numpy(dtype=np.float64)
        times = np.asarray(events, dtype=np.float64).reshape(-1)
        return None, times

    # ------------------------------------------------------------ conversion
    def to_pynapple(self):
        """The spikes as a ``pynapple.TsGroup`` with the units table as metadata.

        Requires pynapple (``pip install pynapple``).
        """
        try:
            import pynapple as nap
        except ImportError as exc:
            raise ImportError("Session.to_pynapple needs pynapple: pip install pynapple") from exc
        group = {int(uid) if np.issubdtype(type(uid), np.integer) else uid: nap.Ts(t=train)
                 for uid, train in zip(self.unit_ids.tolist(), self.spikes, strict=True)}
        metadata = {c: self.units[c].to_numpy() for c in unit_coords(self.units)}
        return nap.TsGroup(group, metadata=pd.DataFrame(metadata, index=list(group)))


def _flatten_components(ds: xr.Dataset, sample_dims) -> dict:
    """Behaviour variables as coords on the sample dims; components split by name."""
    sample_dims = (sample_dims,) if isinstance(sample_dims, str) else tuple(sample_dims)
    coords = {}
    for name, var in ds.data_vars.items():
        extra = [d for d in var.dims if d not in sample_dims]
        if not extra:
            coords[str(name)] = (sample_dims, var.values)
            continue
        stacked = var.stack(_component=extra)
        for i, label in enumerate(stacked["_component"].values):
            label = "_".join(map(str, label)) if isinstance(label, tuple) else str(label)
            coords[f"{name}_{label}"] = (sample_dims, stacked.isel(_component=i).values)
    return coords


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    if not np.array_equal(a.index.to_numpy(), b.index.to_numpy()):
        return False
    for column in a.columns:
        x, y = a[column].to_numpy(), b[column].to_numpy()
        if x.dtype.kind == "f" and y.dtype.kind == "f":
            if not np.array_equal(x, y, equal_nan=True):
                return False
        elif x.dtype == object or y.dtype == object:
            if len(x) != len(y) or not all(_values_equal(p, q) for p, q in zip(x, y, strict=True)):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def _values_equal(p, q) -> bool:
    if isinstance(p, np.ndarray) or isinstance(q, np.ndarray):
        return np.array_equal(np.asarray(p), np.asarray(q))
    if isinstance(p, float) and isinstance(q, float) and np.isnan(p) and np.isnan(q):
        return True
    return p == q
