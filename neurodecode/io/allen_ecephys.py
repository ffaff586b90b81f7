"""Allen Brain Observatory Neuropixels sessions (Visual Coding, Visual Behavior) → Session.

Reads the session NWB files published on DANDI:000021 (Visual Coding Neuropixels)
and DANDI:000713 (Visual Behavior Neuropixels) with h5py through
:func:`neurodecode.io.read_nwb`, then applies the Allen conventions that AllenSDK
documents, without depending on AllenSDK:

- units → peak channel (``units/peak_channel_id`` = electrode id) → brain area
  (electrode ``location``: the CCF structure acronym; ``""``/``"None"`` = outside
  the brain) and probe (the electrode's group, ``probeA``…);
- AllenSDK's unit filter (by default as AllenSDK does per dataset; reported);
- one combined stimulus table plus one view per stimulus name
  (see :func:`read_allen_ecephys`);
- running speed and eye tracking under canonical names.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping

import h5py
import numpy as np
import pandas as pd
import xarray as xr

from neurodecode.data.session import Session
from neurodecode.errors import NWBFormatError
from neurodecode.io.allen_stimulus import (
    INVALID_NAME,
    assign_condition_ids,
    concat_presentations,
    mask_invalid_presentations,
    parse_stimulus_columns,
    stimulus_views,
)
from neurodecode.io.nwb_h5 import attr_str, neurodata_type, read_table, to_str
from neurodecode.io.nwb_read import open_nwb, read_nwb

__all__ = ["ALLEN_UNIT_FILTER", "read_allen_ecephys", "describe_allen", "align_stimulus",
           "strip_substructure_acronym", "is_allen_ecephys"]

logger = logging.getLogger("neurodecode.io")

#: AllenSDK's default unit filter (``EcephysSession`` / ``Probes.get_units_table``):
#: units whose peak channel has ``valid_data`` and whose ``quality == "good"``
#: (``filter_by_validity``), whose peak channel lies in a brain structure
#: (``filter_out_of_brain_units``), and whose metrics pass the three bounds.
#: A bound of ``None`` is not applied. NaN metrics fail a bound (as in AllenSDK).
ALLEN_UNIT_FILTER = {
    "filter_by_validity": True,
    "filter_out_of_brain_units": True,
    "amplitude_cutoff_maximum": 0.1,
    "presence_ratio_minimum": 0.95,
    "isi_violations_maximum": 0.5,
}
_OUTSIDE = {"", "none", "nan", "null"}
_CCF = {"x": "anterior_posterior_ccf_coordinate", "y": "dorsal_ventral_ccf_coordinate",
        "z": "left_right_ccf_coordinate"}


def strip_substructure_acronym(acronym: str) -> str:
    """The structure without its sub-structure: ``"DG-mo"`` → ``"DG"`` (text before ``-``).

    Examples
    --------
    >>> strip_substructure_acronym("DG-mo"), strip_substructure_acronym("VISp")
    ('DG', 'VISp')
    """
    return acronym.split("-")[0] if acronym else acronym


def _structure(value) -> str:
    text = to_str(value).strip() if value is not None else ""
    return "" if text.lower() in _OUTSIDE else text


# ------------------------------------------------------------------ channels
def _read_channels(handle: h5py.File, label: str) -> pd.DataFrame:
    path = "general/extracellular_ephys/electrodes"
    if path not in handle:
        raise NWBFormatError(f"{label}: no {path} table; an Allen Neuropixels session lists "
                             "its channels there (units point to them by peak_channel_id).")
    group = handle[path]
    ids, columns = read_table(group)
    missing = {"location"} - set(columns)
    if missing:
        raise NWBFormatError(f"{label}: {path} has no 'location' column; expected the CCF "
                             "structure acronym of each channel.")
    n = len(ids)
    channels = pd.DataFrame({k: v for k, v in columns.items() if len(v) == n},
                            index=pd.Index(ids, name="channel_id"))
    channels["structure_acronym"] = [_structure(v) for v in channels["location"].tolist()]
    if "valid_data" in channels:
        channels["valid_data"] = channels["valid_data"].astype(bool)
    # Visual Coding files call the channel number local_index, Visual Behavior probe_channel_number.
    if "probe_channel_number" not in channels and "local_index" in channels:
        channels["probe_channel_number"] = channels["local_index"]
    groups = _probe_groups(handle)
    if "group" in channels:
        channels["probe"] = [to_str(g) for g in channels["group"].tolist()]
    elif "group_name" in channels:
        channels["probe"] = [to_str(g) for g in channels["group_name"].tolist()]
    else:
        channels["probe"] = ""
    if "probe_id" not in channels:
        channels["probe_id"] = [groups.get(p, {}).get("probe_id", -1) for p in channels["probe"]]
    return channels.rename(columns=_CCF)


def _probe_groups(handle: h5py.File) -> dict[str, dict]:
    """``{group name: {probe_id, location, sampling_rate, ...}}`` from the electrode groups."""
    out = {}
    base = handle.get("general/extracellular_ephys")
    if base is None:
        return out
    for name, obj in base.items():
        if not isinstance(obj, h5py.Group) or name == "electrodes":
            continue
        kind = neurodata_type(obj)
        if "ElectrodeGroup" not in kind:
            continue
        info = {"neurodata_type": kind, "location": attr_str(obj, "location"),
                "description": attr_str(obj, "description")}
        for key in ("probe_id", "lfp_sampling_rate", "has_lfp_data"):
            if key in obj.attrs:
                info[key] = np.asarray(obj.attrs[key]).item()
        device = obj.get("device")
        if isinstance(device, h5py.Group) and "sampling_rate" in device.attrs:
            info["sampling_rate"] = float(np.asarray(device.attrs["sampling_rate"]).item())
        out[name] = info
    return out


# --------------------------------------------------------------------- units
def _attach_channels(units: pd.DataFrame, channels: pd.DataFrame, strip: bool,
                     label: str) -> pd.DataFrame:
    if "peak_channel_id" not in units:
        raise NWBFormatError(f"{label}: the units table has no peak_channel_id column; Allen "
                             "sessions link each unit to its peak channel (an electrode id) "
                             "with it.")
    units = units.copy()
    peak = units["peak_channel_id"].to_numpy()
    found = np.isin(peak, channels.index.to_numpy())
    rows = channels.reindex(peak)
    acronyms = [a if isinstance(a, str) else "" for a in rows["structure_acronym"].tolist()]
    units["ecephys_structure_acronym"] = acronyms
    units["brain_area"] = [strip_substructure_acronym(a) if strip else a for a in acronyms]
    units["probe"] = [p if isinstance(p, str) else "" for p in rows["probe"].tolist()]
    units["probe_id"] = rows["probe_id"].fillna(-1).to_numpy(dtype=np.int64)
    units["channel_valid_data"] = (rows["valid_data"].fillna(False).to_numpy(dtype=bool)
                                   if "valid_data" in rows else found)
    for column in ("probe_channel_number", "probe_vertical_position",
                   "probe_horizontal_position", *_CCF.values()):
        if column in rows:  # float (NaN) only when some peak channel is missing
            units[column] = (rows[column].to_numpy() if found.all()
                             else rows[column].to_numpy(dtype=np.float64))
    units["has_peak_channel"] = found
    return units


def _unit_filter_settings(quality_filter, behavior: bool) -> tuple[dict | None, str]:
    """``(criteria or None, where they come from)``."""
    if isinstance(quality_filter, str):
        if quality_filter != "auto":
            raise ValueError("read_allen_ecephys: `quality_filter` must be 'auto', True, False "
                             f"or a dict, not {quality_filter!r}.")
        if behavior:
            return None, "AllenSDK default for Visual Behavior (BehaviorEcephysSession.get_units" \
                         ": no filter)"
        return dict(ALLEN_UNIT_FILTER), "AllenSDK default for Visual Coding (EcephysSession)"
    if quality_filter is False or quality_filter is None:
        return None, "quality_filter=False"
    settings = dict(ALLEN_UNIT_FILTER)
    if quality_filter is True:
        return settings, "quality_filter=True (AllenSDK EcephysSession criteria)"
    if isinstance(quality_filter, Mapping):
        unknown = set(quality_filter) - set(settings)
        if unknown:
            raise ValueError(f"read_allen_ecephys: unknown `quality_filter` keys "
                             f"{sorted(unknown)}; known: {sorted(settings)}.")
        settings.update(quality_filter)
        return settings, "quality_filter dict (overrides of AllenSDK EcephysSession criteria)"
    raise TypeError("read_allen_ecephys: `quality_filter` must be 'auto', True, False or a dict "
                    f"of ALLEN_UNIT_FILTER overrides, not {type(quality_filter).__name__}.")


def unit_filter_mask(units: pd.DataFrame, settings: Mapping, label: str = "") -> tuple:
    """``(keep mask, {criterion: units failing it})`` for AllenSDK's unit filter."""
    keep = np.ones(len(units), dtype=bool)
    failing = {}

    def apply(name, ok):
        nonlocal keep
        ok = np.asarray(ok, dtype=bool)
        failing[name] = int((~ok).sum())
        keep &= ok

    if settings.get("filter_by_validity"):
        apply("valid_data channel", units["channel_valid_data"].to_numpy(dtype=bool))
        if "quality" not in units:
            raise NWBFormatError(f"{label}: the units table has no 'quality' column, needed "
                                 "by the Allen unit filter (quality == 'good'); pass "
                                 "quality_filter={'filter_by_validity': False} or False.")
        apply("quality == 'good'", units["quality"].astype(str).to_numpy() == "good")
    if settings.get("filter_out_of_brain_units"):
        apply("inside the brain", (units["ecephys_structure_acronym"] != "").to_numpy())
    for key, column, op in (("amplitude_cutoff_maximum", "amplitude_cutoff", np.less_equal),
                            ("presence_ratio_minimum", "presence_ratio", np.greater_equal),
                            ("isi_violations_maximum", "isi_violations", np.less_equal)):
        bound = settings.get(key)
        if bound is None:
            continue
        if column not in units:
            raise NWBFormatError(f"{label}: the units table has no {column!r} column, needed "
                                 f"by the Allen unit filter ({key}); set it to None in "
                                 "quality_filter to skip it.")
        values = units[column].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            apply(f"{column} {'<=' if op is np.less_equal else '>='} {bound}",
                  op(values, float(bound)))
    return keep, failing


