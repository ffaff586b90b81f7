"""Allen Brain Observatory stimulus tables: concatenation, parsing, conditions, invalid times.

Pure functions on pandas tables, following the rules AllenSDK documents for its
``EcephysSession.stimulus_presentations`` (Visual Coding Neuropixels) and
``Presentations.from_nwb`` (Visual Behavior), re-written here so that AllenSDK
(and its numpy/pynwb pins) is not needed:

1. every ``intervals/*_presentations`` table is read without ``tags`` and
   ``timeseries``; ``"N/A"`` (Visual Behavior's fill value) becomes ``""``;
2. the tables are concatenated and sorted by ``start_time``; the
   ``stimulus_presentation_id`` of a row is its position after the sort;
3. text columns that hold numbers (``"0.8"``, ``"[250.0, 250.0]"``, ``"null"``) are
   parsed: numbers become float, lists tuples of floats, ``""``/``"null"``/
   ``"None"``/``"N/A"`` NaN; Neuropixels' ``color`` column, which mixes RGB
   triplets with ``-1``/``1``, is split into ``color`` (float) and ``color_triplet``;
4. ``stimulus_condition_id`` numbers each distinct combination of stimulus
   parameters in order of first appearance (NaN equals NaN);
5. presentations overlapping an ``invalid_times`` interval tagged ``"stimulus"``
   are masked: ``stimulus_name`` becomes ``"invalid_presentation"`` and every
   other column but the times is blanked.
"""

from __future__ import annotations

import ast
import re

import numpy as np
import pandas as pd

from neurodecode.errors import NWBFormatError

__all__ = [
    "NON_PARAMETER_COLUMNS",
    "assign_condition_ids",
    "concat_presentations",
    "mask_invalid_presentations",
    "parse_stimulus_columns",
    "stimulus_views",
]

# Columns that are not a parameter of the stimulus: AllenSDK leaves out the times,
# duration and block (and drops stimulus_index); Visual Behavior's bookkeeping
# columns (frame numbers, trial links, behaviour state) are left out for the same
# reason -- they differ on every flash and would make every presentation its own condition.
NON_PARAMETER_COLUMNS = (
    "start_time", "stop_time", "duration", "stimulus_block", "stimulus_index",
    "stimulus_condition_id", "stimulus_presentation_id", "repeat",
    "start_frame", "end_frame", "flashes_since_change", "is_change", "is_sham_change",
    "active", "trials_id", "is_image_novel", "rewarded", "stimulus_block_name", "movie_repeat",
    "end_time",
)
_NULL_TEXT = {"", "null", "none", "nan", "n/a", "na"}
_DROP = ("tags", "timeseries")
_TEXT_COLUMNS = {"stimulus_name", "image_name", "image_set", "mask", "units", "stimulus_block_name",
                 "color_triplet"}
_TRIPLET = re.compile(r"^\s*\[\s*-?\d*\.?\d*(\s*,\s*-?\d*\.?\d*){2}\s*\]\s*$")
INVALID_NAME = "invalid_presentation"
_MISSING = object()
_INTEGER_COLUMNS = {"frame", "stimulus_block", "flashes_since_change", "start_frame", "end_frame",
                    "trials_id", "image_index", "stimulus_index", "movie_frame_index",
                    "movie_repeat"}


def is_text(values: pd.Series) -> bool:
    """Object or pandas string dtype (pandas 3 reads text columns as ``str``)."""
    return values.dtype == object or pd.api.types.is_string_dtype(values.dtype)


