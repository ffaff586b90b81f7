"""Low-level NWB-on-HDF5 reading with h5py: strings, references, DynamicTable columns.

These helpers walk the HDF5 file directly, keyed on the ``neurodata_type``
attributes that every NWB 2.x writer (pynwb, MatNWB, AllenSDK, neuroconv) sets,
and read each dataset whole. No pynwb object is built, which is why reading is
fast and why odd or older layouts (MatNWB region-reference indexes, bytes
attributes, ``uint8`` indexes) still load.
"""

from __future__ import annotations

import h5py
import numpy as np

__all__ = [
    "attr_str",
    "neurodata_type",
    "read_dataset",
    "read_index_ends",
    "read_table",
    "table_colnames",
    "to_str",
]


def to_str(value) -> str:
    """A bytes / numpy scalar / one-element array as ``str``."""
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return ""
        value = value.reshape(-1)[0] if value.size == 1 else value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
    return str(value)


def attr_str(obj, name: str, default: str = "") -> str:
    """Attribute ``name`` of an HDF5 object as ``str`` (bytes or arrays decoded)."""
    if name not in obj.attrs:
        return default
    return to_str(obj.attrs[name])


def neurodata_type(obj) -> str:
    return attr_str(obj, "neurodata_type")


def _is_reference(dtype) -> bool:
    return h5py.check_dtype(ref=dtype) is not None


def _decode_strings(values: np.ndarray) -> np.ndarray:
    out = np.empty(values.shape, dtype=object)
    flat_in, flat_out = values.reshape(-1), out.reshape(-1)
    for i, v in enumerate(flat_in):
        flat_out[i] = v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)
    return out


def read_dataset(dset: h5py.Dataset):
    """A whole dataset as numpy, strings decoded to ``str``, object references as names.

    Returns ``None`` for a compound dataset (e.g. a ``TimeSeriesReferenceVectorData``
    ``timeseries`` column), which has no simple tabular meaning.
    """
    dtype = dset.dtype
    if dtype.names is not None:
        return None
    if h5py.check_string_dtype(dtype) is not None:
        return dset.asstr(errors="replace")[()]
    if dtype.kind == "S":
        return _decode_strings(np.asarray(dset[()]))
    if _is_reference(dtype):
        refs = np.asarray(dset[()], dtype=object)
        out = np.empty(refs.shape, dtype=object)
        file = dset.file
        for i, ref in enumerate(refs.reshape(-1)):
            out.reshape(-1)[i] = file[ref].name.rsplit("/", 1)[-1] if ref else ""
        return out
    values = dset[()]
    if isinstance(values, np.ndarray) and values.dtype == object:
        return _decode_strings(values)
    return values


def read_index_ends(index: h5py.Dataset, target: h5py.Dataset) -> np.ndarray:
    """End position of each row in ``target`` from a ``VectorIndex``, as int64.

    Real files store the index as uint8/uint16/uint32 (cast before any arithmetic);
    MatNWB 2.0b files store HDF5 region references into ``target`` instead.
    """
    if _is_reference(index.dtype):
        refs = index[()]
        ends = np.empty(len(refs), dtype=np.int64)
        expected_start = 0
        for i, ref in enumerate(refs):
            space = h5py.h5r.get_region(ref, target.id)
            lo, hi = space.get_select_bounds()
            if lo[0] != expected_start:
                raise ValueError(f"region reference {i} starts at {lo[0]}, expected "
                                 f"{expected_start} (regions must tile the data in order)")
            ends[i] = hi[0] + 1
            expected_start = ends[i]
        return ends
    return np.asarray(index[()]).astype(np.int64)


def table_colnames(group: h5py.Group) -> list[str]:
    """Column names of a DynamicTable, in the ``colnames`` order (index datasets left out)."""
    raw = group.attrs.get("colnames", [])
    if isinstance(raw, (str, bytes)):
        raw = [raw]
    names = [to_str(c) for c in np.asarray(raw, dtype=object).reshape(-1)]
    if names:
        return [n for n in names if n != "id" and not _is_index_of(n, group)]
    # No colnames attribute (hand-made files): every dataset but ids and indexes.
    return sorted(k for k, v in group.items()
                  if isinstance(v, h5py.Dataset) and k != "id" and not _is_index_of(k, group))


def _is_index_of(name: str, group: h5py.Group) -> bool:
    return name.endswith("_index") and name[: -len("_index")] in group


def _split(values, ends: np.ndarray, as_list: bool) -> np.ndarray:
    out = np.empty(len(ends), dtype=object)
    start = 0
    for i, end in enumerate(ends.tolist()):
        part = values[start:end]
        out[i] = list(part) if as_list else part
        start = end
    return out


def read_column(group: h5py.Group, name: str):
    """One DynamicTable column: scalars as a numpy array, ragged columns as object arrays.

    Ragged string columns (``tags``) become lists of ``str``; ragged numeric columns
    arrays; multi-dimensional non-ragged columns one array per row. ``None`` when the
    column has no tabular meaning (compound references).
    """
    target = group[name]
    values = read_dataset(target)
    if values is None:
        return None
    levels = []
    index_name = f"{name}_index"
    while (index := group.get(index_name)) is not None:
        levels.append(read_index_ends(index, target))
        target = index
        index_name += "_index"
    is_text = isinstance(values, np.ndarray) and values.dtype == object and values.size and all(
        isinstance(v, str) for v in values.reshape(-1)[:100])
    for depth, ends in enumerate(levels):
        values = _split(values, ends, as_list=bool(is_text) or depth > 0)
    if not levels and isinstance(values, np.ndarray) and values.ndim > 1:
        rows = np.empty(values.shape[0], dtype=object)
        for i in range(values.shape[0]):
            rows[i] = values[i]
        values = rows
    return values


def read_table(group: h5py.Group, *, skip=(), ids=None) -> tuple[np.ndarray, dict]:
    """``(ids, {column: values})`` of a DynamicTable; compound columns are dropped.

    ``ids``, when already read, are not read again.
    """
    if ids is None and "id" in group:
        ids = np.asarray(group["id"][()])
    columns = {}
    for name in table_colnames(group):
        if name in skip or name not in group:
            continue
        values = read_column(group, name)
        if values is not None:
            columns[name] = values
    if ids is None:
        n = len(next(iter(columns.values()))) if columns else 0
        ids = np.arange(n)
    return ids, columns
