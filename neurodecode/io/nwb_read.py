"""Read an NWB 2.x file into a :class:`~neurodecode.data.Session` with h5py, whole datasets.

The reader walks the HDF5 file by its ``neurodata_type`` attributes instead of
building pynwb containers, so opening costs milliseconds and odd files (MatNWB
region references, bytes attributes, ``uint8`` indexes, compound location
strings) load. See :func:`read_nwb` for what lands where.
"""

from __future__ import annotations

import io
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import xarray as xr

from neurodecode.data.session import Session
from neurodecode.data.spiketrains import SpikeTrains
from neurodecode.errors import NWBFormatError, SpikeTimesWarning
from neurodecode.io.nwb_h5 import (
    attr_str,
    neurodata_type,
    read_column,
    read_dataset,
    read_index_ends,
    read_table,
    to_str,
)

__all__ = ["read_nwb", "parse_location", "open_nwb", "read_units_column"]

# Series types that hold neural or image data, not behaviour.
_NOT_BEHAVIOR = {
    "ElectricalSeries", "SpikeEventSeries", "ImageSeries", "OpticalSeries", "TwoPhotonSeries",
    "ImageMaskSeries", "OnePhotonSeries", "RoiResponseSeries", "DecompositionSeries",
    "AnnotationSeries", "IntervalSeries", "IndexSeries", "FluorescenceSeries",
    "PatchClampSeries", "CurrentClampSeries", "VoltageClampSeries", "IZeroClampSeries",
    "CurrentClampStimulusSeries", "VoltageClampStimulusSeries", "OptogeneticSeries",
}
# Acquisition holds raw neural data too: only these (and their children) count as behaviour.
_BEHAVIOR_CONTAINERS = {
    "Position", "BehavioralTimeSeries", "BehavioralEvents", "CompassDirection",
    "PupilTracking", "EyeTracking", "SpatialSeries", "TimeSeries",
}
_THREADED_CHECK = 1 << 20  # spikes; below this a thread costs more than it saves
_IMAGE_SERIES = {"ImageSeries", "OpticalSeries"}
_IMAGE_TYPES = {"Image", "GrayscaleImage", "RGBImage", "RGBAImage"}
_AREA_KEYS = ("brain_region", "brain_area", "area", "structure", "location", "region")
_UNKNOWN_AREAS = {"", "n/a", "na", "none", "unknown", "nan", "null"}
_ELECTRODE_AREA_COLUMNS = ("location", "brain_area", "ecephys_structure_acronym",
                           "structure_acronym")


def parse_location(text) -> str:
    """A brain area from an electrode ``location`` string.

    Plain names are kept; compound ``"key: value; key: value"`` strings (as in
    Svoboda-lab files) give the ``brain_region`` value (or ``area``/``structure``/
    ``location``, else the first value); placeholders such as ``"N/A"`` give ``""``.

    Examples
    --------
    >>> parse_location("brain_region: ALM; cortical_layer: 5; hemisphere: left")
    'ALM'
    >>> parse_location(b"CA1"), parse_location("N/A")
    ('CA1', '')
    """
    text = to_str(text).strip()
    if ":" in text:
        pairs = {}
        for part in text.split(";"):
            key, sep, value = part.partition(":")
            if sep:
                pairs.setdefault(key.strip().lower(), value.strip())
        if pairs:
            text = next((pairs[k] for k in _AREA_KEYS if k in pairs), next(iter(pairs.values())))
    return "" if text.lower() in _UNKNOWN_AREAS else text