# ------------------------------------------------------------------ behaviour
def _running(behavior: xr.Dataset) -> xr.Dataset:
    """``running_speed`` under one name for both layouts; end times as a coord."""
    ds = behavior
    if "timestamps" in ds:  # processing/stimulus/timestamps: display frame times, not behaviour
        var = ds["timestamps"]
        ds = ds.drop_vars(["timestamps", var.dims[0]])
    if "running_speed" not in ds and "speed" in ds:  # Visual Behavior: processing/running/speed
        var = ds["speed"]
        renamed = xr.DataArray(var.values, dims=("running_speed_time",),
                               coords={"running_speed_time": var[var.dims[0]].values},
                               attrs=var.attrs)
        ds = ds.drop_vars(["speed", var.dims[0]]).assign(running_speed=renamed)
    if "running_speed" in ds and "running_speed_end_times" in ds:
        end = ds["running_speed_end_times"]
        end_t = end[end.dims[0]].values
        if end_t.size == ds["running_speed"].sizes["running_speed_time"]:
            ds = ds.drop_vars(["running_speed_end_times", end.dims[0]])
            ds = ds.assign_coords(running_speed_end_time=("running_speed_time", end_t))
    return ds


def _ellipse_from_tables(handle: h5py.File) -> dict[str, xr.DataArray]:
    """Visual Coding: processing/eye_tracking/{pupil,eye,cr}_ellipse_fits tables."""
    out = {}
    module = handle.get("processing/eye_tracking")
    if not isinstance(module, h5py.Group):
        return out
    for table_name, var_name in (("pupil_ellipse_fits", "pupil"), ("eye_ellipse_fits", "eye"),
                                 ("cr_ellipse_fits", "corneal_reflection")):
        group = module.get(table_name)
        if not isinstance(group, h5py.Group):
            continue
        _, columns = read_table(group)
        if "timestamps" not in columns:
            continue
        parts = [c for c in ("center_x", "center_y", "width", "height", "phi") if c in columns]
        # AllenSDK: the fitted "height"/"width" are half-lengths; report full lengths.
        data = np.column_stack([np.asarray(columns[c], dtype=np.float64) *
                                (2.0 if c in ("width", "height") else 1.0) for c in parts])
        time_dim = f"{var_name}_time"
        out[var_name] = xr.DataArray(
            data, dims=(time_dim, f"{var_name}_axis"),
            coords={time_dim: np.asarray(columns["timestamps"], dtype=np.float64),
                    f"{var_name}_axis": parts},
            attrs={"units": "pixels", "description": f"processing/eye_tracking/{table_name}"})
    return out


