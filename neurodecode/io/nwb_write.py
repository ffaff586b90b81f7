"""Write a :class:`~neurodecode.data.Session` as an NWB 2.x file with pynwb, atomically."""

from __future__ import annotations

import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from neurodecode.data.behavior import series_time_dim
from neurodecode.errors import NWBFormatError
from neurodecode.utils.atomic import atomic_path

__all__ = ["write_nwb"]

_STANDARD_INTERVALS = ("trials", "epochs", "invalid_times")
_UNKNOWN = "unknown"


def write_nwb(session, path, *, overwrite: bool = False, compression: str | None = None) -> Path:
    """Write ``session`` to ``path`` as an NWB 2.x file that pynwb reads back.

    The file is written under a temporary name beside ``path`` and renamed only
    when complete, so a failure leaves nothing half-written.

    Parameters
    ----------
    session : Session
    path : str or Path
        Destination, conventionally ``*.nwb``.
    overwrite : bool
        Replace an existing file; otherwise :class:`FileExistsError`.
    compression : {None, "gzip", "lzf"}
        HDF5 filter for spike times, behaviour and stimulus data. ``None`` (default)
        writes every dataset contiguous (not expandable), which reads fastest.

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    Where things go (and :func:`~neurodecode.io.read_nwb` reads them back the same):

    - units: ``/units`` with ids = unit ids, spike times, every column (ragged
      columns with a ``VectorIndex``). ``brain_area`` is a plain column, and also the
      ``location`` of the electrodes table when the units carry an ``electrodes``
      column of electrode ids (one electrode group per ``electrode_group`` name, or
      one ``"unknown"`` group).
    - intervals: ``trials``, ``epochs`` and ``invalid_times`` as NWB's own tables,
      others as ``TimeIntervals`` in ``/intervals``; the table index becomes ``id``.
    - behaviour: variables with ``x``/``y``/``z`` components as ``SpatialSeries`` in
      ``processing/behavior/Position``, others as ``TimeSeries`` in
      ``processing/behavior/BehavioralTimeSeries``, always with explicit timestamps.
      Component labels other than x/y/z are not stored (read back as 0..k-1).
    - stimuli: ``ImageSeries`` in ``stimulus/templates``, data as given
      ``(frame, y, x[, channel])``; a stack with an ``image`` coordinate on ``frame``
      (unique names) becomes an ``Images`` container of Grayscale/RGB/RGBA images in
      that order. Other coordinates are not stored.
    - metadata: ``session_id`` -> identifier (a UUID when empty),
      ``session_start_time`` (ISO; now when absent), ``session_description``,
      ``subject`` (pynwb Subject fields), ``institution``, ``lab``, ``experimenter``,
      ``experiment_description``, ``lab_session_id`` -> ``session_id``.
    - Missing values in text columns are written as ``""``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from neurodecode.data import Session, SpikeTrains
    >>> from neurodecode.io import read_nwb
    >>> units = pd.DataFrame({"brain_area": ["CA1", "V1"]}, index=pd.Index([1, 2]))
    >>> s = Session(SpikeTrains.from_list([[0.5, 1.0], []], unit_ids=[1, 2]), units)
    >>> path = write_nwb(s, pathlib.Path(tempfile.mkdtemp()) / "demo.nwb")
    >>> read_nwb(path).equals(s)
    True
    """
    from pynwb import NWBHDF5IO

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"write_nwb: {path} exists; pass overwrite=True to replace it.")
    nwbfile = _build_nwbfile(session, compression)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        # The temporary name ends in ".tmp"; pynwb would warn that it lacks ".nwb".
        warnings.filterwarnings("ignore", message=".*does not end in '.nwb'")
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile, expandable=())  # contiguous datasets: fastest to read
    return path


# ------------------------------------------------------------------ helpers
def _io(data, compression):
    if compression is None:
        return data
    from hdmf.backends.hdf5 import H5DataIO

    return H5DataIO(data, compression=compression)