# ------------------------------------------------------------------ opening
def open_nwb(source) -> tuple[h5py.File, str, bool]:
    """``(h5py.File, name for messages, whether we opened it)`` after checking it is NWB 2.x.

    Raises
    ------
    FileNotFoundError
        No such file.
    NWBFormatError
        Not HDF5, not NWB, or an NWB 1.x / Zarr layout this reader does not handle.
    """
    if isinstance(source, h5py.File):
        handle, label, owned = source, str(source.filename), False
    elif isinstance(source, (io.IOBase,)) or hasattr(source, "read"):
        label = str(getattr(source, "name", None) or getattr(source, "url", None) or source)
        try:
            handle = h5py.File(source, "r")
        except OSError as exc:
            raise NWBFormatError(f"{label}: not an HDF5 file ({exc}); expected an NWB 2.x "
                                 "(HDF5) file.") from exc
        owned = True
    else:
        path = Path(os.fspath(source))
        label = str(path)
        if path.is_dir():
            raise NWBFormatError(f"{label}: is a folder (NWB-Zarr?); expected an NWB 2.x HDF5 "
                                 "file. Convert it with `nwbinspector`/`hdmf-zarr` export to HDF5.")
        if not path.exists():
            raise FileNotFoundError(f"{label}: no such NWB file.")
        try:
            handle, owned = h5py.File(path, "r"), True
        except OSError as exc:
            if h5py.is_hdf5(path):
                raise
            raise NWBFormatError(f"{label}: not an HDF5 file; expected an NWB 2.x file "
                                 "(HDF5, as written by pynwb or MatNWB).") from exc
    try:
        _check_nwb(handle, label)
    except Exception:
        if owned:
            handle.close()
        raise
    return handle, label, owned


def _check_nwb(handle: h5py.File, label: str) -> None:
    if "nwb_version" in handle and isinstance(handle["nwb_version"], h5py.Dataset):
        version = to_str(handle["nwb_version"][()])
        raise NWBFormatError(
            f"{label}: legacy NWB 1.x layout (nwb_version {version!r}); this reader needs NWB "
            "2.x. Convert the file to NWB 2 (e.g. with the NWB 1->2 converter) first.")
    if neurodata_type(handle) != "NWBFile" and "nwb_version" not in handle.attrs:
        raise NWBFormatError(
            f"{label}: an HDF5 file but not an NWB file (the root group has no "
            "neurodata_type='NWBFile' / nwb_version attribute).")