def _ellipse_from_series(handle: h5py.File) -> dict[str, xr.DataArray]:
    """Visual Behavior: acquisition/EyeTracking EllipseSeries (pupil/eye/CR tracking)."""
    out = {}
    container = handle.get("acquisition/EyeTracking")
    if not isinstance(container, h5py.Group):
        return out
    for series_name, var_name in (("pupil_tracking", "pupil"), ("eye_tracking", "eye"),
                                  ("corneal_reflection_tracking", "corneal_reflection")):
        group = container.get(series_name)
        if not isinstance(group, h5py.Group) or "data" not in group or "timestamps" not in group:
            continue
        center = np.asarray(group["data"][()], dtype=np.float64).reshape(-1, 2)
        parts, cols = ["center_x", "center_y"], [center[:, 0], center[:, 1]]
        for key, part in (("width", "width"), ("height", "height"), ("angle", "phi"),
                          ("area", "area")):
            if key in group:
                parts.append(part)
                cols.append(np.asarray(group[key][()], dtype=np.float64).reshape(-1))
        time_dim = f"{var_name}_time"
        t = np.asarray(group["timestamps"][()], dtype=np.float64).reshape(-1)
        out[var_name] = xr.DataArray(
            np.column_stack(cols), dims=(time_dim, f"{var_name}_axis"),
            coords={time_dim: t, f"{var_name}_axis": parts},
            attrs={"units": "pixels", "description": f"acquisition/EyeTracking/{series_name}"})
    if "likely_blink" in container and "data" in container["likely_blink"]:
        blink = container["likely_blink"]
        t_src = blink["timestamps"] if "timestamps" in blink else None
        if t_src is not None:
            out["likely_blink"] = xr.DataArray(
                np.asarray(blink["data"][()], dtype=np.float64).reshape(-1),
                dims=("likely_blink_time",),
                coords={"likely_blink_time": np.asarray(t_src[()], dtype=np.float64)},
                attrs={"description": "acquisition/EyeTracking/likely_blink (1 = blink)"})
    return out