def _is_text(values: np.ndarray) -> bool:
    return values.dtype == object and all(
        isinstance(v, str) or (isinstance(v, float) and np.isnan(v)) or v is None or v is pd.NA
        for v in values)


def _text(values) -> np.ndarray:
    return np.array(["" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                     else str(v) for v in values], dtype=object)


def _is_ragged(values: np.ndarray) -> bool:
    return values.dtype == object and len(values) > 0 and all(
        isinstance(v, (list, tuple, np.ndarray)) for v in values)


def _column_arrays(name: str, values, table: str):
    """``(flat data, ends or None)`` for one DataFrame column, ready for VectorData."""
    if isinstance(values, pd.Series):
        values = values.to_numpy()
    values = np.asarray(values)
    if values.dtype.kind in "fiub":
        return values, None
    if values.dtype.kind in "USO" and (values.dtype.kind in "US" or _is_text(values)):
        return _text(values), None
    if _is_ragged(values):
        parts = [np.asarray(v) for v in values]
        ends = np.cumsum([len(p) for p in parts]).astype(np.int64)
        non_empty = [p for p in parts if len(p)]
        if not non_empty:
            return np.zeros(0), ends
        if all(p.dtype.kind in "USO" for p in non_empty):
            return _text(np.concatenate([p.astype(object) for p in non_empty])), ends
        return np.concatenate(non_empty), ends
    if values.dtype.kind == "M":
        return np.array([pd.Timestamp(v).isoformat() for v in values], dtype=object), None
    raise NWBFormatError(
        f"write_nwb: {table} column {name!r} has values of type "
        f"{sorted({type(v).__name__ for v in values})}; expected numbers, bools, strings or "
        "per-row arrays/lists of them.")


def _vector_columns(frame: pd.DataFrame, table: str, skip=(), compression=None):
    from hdmf.common import VectorData, VectorIndex

    columns = []
    for name in frame.columns:
        if name in skip:
            continue
        data, ends = _column_arrays(str(name), frame[name], table)
        column = VectorData(name=str(name), description=str(name), data=data)
        columns.append(column)
        if ends is not None:
            columns.append(VectorIndex(name=f"{name}_index", data=ends, target=column))
    return columns


def _ids(index: pd.Index, table: str):
    from hdmf.common import ElementIdentifiers

    ids = index.to_numpy()
    if ids.dtype.kind not in "iu":
        raise NWBFormatError(f"write_nwb: the {table} table is indexed by {ids.dtype} values; "
                             "NWB ids must be integers.")
    return ElementIdentifiers(name="id", data=ids.astype(np.int64))


# ------------------------------------------------------------------ building
def _build_nwbfile(session, compression):
    from pynwb import NWBFile

    meta = session.metadata
    start = meta.get("session_start_time") or datetime.now(timezone.utc).isoformat()
    try:
        start = pd.Timestamp(start)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"write_nwb: metadata['session_start_time'] = {start!r} is not a date; "
                         "expected an ISO 8601 string such as '2021-05-04T09:30:00+02:00'."
                         ) from exc
    if start.tzinfo is None:
        start = start.tz_localize("UTC")
    kwargs = {}
    for key in ("institution", "lab", "experiment_description"):
        if meta.get(key):
            kwargs[key] = str(meta[key])
    if meta.get("experimenter"):
        exp = meta["experimenter"]
        kwargs["experimenter"] = [exp] if isinstance(exp, str) else list(map(str, exp))
    if meta.get("lab_session_id"):
        kwargs["session_id"] = str(meta["lab_session_id"])
    nwbfile = NWBFile(
        session_description=str(meta.get("session_description") or "no description"),
        identifier=str(meta.get("session_id") or uuid.uuid4()),
        session_start_time=start.to_pydatetime(), **kwargs)
    if meta.get("subject"):
        nwbfile.subject = _subject(meta["subject"])
    _add_units(nwbfile, session, compression)
    for name, table in session.intervals.items():
        _add_intervals(nwbfile, name, table)
    _add_behavior(nwbfile, session.behavior, compression)
    for name, frames in session.stimuli.items():
        _add_stimulus(nwbfile, name, frames, compression)
    return nwbfile