# ------------------------------------------------------------------- reading
def read_nwb(source, *, sort_spikes: str = "warn", load_behavior=True, load_stimuli: bool = True,
             load_intervals: bool = True, mmap: bool = False,
             skip_unit_columns=()) -> Session:
    """Read an NWB 2.x file into a :class:`~neurodecode.data.Session`.

    Parameters
    ----------
    source : str, Path, h5py.File or binary file-like
        The file. An open ``h5py.File`` is left open; a file-like object (e.g. a
        ``remfile``/``fsspec`` stream) is opened with h5py.
    sort_spikes : {"warn", "raise", "assume"}
        Unsorted or NaN spike times: ``"warn"`` sorts them and drops NaNs with a
        :class:`~neurodecode.errors.SpikeTimesWarning` naming the file and units;
        ``"raise"`` raises :class:`~neurodecode.errors.NWBFormatError`; ``"assume"``
        trusts the file (fastest).
    load_behavior : bool or list of str
        Read behaviour series (all, none, or those named).
    load_stimuli : bool
        Read stimulus templates.
    load_intervals : bool
        Read ``/intervals`` tables.
    skip_unit_columns : iterable of str
        Units columns not to read (with their indexes), e.g. the per-spike
        ``spike_amplitudes`` or ``waveform_mean`` of Allen files, which can be GBs.
    mmap : bool
        Map ``spike_times`` from the file (copy-on-write) instead of copying it, when
        ``source`` is a path and the dataset is contiguous and unfiltered (as
        :func:`~neurodecode.io.write_nwb` writes it); otherwise read normally. About
        3x faster for large files, but the file must not be changed in place or
        truncated while the session is in use.

    Returns
    -------
    Session
        - ``spikes``: from ``units/spike_times`` and ``spike_times_index``, each read once.
        - ``units``: indexed by ``units/id``; every column (scalars with their dtype,
          ragged columns as object arrays of arrays, ragged text as lists, references
          as the referenced object's name, ``electrodes`` as arrays of electrode ids)
          plus ``brain_area`` (``""`` when unknown), taken from a ``brain_area`` column,
          else the first electrode's ``location`` (``units/electrodes``), else
          ``peak_channel_id`` matched to electrode ids (Allen), else a units
          ``location`` column, else the electrode group's location.
        - ``intervals``: every DynamicTable under ``/intervals`` (``trials``,
          ``epochs``, ``*_presentations``, ``invalid_times``…), indexed by ``id``;
          ``tags`` as lists of str; ``timeseries`` reference columns are dropped.
        - ``behavior``: each TimeSeries/SpatialSeries in processing modules (and
          behaviour containers in ``/acquisition``) is a variable named by the
          series; when several series share a name, each becomes
          ``"<container>_<name>"`` (e.g. ``Position_position``).
          Dims ``"<name>_time"`` (timestamps, or starting_time + k / rate) and
          ``"<name>_axis"`` for 2-D data (coords ``x, y, z`` for SpatialSeries, or
          extensions of it, with 2-3 columns, else 0..k-1). Data are multiplied by
          ``conversion`` and shifted by ``offset``. attrs: ``units``, ``description``,
          ``neurodata_type``.
        - ``stimuli``: ``stimulus/templates`` ImageSeries/OpticalSeries as
          ``("frame", "y", "x"[, "channel"])``; an ``Images`` container as one stack
          when its images share a shape, else one entry per image.
        - ``metadata``: session_id (``identifier``), session_start_time (ISO),
          session_description, nwb_version, source, subject (dict), and institution,
          lab, experimenter, experiment_description, lab_session_id when present.

    Raises
    ------
    NWBFormatError
        Not HDF5 / not NWB / NWB 1.x; no Units table; Units without ``spike_times``;
        an index that does not fit the data; unsorted or NaN times with
        ``sort_spikes="raise"``. The message names the file and the table.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from neurodecode.io import write_nwb
    >>> st = SpikeTrains.from_list([[0.1, 0.4], [0.2]], unit_ids=[3, 4])
    >>> path = write_nwb(Session(st), pathlib.Path(tempfile.mkdtemp()) / "s.nwb")
    >>> s = read_nwb(path)
    >>> s.unit_ids.tolist(), s.spikes.n_spikes, s.units["brain_area"].tolist()
    ([3, 4], 3, ['', ''])
    """
    if sort_spikes not in ("warn", "raise", "assume"):
        raise ValueError(f"read_nwb: `sort_spikes` must be 'warn', 'raise' or 'assume', "
                         f"not {sort_spikes!r}.")
    handle, label, owned = open_nwb(source)
    try:
        units_group = _find_units(handle, label)
        mmap_path = label if mmap and owned and not hasattr(source, "read") else None
        times, offsets, ids = _read_spike_arrays(units_group, label, mmap_path)
        # The order/NaN check is memory-bound numpy (GIL released): run it beside the
        # Python-bound reading of everything else.
        pool = None
        if sort_spikes == "assume":
            clean = True
        elif times.size >= _THREADED_CHECK:
            pool = ThreadPoolExecutor(max_workers=1)
            clean = pool.submit(_clean, times, offsets)
        else:
            clean = _clean(times, offsets)
        try:
            units = _read_units_table(handle, units_group, ids, set(skip_unit_columns))
            intervals = _read_intervals(handle) if load_intervals else {}
            behavior = _read_behavior(handle, load_behavior) if load_behavior else xr.Dataset()
            stimuli = _read_stimuli(handle) if load_stimuli else {}
            metadata = _read_metadata(handle, label)
        finally:
            if pool is not None:
                clean = clean.result()
                pool.shutdown()
        spikes = _spike_trains(times, offsets, ids, label, units_group.name, sort_spikes, clean)
    finally:
        if owned:
            handle.close()
    return Session(spikes, units, intervals, behavior, stimuli, metadata)


def _find_units(handle: h5py.File, label: str) -> h5py.Group:
    if "units" in handle and isinstance(handle["units"], h5py.Group):
        return handle["units"]
    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Group) and neurodata_type(obj) == "Units":
            found.append(obj)

    if "processing" in handle:
        handle["processing"].visititems(visit)
    if found:
        return found[0]
    contents = ", ".join(sorted(
        f"{k}/{c}" for k in ("acquisition", "processing", "intervals", "analysis")
        if isinstance(handle.get(k), h5py.Group) for c in handle[k])) or "nothing"
    raise NWBFormatError(
        f"{label}: no Units table (expected sorted spike times in /units, neurodata_type "
        f"'Units'); the file holds data in: {contents}.")