def _eye_tracking(handle: h5py.File, behavior: xr.Dataset) -> tuple[xr.Dataset, bool]:
    found = _ellipse_from_tables(handle)
    found.update({k: v for k, v in _ellipse_from_series(handle).items() if k not in found})
    for prefix in ("filtered_gaze_mapping", "raw_gaze_mapping"):
        name = f"{prefix}_pupil_area"
        if "pupil_area" not in found and name in behavior:
            var = behavior[name]
            found["pupil_area"] = xr.DataArray(
                var.values, dims=("pupil_area_time",),
                coords={"pupil_area_time": var[var.dims[0]].values}, attrs=var.attrs)
    clean = {k: v for k, v in found.items() if k not in behavior}
    return (behavior.assign(clean) if clean else behavior), bool(found)


# --------------------------------------------------------------- presentations
def _presentations(session: Session, label: str):
    """Combined table, views, conditions and the count of masked rows."""
    raw = {k: v for k, v in session.intervals.items() if k.endswith("_presentations")}
    table = concat_presentations(raw, label)
    table = parse_stimulus_columns(table)
    if "stimulus_index" in table.columns:  # AllenSDK drops it (an index into the pickle)
        table = table.drop(columns=["stimulus_index"])
    if "duration" not in table.columns:  # as EcephysSession adds it
        table["duration"] = table["stop_time"] - table["start_time"]
    if "stimulus_block" in table.columns:
        block = table["stimulus_block"].to_numpy(dtype=np.float64)
        if np.all(np.isfinite(block)):  # Visual Coding writes it as float64
            table["stimulus_block"] = block.astype(np.int64)
    if "frame" in table.columns and table["frame"].dtype.kind == "f":
        frames = table["frame"].to_numpy()
        ok = np.isfinite(frames)
        if ok.all() and np.all(frames == np.round(frames)):
            table["frame"] = frames.astype(np.int64)
    ids, conditions = assign_condition_ids(table)
    table["stimulus_condition_id"] = ids
    table, masked = mask_invalid_presentations(table, session.intervals.get("invalid_times"))
    others = {k: v for k, v in session.intervals.items() if not k.endswith("_presentations")}
    reserved = set(others) | {"stimulus_presentations", "stimulus_conditions"}
    views = stimulus_views(table, reserved=reserved)
    if "is_change" in table.columns and "image_changes" not in reserved:
        change = table["is_change"].map(lambda v: v is True or v == 1 or v is np.True_)
        if change.any():
            views["image_changes"] = table[change.to_numpy(dtype=bool)].copy()
    return table, views, conditions, int(masked.sum()), others


# ------------------------------------------------------------------- reading
def is_allen_ecephys(path) -> bool:
    """True for an NWB 2 file in the Allen Neuropixels session layout.

    That is: units with ``peak_channel_id``, an electrodes table with ``location``,
    and at least one ``intervals/*_presentations`` table (what
    :func:`read_allen_ecephys` needs). Not NWB / unreadable files give ``False``.
    """
    try:
        handle, _, owned = open_nwb(path)
    except (OSError, NWBFormatError):
        return False
    try:
        units = handle.get("units")
        intervals = handle.get("intervals")
        return (isinstance(units, h5py.Group) and "peak_channel_id" in units
                and "general/extracellular_ephys/electrodes/location" in handle
                and isinstance(intervals, h5py.Group)
                and any(k.endswith("_presentations") for k in intervals))
    finally:
        if owned:
            handle.close()


# Large per-spike / per-sample unit columns that nothing here uses (GBs in real sessions).
_HEAVY_UNIT_COLUMNS = ("spike_amplitudes", "waveform_mean")


def _read_nwb_light(handle, **kwargs) -> Session:
    """read_nwb, skipping the heavy unit columns when read_nwb offers a way to."""
    import inspect

    if "skip_unit_columns" in inspect.signature(read_nwb).parameters:
        kwargs["skip_unit_columns"] = _HEAVY_UNIT_COLUMNS
    return read_nwb(handle, **kwargs)