def _subject(subject: dict):
    from pynwb.file import Subject

    known = {"age", "description", "genotype", "sex", "species", "subject_id", "weight",
             "strain"}
    fields = {k: str(v) for k, v in subject.items() if k in known and v not in (None, "")}
    return Subject(**fields)


def _add_units(nwbfile, session, compression):
    from hdmf.common import DynamicTableRegion, VectorData, VectorIndex
    from pynwb.misc import Units

    units = session.units.copy()
    spikes = session.spikes
    columns = [VectorData(name="spike_times", description="spike times in seconds",
                          data=_io(spikes.times, compression)),
               ]
    columns.append(VectorIndex(name="spike_times_index", data=spikes.offsets[1:],
                               target=columns[0]))
    groups = _electrode_groups(nwbfile, units)
    rows = _electrodes_table(nwbfile, units, groups) if "electrodes" in units else None
    for name in units.columns:
        if name == "electrode_group":
            columns.append(VectorData(
                name="electrode_group", description="the electrode group of each unit",
                data=[groups[str(g)] for g in units["electrode_group"].to_numpy()]))
        elif name == "electrodes":
            region = DynamicTableRegion(
                name="electrodes", description="the electrodes of each unit",
                data=np.concatenate(rows) if rows else np.zeros(0, np.int64),
                table=nwbfile.electrodes)
            ends = np.cumsum([len(r) for r in rows]).astype(np.int64)
            columns += [region, VectorIndex(name="electrodes_index", target=region, data=ends)]
        else:
            columns += _vector_columns(units[[name]], "units")
    nwbfile.units = Units(name="units", description="units (written by neurodecode)",
                          id=_ids(units.index, "units"), columns=columns)


def _electrode_groups(nwbfile, units) -> dict:
    if "electrode_group" not in units and "electrodes" not in units:
        return {}
    device = nwbfile.create_device(name="device", description="recording device")
    names = ([str(g) for g in units["electrode_group"].unique()]
             if "electrode_group" in units else [_UNKNOWN])
    return {name: nwbfile.create_electrode_group(name=name, description=name, location="",
                                                 device=device)
            for name in names}


def _electrodes_table(nwbfile, units, groups) -> list[np.ndarray]:
    """Electrode rows (one per distinct electrode id); per unit, its row numbers."""
    areas = units["brain_area"].to_numpy() if "brain_area" in units else None
    unit_groups = (units["electrode_group"].to_numpy() if "electrode_group" in units
                   else [_UNKNOWN] * len(units))
    row_of: dict = {}
    rows = []
    for i, ids in enumerate(units["electrodes"].to_numpy()):
        ids = np.asarray(ids).reshape(-1)
        unit_rows = []
        for e in ids.tolist():
            if e not in row_of:
                row_of[e] = len(row_of)
                area = str(areas[i]) if areas is not None else ""
                nwbfile.add_electrode(id=int(e), location=area or _UNKNOWN,
                                      group=groups[str(unit_groups[i])])
            unit_rows.append(row_of[e])
        rows.append(np.asarray(unit_rows, dtype=np.int64))
    if not row_of:
        nwbfile.add_electrode(id=0, location=_UNKNOWN, group=next(iter(groups.values())))
    return rows