def _mapped(dset: h5py.Dataset, path: str) -> np.ndarray | None:
    """``dset`` as a copy-on-write memory map of ``path``, or None when it cannot be one."""
    offset = dset.id.get_offset()
    if (offset is None or dset.chunks is not None or dset.external or dset.ndim != 1
            or dset.dtype.kind != "f" or dset.size == 0 or dset.file.userblock_size):
        return None
    return np.memmap(path, dtype=dset.dtype, mode="c", offset=offset, shape=(dset.size,))


def _read_spike_arrays(group: h5py.Group, label: str, mmap_path: str | None = None):
    """``(times, offsets, ids)``: spike_times and its index, each read whole, once."""
    table = group.name
    if "spike_times" not in group:
        raise NWBFormatError(f"{label}: the Units table {table} has no spike_times column; "
                             "expected spike_times with spike_times_index.")
    ids = np.asarray(group["id"][()]) if "id" in group else None
    mapped = _mapped(group["spike_times"], mmap_path) if mmap_path else None
    source = group["spike_times"][()] if mapped is None else mapped
    times = np.asarray(source, dtype=np.float64).reshape(-1)
    if "spike_times_index" in group:
        try:
            ends = read_index_ends(group["spike_times_index"], group["spike_times"])
        except ValueError as exc:
            raise NWBFormatError(f"{label}: {table}/spike_times_index cannot be read: "
                                 f"{exc}.") from exc
    elif ids is not None and len(ids) == 1:
        ends = np.array([times.size], dtype=np.int64)
    else:
        raise NWBFormatError(f"{label}: {table}/spike_times has no spike_times_index; "
                             "expected a VectorIndex giving each unit's end position.")
    if ids is None:
        ids = np.arange(ends.size)
    if ids.size != ends.size or (ends.size and (ends[-1] != times.size
                                                or np.any(np.diff(ends) < 0) or ends[0] < 0)):
        raise NWBFormatError(
            f"{label}: {table}/spike_times_index ({ends.size} entries, last "
            f"{ends[-1] if ends.size else None}) does not fit {table}/id ({ids.size} units) "
            f"and spike_times ({times.size} spikes); expected non-decreasing end positions "
            "with the last equal to the number of spikes.")
    if ids.size == 0:
        warnings.warn(f"{label}: the Units table {table} is empty (0 units).",
                      SpikeTimesWarning, stacklevel=3)
    return times, np.concatenate([[0], ends]), ids


def _read_units_table(handle, group: h5py.Group, ids: np.ndarray, skip=frozenset()
                      ) -> pd.DataFrame:
    _, columns = read_table(group, skip={"spike_times", *skip}, ids=ids)
    units = pd.DataFrame(_fitting_columns(columns, ids.size, group),
                         index=pd.Index(ids, name="unit_id"))
    region_rows = None
    if "electrodes" in columns and neurodata_type(group["electrodes"]) == "DynamicTableRegion":
        region_rows = units["electrodes"].to_numpy()
        units["electrodes"] = _rows_to_ids(handle, group["electrodes"], region_rows)
    units["brain_area"] = _brain_areas(handle, group, units, region_rows)
    return units


def _spike_trains(times, offsets, ids, label, table, sort_spikes, clean: bool) -> SpikeTrains:
    if clean:
        return SpikeTrains(times, offsets, ids, sort="assume")
    if sort_spikes == "raise":
        try:
            SpikeTrains(times, offsets, ids, sort="check")
        except ValueError as exc:
            raise NWBFormatError(f"{label}: {table}/spike_times: {exc} (read_nwb "
                                 "sort_spikes='warn' sorts them instead).") from exc
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spikes = SpikeTrains(times, offsets, ids, sort="sort")
    for w in caught:
        warnings.warn(f"{label}: {table}/spike_times: {w.message}", SpikeTimesWarning,
                      stacklevel=3)
    return spikes