def read_allen_ecephys(path, *, quality_filter="auto", strip_substructure: bool = False,
                       sort_units: bool = True, load_stimuli: bool = True,
                       sort_spikes: str = "warn") -> Session:
    """Read an Allen Neuropixels session NWB file (Visual Coding or Visual Behavior).

    Parameters
    ----------
    path : str, Path, h5py.File or file-like
        The session file (``session_<id>.nwb`` from DANDI:000021 / AllenSDK's cache,
        or a ``sub-*_ses-*_ogen.nwb`` / ``ecephys.nwb`` session from DANDI:000713).
    quality_filter : "auto", bool or dict
        ``True`` keeps the units AllenSDK's ``EcephysSession`` keeps by default
        (:data:`ALLEN_UNIT_FILTER`): peak channel with ``valid_data``,
        ``quality == "good"``, peak channel inside the brain,
        ``amplitude_cutoff <= 0.1``, ``presence_ratio >= 0.95``,
        ``isi_violations <= 0.5``. ``False`` keeps every unit. A dict overrides some
        criteria (e.g. ``{"amplitude_cutoff_maximum": None}``). ``"auto"`` (default)
        does what AllenSDK does by default for the dataset: the filter above for
        Visual Coding, no filter for Visual Behavior
        (``BehaviorEcephysSession.get_units`` filters nothing unless asked). What was
        applied, why, and how many units each criterion removed go to the
        ``neurodecode.io`` logger (INFO) and to ``metadata["unit_filter"]``.
    strip_substructure : bool
        ``brain_area`` without the sub-structure (``DG-mo`` → ``DG``, ``VISp5`` is
        kept). The raw acronym stays in ``ecephys_structure_acronym``.
    sort_units : bool
        Order units as AllenSDK does (probe, then vertical then horizontal position
        of the peak channel; units on the same channel keep file order); else file
        order.
    load_stimuli : bool
        Read ``stimulus/templates`` (movies, natural scenes) into ``session.stimuli``.
    sort_spikes : {"warn", "raise", "assume"}
        As in :func:`neurodecode.io.read_nwb`.

    Returns
    -------
    Session
        - ``units``: the file's columns plus, from the peak channel:
          ``brain_area`` (``""`` outside the brain), ``ecephys_structure_acronym``,
          ``probe`` (``"probeA"``…), ``probe_id``, ``probe_channel_number``,
          ``probe_vertical_position``, ``probe_horizontal_position``, CCF
          coordinates, ``channel_valid_data``, ``has_peak_channel``.
        - ``intervals``:
          ``"stimulus_presentations"``: every ``*_presentations`` table combined as
          AllenSDK does (see :mod:`neurodecode.io.allen_stimulus`), indexed by
          ``stimulus_presentation_id``, with ``duration`` and ``stimulus_condition_id``;
          one view per stimulus name (``"natural_movie_one"``,
          ``"drifting_gratings"``, ``"natural_scenes"``, ``"spontaneous"``…): the
          rows of the combined table with that ``stimulus_name``, same ids, its
          empty columns dropped, plus ``repeat`` (how many times the same
          condition -- movie frame, image, grating -- was shown before);
          ``"invalid_presentation"`` for masked rows; ``"image_changes"`` (Visual
          Behavior: presentations with ``is_change``);
          ``"stimulus_conditions"``: one row per condition (no times);
          and the other interval tables as read (``trials``, ``invalid_times``…).
          The per-file ``*_presentations`` tables are not kept (the combined table
          holds all their rows).
        - ``behavior``: ``running_speed`` (cm/s; coord ``running_speed_end_time`` in
          Visual Coding), ``pupil``/``eye``/``corneal_reflection`` ellipses
          (``center_x, center_y, width, height, phi[, area]``) and ``pupil_area``
          when the session has eye tracking, plus every other series
          :func:`read_nwb` finds.
        - ``metadata``: ``allen_dataset`` (``"visual_coding_neuropixels"`` or
          ``"visual_behavior_neuropixels"``), ``ecephys_session_id``, ``probes``,
          ``unit_filter``, ``has_eye_tracking``, ``n_invalid_presentations``, and
          what :func:`read_nwb` gives.

    Raises
    ------
    NWBFormatError
        Not an NWB file; no electrodes table or no ``location`` column; units
        without ``peak_channel_id``; no ``*_presentations`` table; a column the
        unit filter needs is missing. Messages name the file and table.

    Examples
    --------
    A small simulated session written in the Visual Coding layout:

    >>> import tempfile, pathlib
    >>> from neurodecode.datasets.visual_cortex import make_visual_coding_session
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "session.nwb"
    >>> sim = make_visual_coding_session({"VISp": 6, "LGd": 3}, n_movie_frames=30,
    ...                                  movie_repeats=2, n_scenes=3, scene_repeats=1,
    ...                                  dg_temporal_frequencies=(2.0,), dg_repeats=1,
    ...                                  spontaneous_duration=2.0, random_state=1, path=path)
    >>> session = read_allen_ecephys(path)
    >>> report = session.metadata["unit_filter"]
    >>> report["n_units_file"], report["n_units_kept"] == session.n_units
    (9, True)
    >>> X = align_stimulus(session, "natural_movie_one", per="repeat", bin_size=1 / 30)
    >>> X.dims, X.sizes["trial"], X.frame.dims
    (('trial', 'time', 'unit'), 2, ('trial', 'time'))
    """
    _unit_filter_settings(quality_filter, False)  # bad arguments fail before any reading
    try:
        handle, label, owned = open_nwb(path)
    except NWBFormatError as exc:
        from neurodecode.io.allen_ophys import is_allen_ophys

        if isinstance(path, (str, bytes)) or hasattr(path, "__fspath__"):
            if is_allen_ophys(path):
                raise NWBFormatError(f"{exc} This is a Visual Coding 2-photon file: read it "
                                     "with neurodecode.io.read_allen_ophys.") from exc
        raise
    try:
        session = _read_nwb_light(handle, sort_spikes=sort_spikes, load_stimuli=load_stimuli)
        channels = _read_channels(handle, label)
        probes = _probe_groups(handle)
        behavior = _running(session.behavior)
        behavior, has_eye = _eye_tracking(handle, behavior)
        stimulus_set = None
        if "general/stimulus" in handle:
            stimulus_set = to_str(handle["general/stimulus"][()])
    finally:
        if owned:
            handle.close()
    is_behavior = "probe_channel_number" in channels.columns and "local_index" not in \
        channels.columns
    settings, source = _unit_filter_settings(quality_filter, is_behavior)
    units = _attach_channels(session.units, channels, strip_substructure, label)
    n_file = len(units)
    report = {"applied": settings is not None, "criteria": settings or {}, "rule": source,
              "n_units_file": n_file}
    keep = np.ones(n_file, dtype=bool)
    if settings is not None:
        keep, failing = unit_filter_mask(units, settings, label)
        report["n_failing"] = failing
    report["n_units_kept"] = int(keep.sum())
    if settings is not None:
        logger.info("%s: Allen unit filter (%s) kept %d of %d units.", label,
                    ", ".join(f"{k}={v}" for k, v in settings.items()), keep.sum(), n_file)
        if n_file and not keep.any():
            warnings.warn(f"{label}: the Allen unit filter removed all {n_file} units "
                          f"(failing: {report['n_failing']}); pass quality_filter=False to keep "
                          "them.", UserWarning, stacklevel=2)
    else:
        logger.info("%s: Allen unit filter off (%s); all %d units kept.", label, source, n_file)
    positions = np.flatnonzero(keep)
    if sort_units and positions.size:
        sub = units.iloc[positions]
        order = np.lexsort((sub["probe_horizontal_position"].to_numpy(dtype=np.float64)
                            if "probe_horizontal_position" in sub else np.zeros(len(sub)),
                            sub["probe_vertical_position"].to_numpy(dtype=np.float64)
                            if "probe_vertical_position" in sub else np.zeros(len(sub)),
                            sub["probe"].to_numpy(dtype=str)))
        positions = positions[order]
    table, views, conditions, n_masked, others = _presentations(session, label)
    intervals = {**others, "stimulus_presentations": table, **views}
    intervals["stimulus_conditions"] = _conditions_with_times(conditions, table)
    metadata = dict(session.metadata)
    metadata.update({
        "allen_dataset": "visual_behavior_neuropixels" if is_behavior
        else "visual_coding_neuropixels",
        "unit_filter": report,
        "probes": {name: info for name, info in probes.items()},
        "has_eye_tracking": has_eye,
        "n_invalid_presentations": n_masked,
        "stimulus_names": [n for n in views if n != INVALID_NAME],
    })
    try:
        metadata["ecephys_session_id"] = int(metadata.get("session_id", ""))
    except ValueError:
        pass
    if stimulus_set:
        metadata["stimulus_set"] = stimulus_set
    full = Session(session.spikes, units, intervals, behavior, session.stimuli, metadata)
    return full._replace(spikes=full.spikes.select(positions), units=units.iloc[positions])