def _add_intervals(nwbfile, name: str, table: pd.DataFrame):
    from pynwb.epoch import TimeIntervals

    if "tags" in table.columns and not _is_ragged(table["tags"].to_numpy()):
        # NWB defines `tags` as a ragged text column: one plain label per row becomes a
        # one-element list (reading the file back gives lists).
        labels = _text(table["tags"].to_numpy())
        table = table.assign(tags=[[t] if t else [] for t in labels])
    columns = _vector_columns(table, f"intervals {name!r}")
    intervals = TimeIntervals(name=name, description=f"{name} (written by neurodecode)",
                              id=_ids(table.index, f"intervals {name!r}"), columns=columns)
    if name == "trials":
        nwbfile.trials = intervals
    elif name == "epochs":
        nwbfile.epochs = intervals
    elif name == "invalid_times":
        nwbfile.invalid_times = intervals
    else:
        nwbfile.add_time_intervals(intervals)


def _add_behavior(nwbfile, behavior, compression):
    from pynwb.base import TimeSeries
    from pynwb.behavior import BehavioralTimeSeries, Position, SpatialSeries

    if not behavior.data_vars:
        return
    module = nwbfile.create_processing_module("behavior", "behaviour (written by neurodecode)")
    position, other = Position(name="Position"), BehavioralTimeSeries(
        name="BehavioralTimeSeries")
    for name, var in behavior.data_vars.items():
        name = str(name)
        tdim = series_time_dim(var, name)
        times = np.asarray(var[tdim].values, dtype=np.float64)
        data = np.asarray(var.values)
        if data.ndim > 1 and data.shape[0] != times.size:
            data = var.transpose(tdim, ...).values
        comps = var.dims[1] if var.ndim == 2 else None
        labels = (list(map(str, var[comps].values)) if comps is not None and comps in var.coords
                  else None)
        common = dict(name=name, data=_io(data, compression), timestamps=times,
                      unit=str(var.attrs.get("units") or "n/a"),
                      description=str(var.attrs.get("description") or name))
        if labels is not None and labels == ["x", "y", "z"][:len(labels)] and len(labels) >= 2:
            position.add_spatial_series(SpatialSeries(
                reference_frame=str(var.attrs.get("reference_frame") or "unknown"), **common))
        else:
            if labels is not None and labels != [str(k) for k in range(len(labels))]:
                warnings.warn(f"write_nwb: behaviour variable {name!r}: component labels "
                              f"{labels} are not stored in NWB (read back as 0..k-1).",
                              UserWarning, stacklevel=4)
            other.add_timeseries(TimeSeries(**common))
    for container in (position, other):
        if container.children:
            module.add(container)


def _add_stimulus(nwbfile, name: str, frames, compression):
    from pynwb.image import ImageSeries

    dims = tuple(frames.dims)
    expected = ("frame", "y", "x", "channel")[:len(dims)]
    if len(dims) not in (3, 4) or dims != expected:
        raise NWBFormatError(f"write_nwb: stimulus {name!r} has dims {dims}; expected "
                             "('frame', 'y', 'x') or ('frame', 'y', 'x', 'channel').")
    description = str(frames.attrs.get("description") or name)
    channels = frames.sizes.get("channel", 1)
    labels = frames["image"].values if "image" in frames.coords else None
    if (labels is not None and frames["image"].dims == ("frame",) and channels in (1, 3, 4)
            and len(set(map(str, labels))) == len(labels)):
        nwbfile.add_stimulus_template(_images(name, frames, labels, description))
        return
    nwbfile.add_stimulus_template(ImageSeries(
        name=name, data=_io(np.asarray(frames.values), compression), unit="n/a", rate=1.0,
        description=description))


def _images(name: str, frames, labels, description: str):
    """Named still images (an ``image`` coord on ``frame``) as an NWB ``Images`` container."""
    from pynwb.base import ImageReferences, Images
    from pynwb.image import GrayscaleImage, RGBAImage, RGBImage

    kind = {1: GrayscaleImage, 3: RGBImage, 4: RGBAImage}[frames.sizes.get("channel", 1)]
    images = [kind(name=str(label), data=np.asarray(frames.isel(frame=i).values))
              for i, label in enumerate(labels)]
    return Images(name=name, images=images, description=description,
                  order_of_images=ImageReferences(name="order_of_images", data=images))