def _clean(times: np.ndarray, offsets: np.ndarray, block: int = 1 << 20) -> bool:
    """True when times ascend inside every unit and hold no NaN.

    One memory-bound pass: count the places where ``times[i] >= times[i-1]`` fails
    (a NaN fails it too) and compare with the failures at unit starts, the only
    places a descent is allowed. A NaN first spike of a unit is checked directly.
    """
    n = times.size
    starts = offsets[:-1][offsets[:-1] < offsets[1:]]  # first spike of each non-empty unit
    if n == 0:
        return True
    if np.isnan(times[starts]).any():
        return False
    inner = starts[starts >= 1]
    allowed = inner.size - np.count_nonzero(times[inner] >= times[inner - 1])
    buf = np.empty(min(block, max(n - 1, 1)), dtype=bool)
    ascending = 0
    for a in range(1, n, block):
        b = min(a + block, n)
        ascending += np.count_nonzero(
            np.greater_equal(times[a:b], times[a - 1:b - 1], out=buf[: b - a]))
    return (n - 1) - ascending == allowed


def _rows_to_ids(handle, region: h5py.Dataset, rows: np.ndarray) -> np.ndarray:
    target = _region_table(handle, region)
    electrode_ids = np.asarray(target["id"][()]) if target is not None and "id" in target \
        else None
    out = np.empty(len(rows), dtype=object)
    for i, r in enumerate(rows):
        r = np.asarray(r, dtype=np.int64).reshape(-1)
        out[i] = electrode_ids[r] if electrode_ids is not None else r
    return out


def _region_table(handle, region: h5py.Dataset):
    ref = region.attrs.get("table")
    if isinstance(ref, h5py.Reference) and ref:
        return handle[ref]
    path = "general/extracellular_ephys/electrodes"
    return handle[path] if path in handle else None


def _electrode_areas(table: h5py.Group) -> np.ndarray | None:
    for column in _ELECTRODE_AREA_COLUMNS:
        if column in table:
            values = read_dataset(table[column])
            if values is not None:
                areas = np.array([parse_location(v) for v in np.asarray(values).reshape(-1)],
                                 dtype=object)
                if any(areas):
                    return areas
    return None


def _brain_areas(handle, group, units: pd.DataFrame, region_rows) -> np.ndarray:
    n = len(units)
    if "brain_area" in units:
        values = units["brain_area"].to_numpy()
        if values.dtype == object:  # text datasets are decoded to str when read
            return values
        return np.array([to_str(v) for v in values], dtype=object)
    areas = np.full(n, "", dtype=object)
    electrodes = handle.get("general/extracellular_ephys/electrodes")
    if region_rows is not None:
        table = _region_table(handle, group["electrodes"])
        table_areas = _electrode_areas(table) if table is not None else None
        if table_areas is not None:
            for i, rows in enumerate(region_rows):
                rows = np.asarray(rows, dtype=np.int64).reshape(-1)
                if rows.size:
                    areas[i] = table_areas[rows[0]]
    elif "peak_channel_id" in units and electrodes is not None and "id" in electrodes:
        table_areas = _electrode_areas(electrodes)
        if table_areas is not None:
            lookup = dict(zip(np.asarray(electrodes["id"][()]).tolist(), table_areas,
                              strict=True))
            areas = np.array([lookup.get(c, "") for c in units["peak_channel_id"].tolist()],
                             dtype=object)
    if not any(areas) and "location" in units:
        areas = np.array([parse_location(v) for v in units["location"].to_numpy()], dtype=object)
    if not any(areas) and "electrode_group" in group and h5py.check_dtype(
            ref=group["electrode_group"].dtype) is not None:
        refs = group["electrode_group"][()]
        areas = np.array([parse_location(attr_str(handle[r], "location")) if r else ""
                          for r in refs], dtype=object)
    return areas


# ------------------------------------------------------------------ intervals
def _read_intervals(handle) -> dict[str, pd.DataFrame]:
    out = {}
    if "intervals" not in handle:
        return out
    for name, group in handle["intervals"].items():
        if not isinstance(group, h5py.Group) or "start_time" not in group:
            continue
        ids, columns = read_table(group)
        out[name] = pd.DataFrame(_fitting_columns(columns, len(ids), group),
                                 index=pd.Index(ids, name="id"))
    return out