def _conditions_with_times(conditions: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Conditions as an intervals-compatible table (first showing's times, count)."""
    out = conditions.copy()
    ids = table["stimulus_condition_id"].to_numpy()
    valid = ids >= 0
    first = pd.Series(np.flatnonzero(valid)).groupby(ids[valid]).first()
    out["start_time"] = np.nan
    out["stop_time"] = np.nan
    rows = first.reindex(out.index)
    ok = rows.notna().to_numpy()
    out.loc[ok, "start_time"] = table["start_time"].to_numpy()[rows[ok].to_numpy(dtype=int)]
    out.loc[ok, "stop_time"] = table["stop_time"].to_numpy()[rows[ok].to_numpy(dtype=int)]
    out["n_presentations"] = np.bincount(ids[valid], minlength=len(out))[: len(out)]
    return out


# ---------------------------------------------------------------- alignment
def align_stimulus(session: Session, stimulus: str, *, per: str = "frame", bin_size: float,
                   window: tuple[float, float] | None = None, include_blank: bool = True,
                   dtype=None) -> xr.DataArray:
    """Spike counts per presentation or per movie repeat, ``("trial", "time", "unit")``.

    Parameters
    ----------
    session : Session
        From :func:`read_allen_ecephys` (or any session whose ``intervals`` hold a
        view named ``stimulus`` with ``start_time``, ``stop_time`` and, for
        ``per="repeat"``, ``frame`` and ``repeat``).
    stimulus : str
        A stimulus name: ``"natural_movie_one"``, ``"natural_scenes"``,
        ``"drifting_gratings"``, ``"image_changes"``…
    per : {"frame", "repeat"}
        ``"frame"``: one trial per presentation (each movie frame, image or
        grating), window ``(0, median presentation duration)`` unless given.
        ``"repeat"``: movies only -- one trial per repeat of the whole movie, from
        its first frame's start, window ``(0, median repeat duration)`` unless given;
        a ``("trial", "time")`` coord ``frame`` gives the movie frame on screen at
        each bin centre (-1 when none).
    bin_size : float
        Seconds.
    window : (float, float), optional
        Seconds relative to each trial's start.
    include_blank : bool
        Keep blank sweeps (``frame == -1`` in natural scenes, gratings with a null
        ``orientation``) when ``per="frame"``.

    Returns
    -------
    xr.DataArray
        Trial coords: for ``"frame"`` every scalar column of the view
        (``frame``, ``repeat``, ``stimulus_condition_id``, ``stimulus_block``,
        ``orientation``…) and ``stimulus_presentation_id``; for ``"repeat"``
        ``repeat``, ``stimulus_block`` and ``stimulus_presentation_id`` of the first
        frame.

    Examples
    --------
    A two-frame movie shown twice; one unit fires in frame 0 of repeat 0 and in
    frame 1 of repeat 1:

    >>> from neurodecode.data import SpikeTrains
    >>> movie = pd.DataFrame({"start_time": [0.0, 0.1, 1.0, 1.1],
    ...                       "stop_time": [0.1, 0.2, 1.1, 1.2], "stimulus_name": "m",
    ...                       "frame": [0, 1, 0, 1], "repeat": [0, 0, 1, 1]},
    ...                      index=pd.Index([5, 6, 7, 8], name="stimulus_presentation_id"))
    >>> s = Session(SpikeTrains.from_list([[0.05, 1.15]]), intervals={"m": movie})
    >>> X = align_stimulus(s, "m", per="repeat", bin_size=0.1)
    >>> X.frame.values.tolist(), X.values[..., 0].tolist()
    ([[0, 1], [0, 1]], [[1, 0], [0, 1]])
    >>> align_stimulus(s, "m", per="frame", bin_size=0.1).frame.values.tolist()
    [0, 1, 0, 1]
    """
    if per not in ("frame", "repeat"):
        raise ValueError(f"align_stimulus: `per` must be 'frame' or 'repeat', not {per!r}.")
    if stimulus not in session.intervals:
        names = [k for k, v in session.intervals.items() if "stimulus_name" in v.columns
                 and k != "stimulus_presentations"]
        raise KeyError(f"align_stimulus: no stimulus {stimulus!r} in this session; stimuli are "
                       f"{names}.")
    table = session.intervals[stimulus]
    starts = table["start_time"].to_numpy(dtype=np.float64)
    stops = table["stop_time"].to_numpy(dtype=np.float64)
    if per == "frame":
        events = table
        if not include_blank:
            events = events[~_blank_rows(events)]
        if window is None:
            durations = events["stop_time"].to_numpy(dtype=np.float64) - \
                events["start_time"].to_numpy(dtype=np.float64)
            window = (0.0, float(np.nanmedian(durations)))
        events = events.copy()
        events["stimulus_presentation_id"] = events.index.to_numpy()
        return session.align(events, window, bin_size, dtype=dtype)
    if "frame" not in table.columns or "repeat" not in table.columns:
        raise ValueError(f"align_stimulus: per='repeat' needs a movie (a view with 'frame' and "
                         f"'repeat' columns); {stimulus!r} has {list(table.columns)}.")
    frames = table["frame"].to_numpy()
    repeats = table["repeat"].to_numpy()
    order = np.lexsort((starts, repeats))
    n_rep = int(repeats.max()) + 1 if repeats.size else 0
    first = np.full(n_rep, -1, dtype=np.int64)
    last = np.full(n_rep, -1, dtype=np.int64)
    for pos in order:
        r = repeats[pos]
        if first[r] < 0:
            first[r] = pos
        last[r] = pos
    present = first >= 0
    rep_ids = np.flatnonzero(present)
    rep_start = starts[first[present]]
    rep_stop = stops[last[present]]
    if window is None:
        window = (0.0, float(np.median(rep_stop - rep_start)))
    events = pd.DataFrame({"start_time": rep_start, "stop_time": rep_stop, "repeat": rep_ids},
                          index=pd.Index(rep_ids, name="repeat_id"))
    events["stimulus_presentation_id"] = table.index.to_numpy()[first[present]]
    if "stimulus_block" in table.columns:
        events["stimulus_block"] = table["stimulus_block"].to_numpy()[first[present]]
    X = session.align(events, window, bin_size, dtype=dtype)
    # The frame on screen at each bin centre, repeat by repeat.
    shown = np.full((len(rep_ids), X.sizes["time"]), -1, dtype=np.int64)
    centres = X["time"].values
    for i, r in enumerate(rep_ids):
        rows = order[repeats[order] == r]
        t = rep_start[i] + centres
        k = np.searchsorted(starts[rows], t, side="right") - 1
        inside = (k >= 0) & (t < stops[rows][np.clip(k, 0, None)])
        shown[i, inside] = frames[rows][k[inside]].astype(np.int64)
    return X.assign_coords(frame=(("trial", "time"), shown))


def _blank_rows(table: pd.DataFrame) -> np.ndarray:
    """Blank sweeps: ``frame == -1`` (natural scenes) or a null ``orientation`` (gratings)."""
    blank = np.zeros(len(table), dtype=bool)
    if "frame" in table.columns:
        blank |= table["frame"].to_numpy(dtype=np.float64) == -1
    if "orientation" in table.columns and table["orientation"].dtype.kind == "f":
        blank |= np.isnan(table["orientation"].to_numpy(dtype=np.float64))
    return blank


# ------------------------------------------------------------------- summary
def describe_allen(session: Session) -> str:
    """A text summary of an Allen session: unit filter, units per area, stimulus blocks.

    Examples
    --------
    >>> from neurodecode.data import SpikeTrains
    >>> units = pd.DataFrame({"brain_area": ["VISp", "LGd"], "probe": ["probeA", "probeC"]},
    ...                      index=pd.Index([1, 2], name="unit_id"))
    >>> s = Session(SpikeTrains.from_list([[0.1], [0.2]], unit_ids=[1, 2]), units,
    ...             metadata={"allen_dataset": "visual_coding_neuropixels", "session_id": "7"})
    >>> print(describe_allen(s))                                   # doctest: +ELLIPSIS
    Allen visual coding neuropixels 7
    Units per area (2 units):
      VISp                   1
      LGd                    1
    ...
    """
    if hasattr(session, "dff"):  # a 2-photon OphysSession
        return _describe_ophys(session)
    meta = session.metadata
    lines = [f"Allen {meta.get('allen_dataset', 'session').replace('_', ' ')} "
             f"{meta.get('session_id', '')}"]
    report = meta.get("unit_filter")
    if report:
        if report.get("applied"):
            crit = ", ".join(f"{k}={v}" for k, v in report["criteria"].items())
            lines.append(f"  unit filter: kept {report['n_units_kept']} of "
                         f"{report['n_units_file']} units ({crit})")
            if report.get("rule"):
                lines.append(f"    rule: {report['rule']}")
            for name, n in report.get("n_failing", {}).items():
                lines.append(f"    failing {name}: {n}")
        else:
            lines.append(f"  unit filter: off ({report['n_units_file']} units"
                         f"{'; ' + report['rule'] if report.get('rule') else ''})")
    if "brain_area" in session.units:
        counts = session.units.groupby(
            [session.units.get("probe", pd.Series("", index=session.units.index)),
             session.units["brain_area"]], sort=True).size()
        lines.append(f"Units per area ({session.n_units} units):")
        per_area = session.units["brain_area"].replace("", "(outside brain)").value_counts()
        for area, n in per_area.items():
            lines.append(f"  {area:<18}{n:>6}")
        if "probe" in session.units:
            lines.append("Units per probe/area:")
            for (probe, area), n in counts.items():
                lines.append(f"  {probe or '(no probe)':<10}{area or '(outside brain)':<18}{n:>6}")
    table = session.intervals.get("stimulus_presentations")
    if table is not None and len(table):
        lines.append(f"Stimulus presentations: {len(table)} rows, "
                     f"{meta.get('n_invalid_presentations', 0)} masked as invalid")
        if "stimulus_block" in table.columns:
            blocks = table[table["stimulus_name"] != INVALID_NAME]
            key = blocks["stimulus_block"].to_numpy(dtype=np.float64)
            key = np.where(np.isnan(key), -1, key)
            rows = []
            for block in dict.fromkeys(key.tolist()):
                part = blocks[key == block]
                rows.append((part["start_time"].min(), block, part))
            lines.append("  block  stimulus                         rows   start (s)   stop (s)")
            for start, block, part in sorted(rows, key=lambda r: r[0]):
                names = ",".join(dict.fromkeys(part["stimulus_name"].tolist()))
                label = "-" if block < 0 else str(int(block))
                lines.append(f"  {label:>5}  {names[:30]:<30} {len(part):>7} {start:>11.2f} "
                             f"{part['stop_time'].max():>10.2f}")
        cond = session.intervals.get("stimulus_conditions")
        if cond is not None:
            lines.append(f"  {len(cond)} stimulus conditions")
    if len(session.behavior.data_vars):
        lines.append("Behaviour: " + ", ".join(map(str, session.behavior.data_vars)))
    lines.append(f"Eye tracking: {'yes' if meta.get('has_eye_tracking') else 'no'}")
    return "\n".join(lines)


def _describe_ophys(exp) -> str:
    meta = exp.metadata
    lines = [f"Allen visual coding 2p experiment {meta.get('session_id', '')}"
             f" ({meta.get('session_type', '')})",
             f"  {exp.dff.sizes['unit']} cells in {meta.get('targeted_structure', '?')} at "
             f"{meta.get('imaging_depth_um', float('nan')):g} um, cre line "
             f"{meta.get('cre_line', '?')}; {exp.dff.sizes['time']} imaging frames at "
             f"{1 / exp.dff.attrs['bin_size']:.2f} Hz"]
    table = exp.intervals.get("stimulus_presentations")
    if table is not None and len(table):
        lines.append(f"Stimulus presentations: {len(table)} rows")
        for name in dict.fromkeys(table["stimulus_name"].tolist()):
            part = table[table["stimulus_name"] == name]
            lines.append(f"  {name:<30} {len(part):>7} rows  frames {part['start_frame'].min()}"
                         f"-{part['end_frame'].max()}")
    if len(exp.behavior.data_vars):
        lines.append("Behaviour: " + ", ".join(map(str, exp.behavior.data_vars)))
    lines.append(f"Eye tracking: {'yes' if meta.get('has_eye_tracking') else 'no'}")
    return "\n".join(lines)