def concat_presentations(tables: dict[str, pd.DataFrame], label: str = "") -> pd.DataFrame:
    """All ``*_presentations`` tables as one, sorted by start time, ids = row numbers.

    Parameters
    ----------
    tables : dict of str to DataFrame
        ``{"drifting_gratings_presentations": table, ...}``; each needs
        ``start_time`` and ``stop_time``. Concatenated in name order.
    label : str
        File name for error messages.

    Returns
    -------
    DataFrame
        Indexed by ``stimulus_presentation_id`` (0..n-1 after a stable sort by
        ``start_time``: ties keep the concatenation order, where AllenSDK's
        quicksort leaves them unspecified). ``tags``/``timeseries`` dropped.

    Examples
    --------
    >>> a = pd.DataFrame({"start_time": [2.0, 0.0], "stop_time": [3.0, 1.0],
    ...                   "stimulus_name": ["a", "a"]})
    >>> b = pd.DataFrame({"start_time": [1.0], "stop_time": [2.0], "stimulus_name": ["b"]})
    >>> t = concat_presentations({"a_presentations": a, "b_presentations": b})
    >>> t["stimulus_name"].tolist(), t.index.tolist()
    (['a', 'b', 'a'], [0, 1, 2])
    """
    if not tables:
        raise NWBFormatError(f"{label}: no intervals/*_presentations table; an Allen session "
                             "lists its stimuli there (e.g. drifting_gratings_presentations).")
    parts = []
    for name in sorted(tables):
        table = tables[name]
        missing = {"start_time", "stop_time"} - set(table.columns)
        if missing:
            raise NWBFormatError(f"{label}: intervals/{name} lacks {sorted(missing)}; expected "
                                 "start_time and stop_time in seconds.")
        table = table.drop(columns=[c for c in _DROP if c in table.columns])
        table = table.reset_index(drop=True)
        if "stimulus_name" not in table.columns:
            table["stimulus_name"] = name.removesuffix("_presentations")
        parts.append(table)
    merged = pd.concat(parts, ignore_index=True, sort=False)
    for column in merged.columns:
        if is_text(merged[column]):
            merged[column] = merged[column].astype(object).map(
                lambda v: "" if isinstance(v, str) and v == "N/A" else v)
    order = np.argsort(merged["start_time"].to_numpy(dtype=np.float64), kind="stable")
    merged = merged.iloc[order].reset_index(drop=True)
    merged.index = pd.Index(np.arange(len(merged), dtype=np.int64), name="stimulus_presentation_id")
    return merged


def _cached_map(values: list, fn) -> list:
    """``[fn(v) for v in values]``, computing ``fn`` once per distinct hashable value."""
    cache: dict = {}
    out = []
    for v in values:
        try:
            hit = cache.get(v, _MISSING)
        except TypeError:  # unhashable (an array read from a ragged column)
            out.append(fn(v))
            continue
        if hit is _MISSING:
            hit = cache[v] = fn(v)
        out.append(hit)
    return out


def _null_text(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, str) and v.strip().lower() in _NULL_TEXT:
        return ""
    return v