def _fitting_columns(columns: dict, n_rows: int, group: h5py.Group) -> dict:
    """Columns with one value per row; others are dropped with a warning naming them."""
    bad = {k: len(v) for k, v in columns.items() if len(v) != n_rows}
    if bad:
        warnings.warn(f"{group.file.filename}: table {group.name} has {n_rows} rows but "
                      f"column(s) {bad} have other lengths; they were not read.",
                      UserWarning, stacklevel=4)
    return {k: v for k, v in columns.items() if k not in bad}


# ------------------------------------------------------------------ behaviour
def _is_series(obj) -> bool:
    return isinstance(obj, h5py.Group) and "data" in obj and (
        "timestamps" in obj or "starting_time" in obj)


def _behavior_groups(handle):
    """``(container name, series group)`` for every behaviour series, in file order."""
    if "processing" in handle:
        for module_name, module in handle["processing"].items():
            if not isinstance(module, h5py.Group):
                continue
            for name, obj in module.items():
                if _is_series(obj):
                    yield module_name, obj
                elif isinstance(obj, h5py.Group):
                    for child in obj.values():
                        if _is_series(child):
                            yield name, child
    if "acquisition" in handle:
        for name, obj in handle["acquisition"].items():
            kind = neurodata_type(obj)
            if kind not in _BEHAVIOR_CONTAINERS:
                continue
            if _is_series(obj):
                yield "acquisition", obj
            elif isinstance(obj, h5py.Group):
                for child in obj.values():
                    if _is_series(child):
                        yield name, child


def _read_behavior(handle, wanted) -> xr.Dataset:
    wanted = None if wanted is True else set(wanted)
    found = [(container, group) for container, group in _behavior_groups(handle)
             if neurodata_type(group) not in _NOT_BEHAVIOR]
    counts: dict[str, int] = {}
    for _, group in found:
        base = group.name.rsplit("/", 1)[-1]
        counts[base] = counts.get(base, 0) + 1
    variables = {}
    for container, group in found:
        name = group.name.rsplit("/", 1)[-1]
        if counts[name] > 1:  # the same name in several containers: prefix them all
            name = f"{container}_{name}"
        if name in variables or (wanted is not None and name not in wanted):
            continue
        try:
            var = _read_series(group, name)
        except (KeyError, OSError, ValueError) as exc:  # e.g. a broken external link
            warnings.warn(f"{group.file.filename}: behaviour series {group.name} skipped: {exc}",
                          UserWarning, stacklevel=3)
            continue
        if var is not None:
            variables[name] = var
    return xr.Dataset(variables)


def _series_times(group, n: int) -> np.ndarray:
    if "timestamps" in group:
        return np.asarray(group["timestamps"][()], dtype=np.float64).reshape(-1)
    start = group["starting_time"]
    rate = float(start.attrs.get("rate", np.nan))
    return float(start[()]) + np.arange(n, dtype=np.float64) / rate


def _read_series(group, name: str) -> xr.DataArray | None:
    data_set = group["data"]
    if data_set.dtype.kind not in "fiub" or data_set.ndim == 0:
        return None  # text annotations or references: not a sampled signal
    data = data_set[()]
    conversion = float(np.asarray(data_set.attrs.get("conversion", 1.0)).reshape(-1)[0])
    offset = float(np.asarray(data_set.attrs.get("offset", 0.0)).reshape(-1)[0])
    if conversion != 1.0 or offset != 0.0:
        data = data.astype(np.float64) * conversion + offset
    times = _series_times(group, data.shape[0])
    if times.size != data.shape[0]:
        return None
    dims = [f"{name}_time"]
    coords = {dims[0]: times}
    if data.ndim >= 2:
        dims.append(f"{name}_axis")
        k = data.shape[1]
        # SpatialSeries and its extensions (e.g. Allen's EllipseSeries) carry reference_frame.
        spatial = neurodata_type(group) == "SpatialSeries" or "reference_frame" in group
        coords[dims[1]] = ["x", "y", "z"][:k] if spatial and 2 <= k <= 3 else np.arange(k)
        dims += [f"{name}_axis{j}" for j in range(2, data.ndim)]
    attrs = {"units": attr_str(data_set, "unit"), "description": attr_str(group, "description"),
             "neurodata_type": neurodata_type(group)}
    if "reference_frame" in group:
        attrs["reference_frame"] = to_str(group["reference_frame"][()])
    var = xr.DataArray(data, dims=dims, coords=coords, attrs=attrs)
    var[dims[0]].attrs["units"] = "s"
    return var