def _parse_value(value):
    """One cell of a text column: float, tuple of floats, NaN, or the text itself."""
    if value is None:
        return np.nan
    if isinstance(value, (float, int, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(float(v) for v in value)
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in _NULL_TEXT:
        return np.nan
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value
    if isinstance(parsed, bool):
        return value
    if isinstance(parsed, (int, float)):
        return float(parsed)
    if isinstance(parsed, (list, tuple)) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in parsed):
        return tuple(float(v) for v in parsed)
    return value


def parse_stimulus_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Parse text columns that hold numbers; split Neuropixels' ``color`` column.

    A text column whose every non-null cell is a number becomes float64; cells
    holding lists (``"[250.0, 250.0]"``) become tuples of floats (hashable, so
    they can define conditions); null text (``""``, ``"null"``, ``"None"``,
    ``"N/A"``) becomes NaN. Columns of names (``stimulus_name``, ``image_name``…)
    are left as text, with null text as ``""``.

    Examples
    --------
    >>> t = pd.DataFrame({"size": ["[250.0, 250.0]", "null"], "contrast": ["0.8", ""],
    ...                   "color": ["[1.0, 1.0, 1.0]", "-1.0"]})
    >>> p = parse_stimulus_columns(t)
    >>> p["size"].tolist()[0], p["contrast"].tolist()[0], p["color"].tolist()
    ((250.0, 250.0), 0.8, [nan, -1.0])
    >>> p["color_triplet"].tolist()
    [(1.0, 1.0, 1.0), '']
    """
    out = table.copy()
    for column in out.columns:
        if is_text(out[column]):
            out[column] = out[column].astype(object)
    if "color" in out.columns and out["color"].dtype == object:
        colors = out["color"].tolist()
        is_triplet = np.array(_cached_map(
            colors, lambda v: isinstance(v, str) and bool(_TRIPLET.match(v))), dtype=bool)
        if is_triplet.any():
            out["color"] = [("" if t else v) for v, t in zip(colors, is_triplet, strict=True)]
            triplets = [v if t else "" for v, t in zip(colors, is_triplet, strict=True)]
            out["color_triplet"] = _cached_map(
                triplets, lambda v: tuple(float(x) for x in ast.literal_eval(v)) if v else "")
    for column in out.columns:
        values = out[column]
        if not is_text(values) or column == "color_triplet":
            continue
        if column in _TEXT_COLUMNS:
            out[column] = _cached_map(values.tolist(), _null_text)
            continue
        parsed = _cached_map(values.tolist(), _parse_value)
        if all(isinstance(v, float) for v in parsed):
            out[column] = np.asarray(parsed, dtype=np.float64)
        elif all(isinstance(v, (float, tuple)) for v in parsed):
            column_values = np.empty(len(parsed), dtype=object)
            column_values[:] = parsed
            out[column] = column_values
        # else: genuine text (a mask name, an image name): keep as read
    return out


def _hashable(value):
    if isinstance(value, float) and np.isnan(value):
        return ("__nan__",)
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def parameter_columns(table: pd.DataFrame) -> list[str]:
    """The columns that describe the stimulus (see :data:`NON_PARAMETER_COLUMNS`)."""
    return [c for c in table.columns if c not in NON_PARAMETER_COLUMNS]


def assign_condition_ids(table: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """``stimulus_condition_id`` per row and the table of conditions.

    A condition is one combination of the values in :func:`parameter_columns`
    (``stimulus_name`` included); ids count from 0 in order of first appearance
    down the table, NaN equal to NaN, as AllenSDK numbers them.

    Returns
    -------
    ids : ndarray of int64, shape (n_rows,)
    conditions : DataFrame
        One row per condition, indexed by ``stimulus_condition_id``.

    Examples
    --------
    >>> t = pd.DataFrame({"start_time": [0., 1, 2], "stop_time": [1., 2, 3],
    ...                   "stimulus_name": ["g", "g", "g"], "orientation": [0., 90, 0]})
    >>> assign_condition_ids(t)[0].tolist()
    [0, 1, 0]
    """
    columns = parameter_columns(table)
    n = len(table)
    codes = np.zeros((n, max(len(columns), 1)), dtype=np.int64)
    for j, column in enumerate(columns):
        values = table[column]
        try:  # NaN is one value (use_na_sentinel=False), as AllenSDK's "null"
            codes[:, j] = pd.factorize(values, use_na_sentinel=False)[0]
        except TypeError:  # unhashable cells (lists, arrays)
            lookup: dict = {}
            codes[:, j] = [lookup.setdefault(_hashable(v), len(lookup)) for v in values.tolist()]
    if n:
        _, firsts, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(firsts, kind="stable")  # number conditions by first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        ids = rank[inverse.reshape(-1)].astype(np.int64)
        firsts = np.sort(firsts)
    else:
        ids, firsts = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    conditions = table.iloc[firsts][columns].copy()
    conditions.index = pd.Index(np.arange(len(firsts), dtype=np.int64),
                                name="stimulus_condition_id")
    return ids, conditions


def _has_tag(tags, wanted: str) -> bool:
    if isinstance(tags, str):
        return tags == wanted
    try:
        return wanted in [str(t) for t in tags]
    except TypeError:
        return False


def mask_invalid_presentations(table: pd.DataFrame, invalid_times: pd.DataFrame | None,
                               tag: str = "stimulus") -> tuple[pd.DataFrame, np.ndarray]:
    """Mask presentations that overlap an ``invalid_times`` interval tagged ``tag``.

    Overlap is ``max(starts) <= min(stops)`` (touching counts), as in AllenSDK.
    A masked row keeps its id, ``start_time`` and ``stop_time``; ``stimulus_name``
    becomes ``"invalid_presentation"``, numeric columns NaN (integer ids -1),
    text columns ``""``.

    Returns
    -------
    table : DataFrame
        A copy with the masked rows.
    masked : ndarray of bool, shape (n_rows,)

    Examples
    --------
    >>> t = pd.DataFrame({"start_time": [0., 1, 2], "stop_time": [1., 2, 3],
    ...                   "stimulus_name": ["g", "g", "g"], "orientation": [0., 90, 0]})
    >>> bad = pd.DataFrame({"start_time": [2.5], "stop_time": [4.0],
    ...                     "tags": [["EcephysSession", "1", "stimulus"]]})
    >>> m, masked = mask_invalid_presentations(t, bad)
    >>> m["stimulus_name"].tolist(), masked.tolist()
    (['g', 'g', 'invalid_presentation'], [False, False, True])
    """
    masked = np.zeros(len(table), dtype=bool)
    if invalid_times is None or len(invalid_times) == 0:
        return table, masked
    if "tags" in invalid_times.columns:
        keep = np.array([_has_tag(t, tag) for t in invalid_times["tags"].tolist()], dtype=bool)
        invalid_times = invalid_times[keep]
    if len(invalid_times) == 0:
        return table, masked
    starts = table["start_time"].to_numpy(dtype=np.float64)
    stops = table["stop_time"].to_numpy(dtype=np.float64)
    stops = np.where(np.isnan(stops), starts, stops)
    for lo, hi in zip(invalid_times["start_time"].to_numpy(dtype=np.float64),
                      invalid_times["stop_time"].to_numpy(dtype=np.float64), strict=True):
        masked |= (np.maximum(starts, lo) <= np.minimum(stops, hi))
    if not masked.any():
        return table, masked
    out = table.copy()
    for column in out.columns:
        if column in ("start_time", "stop_time"):
            continue
        values = out[column]
        if column == "stimulus_name":
            out.loc[masked, column] = INVALID_NAME
        elif values.dtype.kind == "f":
            out.loc[masked, column] = np.nan
        elif values.dtype.kind in "iu":
            if column in ("stimulus_condition_id", "stimulus_block", "repeat"):
                out.loc[masked, column] = -1
            else:
                out[column] = values.astype(np.float64)
                out.loc[masked, column] = np.nan
        elif values.dtype.kind == "b":
            out[column] = values.astype(object)
            out.loc[masked, column] = None
        else:
            blank = "" if all(isinstance(v, str) for v in values[~masked].tolist()[:50]) \
                else np.nan
            out.loc[masked, column] = blank
    return out, masked


def repeat_numbers(table: pd.DataFrame) -> np.ndarray:
    """How many times each row's condition was shown before, within its stimulus.

    For a movie every frame is its own condition, so this is the repeat number of
    the movie; for natural scenes the showing of that image; for gratings the
    trial of that grating condition.
    """
    keys = table["stimulus_condition_id"].to_numpy()
    return pd.Series(keys).groupby(keys).cumcount().to_numpy(dtype=np.int64)


def stimulus_views(presentations: pd.DataFrame, reserved=()) -> dict[str, pd.DataFrame]:
    """One table per ``stimulus_name``: its rows of the combined table, plus ``repeat``.

    Visual Behavior movies' ``movie_frame_index`` is copied to ``frame``.

    Rows keep their ``stimulus_presentation_id`` index; columns that are empty for
    that stimulus (all NaN / all ``""``) are dropped. Names in ``reserved`` (other
    interval tables) and blank names are skipped; masked rows
    (``"invalid_presentation"``) get their own view.
    """
    views = {}
    names = presentations["stimulus_name"].tolist()
    for name in dict.fromkeys(names):
        if not isinstance(name, str) or not name or name in reserved:
            continue
        rows = presentations[presentations["stimulus_name"] == name].copy()
        keep = []
        for column in rows.columns:
            values = rows[column]
            if column in ("start_time", "stop_time", "stimulus_name"):
                keep.append(column)
            elif values.dtype.kind == "f":
                if not values.isna().all():
                    keep.append(column)
            elif is_text(values):
                if not all((isinstance(v, str) and v == "") or v is None or
                           (isinstance(v, float) and np.isnan(v)) for v in values.tolist()):
                    keep.append(column)
            else:
                keep.append(column)
        rows = rows[keep]
        for column in rows.columns:  # dtypes lost to the NaN/None of other stimuli's rows
            values = rows[column].to_numpy()
            if column in _INTEGER_COLUMNS and values.dtype.kind == "f":
                if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
                    rows[column] = values.astype(np.int64)
            elif values.dtype == object and len(values) and all(
                    isinstance(v, (bool, np.bool_)) for v in values):
                rows[column] = values.astype(bool)
            elif values.dtype == object and len(values) and all(
                    isinstance(v, (float, int, np.floating, np.integer))
                    and not isinstance(v, (bool, np.bool_)) for v in values):
                rows[column] = values.astype(np.float64)  # e.g. static gratings' phase
        if "frame" not in rows.columns and "movie_frame_index" in rows.columns:
            rows["frame"] = rows["movie_frame_index"]  # Visual Behavior's name for it
        if name != INVALID_NAME:
            rows["repeat"] = repeat_numbers(rows)
        views[name] = rows
    return views