# ------------------------------------------------------------------- stimuli
def _image_dims(ndim: int) -> tuple[str, ...]:
    return ("frame", "y", "x", "channel")[:ndim]


def _read_stimuli(handle) -> dict[str, xr.DataArray]:
    out = {}
    if "stimulus/templates" not in handle:
        return out
    for name, obj in handle["stimulus/templates"].items():
        kind = neurodata_type(obj)
        if kind in _IMAGE_SERIES or (kind not in _IMAGE_TYPES and "data" in obj):
            data_set = obj["data"]
            if data_set.ndim in (3, 4) and data_set.dtype.kind in "fiub":
                out[name] = xr.DataArray(data_set[()], dims=_image_dims(data_set.ndim),
                                         attrs={"description": attr_str(obj, "description")})
        elif kind == "Images" or isinstance(obj, h5py.Group):
            out.update(_read_images(obj, name))
    return out


def _read_images(group, name: str) -> dict[str, xr.DataArray]:
    order = list(group)
    if "order_of_images" in group:
        refs = group["order_of_images"][()]
        order = [group.file[r].name.rsplit("/", 1)[-1] for r in refs if r]
    images = {k: group[k][()] for k in order
              if k in group and isinstance(group[k], h5py.Dataset) and group[k].ndim in (2, 3)}
    if not images:
        return {}
    shapes = {v.shape for v in images.values()}
    if len(shapes) == 1:
        stack = np.stack(list(images.values()))
        return {name: xr.DataArray(stack, dims=_image_dims(stack.ndim),
                                   coords={"image": ("frame", list(images))},
                                   attrs={"description": attr_str(group, "description")})}
    return {f"{name}_{k}": xr.DataArray(v[None], dims=_image_dims(v.ndim + 1))
            for k, v in images.items()}


# ------------------------------------------------------------------ metadata
def _scalar(handle, path: str):
    obj = handle.get(path)
    if not isinstance(obj, h5py.Dataset):
        return None
    value = read_dataset(obj)
    if isinstance(value, np.ndarray):
        value = value.tolist()
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return value


def _read_metadata(handle, label: str) -> dict:
    meta = {
        "session_id": to_str(_scalar(handle, "identifier") or ""),
        "session_start_time": _iso(_scalar(handle, "session_start_time")),
        "session_description": to_str(_scalar(handle, "session_description") or ""),
        "nwb_version": attr_str(handle, "nwb_version"),
        "source": label,
    }
    general = handle.get("general")
    present = set(general) if isinstance(general, h5py.Group) else set()
    for key, name in (("institution", "institution"), ("lab", "lab"),
                      ("experimenter", "experimenter"),
                      ("experiment_description", "experiment_description"),
                      ("lab_session_id", "session_id")):
        if name in present:  # looking up absent paths costs more than listing the group
            value = _scalar(general, name)
            if value not in (None, "", []):
                meta[key] = value
    if "subject" in present and isinstance(general["subject"], h5py.Group):
        subject = {}
        for key, obj in general["subject"].items():
            if isinstance(obj, h5py.Dataset):
                value = _scalar(general["subject"], key)
                if value not in (None, ""):
                    subject[key] = value
        meta["subject"] = subject
    return meta


def _iso(value) -> str:
    if value is None:
        return ""
    text = to_str(value)
    try:
        return pd.Timestamp(text).isoformat()
    except (ValueError, TypeError):
        return text


def read_units_column(source, column: str):
    """One Units column read on its own (e.g. ``waveform_mean``), without the rest.

    Returns the values as :func:`read_nwb` puts them in ``session.units`` (before the
    electrode-id mapping of ``electrodes``). Raises ``KeyError`` naming the file and
    table when the column is missing.
    """
    handle, label, owned = open_nwb(source)
    try:
        group = _find_units(handle, label)
        if column not in group:
            raise KeyError(f"{label}: {group.name} has no column {column!r}.")
        return read_column(group, column)
    finally:
        if owned:
            handle.close()
