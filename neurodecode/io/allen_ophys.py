"""Allen Brain Observatory Visual Coding 2-photon files (NWB 1.x) → dF/F and stimulus tables.

The Visual Coding 2-photon experiments were released as NWB 1.x files, which
pynwb cannot read; AllenSDK's ``BrainObservatoryNwbDataSet`` reads them with
h5py at fixed paths. This module reads the same paths (without AllenSDK):

- dF/F: ``processing/brain_observatory_pipeline/DfOverF/imaging_plane_1/data``
  (cells × imaging frames) with its ``timestamps``;
- cells: ``.../ImageSegmentation/cell_specimen_ids``; area and depth from
  ``general/optophysiology/imaging_plane_1/{location, imaging depth}``;
- stimuli: ``stimulus/presentation/<name>_stimulus`` groups, whose
  ``frame_duration`` gives each presentation's first and last *imaging frame*;
  gratings carry ``data`` + ``features`` (one column per feature), scenes and
  movies ``data`` = the image/movie frame shown, spontaneous ``data`` = +1/-1
  events;
- behaviour: ``BehavioralTimeSeries/running_speed``, ``EyeTracking/
  pupil_location_spherical``, ``PupilTracking/pupil_size`` (when present).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import xarray as xr

from neurodecode.errors import NWBFormatError
from neurodecode.io.allen_stimulus import assign_condition_ids, stimulus_views
from neurodecode.io.nwb_h5 import to_str

__all__ = ["OphysSession", "read_allen_ophys", "is_allen_ophys"]

PIPELINE = "processing/brain_observatory_pipeline"
_META = {
    "session_type": "general/session_type",
    "ophys_experiment_id": "general/session_id",
    "experiment_container_id": "general/experiment_container_id",
    "specimen_name": "general/specimen_name",
    "genotype": "general/subject/genotype",
    "sex": "general/subject/sex",
    "age": "general/subject/age",
    "targeted_structure": "general/optophysiology/imaging_plane_1/location",
    "imaging_depth": "general/optophysiology/imaging_plane_1/imaging depth",
    "indicator": "general/optophysiology/imaging_plane_1/indicator",
    "session_start_time": "session_start_time",
}


@dataclass
class OphysSession:
    """A Visual Coding 2-photon experiment: dF/F, cells, stimulus tables, behaviour.

    Attributes
    ----------
    dff : xr.DataArray, dims ``("time", "unit")``
        dF/F per imaging frame. ``time`` = imaging frame timestamps (s); ``unit`` =
        cell specimen ids, with unit coords ``cell_specimen_id``, ``roi_index``,
        ``brain_area``, ``imaging_depth``; time coords give what was on screen at
        each imaging frame: ``stimulus_name`` (``""`` when none),
        ``stimulus_frame`` (movie frame / image, -1 when none or not a frame
        stimulus), ``stimulus_presentation_id``, ``stimulus_condition_id`` and
        ``repeat`` (-1 when none). attrs ``bin_size`` (median frame interval),
        ``session_id``, ``source``.
    cells : pd.DataFrame
        One row per cell, indexed by ``unit_id`` (= cell specimen id).
    intervals : dict of str to DataFrame
        ``"stimulus_presentations"`` (all stimuli, sorted by first imaging frame,
        ids = row numbers) and one view per stimulus (``"drifting_gratings"``,
        ``"natural_movie_one"``…), each with ``start_frame``, ``end_frame``
        (imaging frames), ``start_time``, ``stop_time`` (s), the stimulus
        parameters, ``stimulus_condition_id`` and ``repeat``.
    behavior : xr.Dataset
        ``running_speed``, ``pupil_location``, ``pupil_size`` when present.
    metadata : dict
    """

    dff: xr.DataArray
    cells: pd.DataFrame
    intervals: dict = field(default_factory=dict)
    behavior: xr.Dataset = field(default_factory=xr.Dataset)
    metadata: dict = field(default_factory=dict)

    @property
    def session_id(self) -> str:
        return str(self.metadata.get("session_id", ""))

    def __repr__(self) -> str:
        return (f"<OphysSession {self.session_id!r}: {self.dff.sizes['unit']} cells, "
                f"{self.dff.sizes['time']} imaging frames; stimuli "
                f"{', '.join(self.metadata.get('stimulus_names', []))}>")

    def align(self, stimulus: str, window: tuple[float, float] | None = None, *,
              per: str = "frame", include_blank: bool = True) -> xr.DataArray:
        """dF/F around each presentation of ``stimulus``, ``("trial", "time", "unit")``.

        Parameters
        ----------
        stimulus : str
            A view in :attr:`intervals` (``"drifting_gratings"``, ``"natural_scenes"``…).
        window : (float, float), optional
            Seconds relative to each trial's first imaging frame, turned into
            whole imaging frames (``round(t / frame interval)``); default
            ``(0, median trial length)``.
        per : {"frame", "repeat"}
            ``"frame"``: one trial per presentation. ``"repeat"``: movies only, one
            trial per repeat of the whole movie, with a ``("trial", "time")`` coord
            ``frame`` = the movie frame on screen at each imaging frame (-1 none).
        include_blank : bool
            Keep blank sweeps (``blank_sweep == 1`` or ``frame == -1``).

        Returns
        -------
        xr.DataArray
            ``time`` = frame offsets × frame interval (s); NaN where the window
            leaves the recording; trial coords from the view's scalar columns
            (``per="repeat"``: ``repeat``, ``stimulus_presentation_id`` of the
            repeat's first frame, ``start_frame``).

        Examples
        --------
        >>> t = np.arange(6) * 0.5
        >>> dff = xr.DataArray(np.arange(12.0).reshape(6, 2), dims=("time", "unit"),
        ...                    coords={"time": t, "unit": [7, 9]}, attrs={"bin_size": 0.5})
        >>> gratings = pd.DataFrame({"start_frame": [1, 4], "end_frame": [3, 6],
        ...                          "orientation": [0.0, 90.0]})
        >>> exp = OphysSession(dff, pd.DataFrame(index=[7, 9]), {"gratings": gratings})
        >>> X = exp.align("gratings", (-0.5, 1.0))
        >>> X.time.values.tolist(), X.sel(unit=7).values.tolist()
        ([-0.5, 0.0, 0.5], [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]])
        """
        if stimulus not in self.intervals:
            raise KeyError(f"align: no stimulus {stimulus!r}; stimuli are "
                           f"{[k for k in self.intervals if k != 'stimulus_presentations']}.")
        table = self.intervals[stimulus]
        if per not in ("frame", "repeat"):
            raise ValueError(f"align: `per` must be 'frame' or 'repeat', not {per!r}.")
        if per == "repeat":
            if "frame" not in table or "repeat" not in table:
                raise ValueError(f"align: per='repeat' needs a movie (a view with 'frame' and "
                                 f"'repeat'); {stimulus!r} has {list(table.columns)}.")
            rows = pd.DataFrame({"repeat": table["repeat"].to_numpy(),
                                 "pid": table.index.to_numpy(),
                                 "start_frame": table["start_frame"].to_numpy(),
                                 "end_frame": table["end_frame"].to_numpy()})
            groups = rows.groupby("repeat", sort=True)
            reps = np.asarray(list(groups.groups), dtype=np.int64)
            table = pd.DataFrame({"repeat": reps,
                                  "stimulus_presentation_id": groups["pid"].first().to_numpy(),
                                  "start_frame": groups["start_frame"].min().to_numpy(),
                                  "end_frame": groups["end_frame"].max().to_numpy()},
                                 index=pd.Index(reps, name="repeat_id"))
        if not include_blank and per == "frame":
            blank = np.zeros(len(table), dtype=bool)
            if "blank_sweep" in table:
                blank |= table["blank_sweep"].to_numpy(dtype=np.float64) == 1
            if "frame" in table:
                blank |= table["frame"].to_numpy(dtype=np.float64) == -1
            table = table[~blank]
        dt = float(self.dff.attrs["bin_size"])
        if window is None:
            n = int(np.median(table["end_frame"] - table["start_frame"])) if len(table) else 1
            offsets = np.arange(0, max(n, 1))
        else:
            lo, hi = (int(round(w / dt)) for w in window)
            offsets = np.arange(lo, hi)
        values = self.dff.values
        idx = table["start_frame"].to_numpy(dtype=np.int64)[:, None] + offsets[None, :]
        inside = (idx >= 0) & (idx < values.shape[0])
        out = np.full(idx.shape + (values.shape[1],), np.nan, dtype=np.float64)
        out[inside] = values[idx[inside]]
        coords = {"trial": table.index.to_numpy(), "time": offsets * dt,
                  "unit": self.dff["unit"].values}
        for name in self.dff["unit"].coords:
            if name != "unit" and self.dff[name].dims == ("unit",):
                coords[name] = ("unit", self.dff[name].values)
        for column in table.columns:
            v = table[column].to_numpy()
            if v.dtype != object or all(isinstance(x, (str, int, float, np.generic)) for x in v):
                coords[column] = ("trial", v)
        X = xr.DataArray(out, dims=("trial", "time", "unit"), coords=coords,
                         attrs={**self.dff.attrs, "window": (float(offsets[0] * dt),
                                                             float((offsets[-1] + 1) * dt))},
                         name="dff")
        X.time.attrs["units"] = "s (relative to presentation start)"
        if per == "repeat":
            on_screen = np.full(idx.shape, -1, dtype=np.int64)
            names = self.dff["stimulus_name"].values
            shown = self.dff["stimulus_frame"].values
            ok = inside.copy()
            ok[inside] = names[idx[inside]] == stimulus
            on_screen[ok] = shown[idx[ok]]
            X = X.assign_coords(frame=(("trial", "time"), on_screen))
        return X


def _read(f: h5py.File, path: str):
    obj = f.get(path)
    return obj[()] if isinstance(obj, h5py.Dataset) else None


def _strings(values) -> list[str]:
    return [to_str(v) for v in np.asarray(values).reshape(-1)]


def _require(f, path: str, label: str, what: str) -> h5py.Dataset:
    obj = f.get(path)
    if not isinstance(obj, h5py.Dataset):
        raise NWBFormatError(f"{label}: no {path} ({what}); expected a Visual Coding 2-photon "
                             "NWB 1.x file as released by the Allen Brain Observatory.")
    return obj


def _stimulus_table(name: str, group: h5py.Group, label: str) -> pd.DataFrame:
    path = group.name
    if "frame_duration" not in group or "data" not in group:
        raise NWBFormatError(f"{label}: {path} lacks 'data' or 'frame_duration'; expected a "
                             "stimulus presentation with imaging-frame start/end indices.")
    frames = np.asarray(group["frame_duration"][()])
    data = np.asarray(group["data"][()])
    if frames.ndim != 2 or frames.shape[1] != 2:
        raise NWBFormatError(f"{label}: {path}/frame_duration has shape {frames.shape}; "
                             "expected (n, 2) imaging-frame [start, end] pairs.")
    if name.startswith("spontaneous"):
        events = data.reshape(-1)
        starts, stops = np.flatnonzero(events == 1), np.flatnonzero(events == -1)
        if starts.size != stops.size:
            raise NWBFormatError(f"{label}: {path}/data has {starts.size} +1 and {stops.size} "
                                 "-1 events; expected start/stop pairs.")
        table = pd.DataFrame({"start_frame": frames[starts, 0], "end_frame": frames[stops, 0]})
    elif "features" in group:
        features = _strings(group["features"][()])
        data = data.reshape(len(frames), -1)
        if data.shape[1] != len(features):
            raise NWBFormatError(f"{label}: {path}/data has {data.shape[1]} columns but "
                                 f"'features' names {len(features)}.")
        table = pd.DataFrame(data.astype(np.float64), columns=features)
        table["start_frame"], table["end_frame"] = frames[:, 0], frames[:, 1]
    else:
        values = data.reshape(-1)
        if values.size != len(frames):
            raise NWBFormatError(f"{label}: {path}/data has {values.size} entries for "
                                 f"{len(frames)} frame_duration rows.")
        table = pd.DataFrame({"frame": values.astype(np.int64), "start_frame": frames[:, 0],
                              "end_frame": frames[:, 1]})
    table["start_frame"] = table["start_frame"].astype(np.int64)
    table["end_frame"] = table["end_frame"].astype(np.int64)
    table.insert(0, "stimulus_name", name)
    order = np.lexsort((table["end_frame"].to_numpy(), table["start_frame"].to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def _series(f, path: str, name: str, axis=None) -> xr.DataArray | None:
    group = f.get(path)
    if not isinstance(group, h5py.Group) or "data" not in group or "timestamps" not in group:
        return None
    data = np.asarray(group["data"][()], dtype=np.float64)
    t = np.asarray(group["timestamps"][()], dtype=np.float64).reshape(-1)
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    if data.shape[0] != t.size:
        return None
    dims = [f"{name}_time"] + ([f"{name}_axis"] if data.ndim == 2 else [])
    coords = {dims[0]: t}
    if data.ndim == 2:
        coords[dims[1]] = axis if axis and len(axis) == data.shape[1] else np.arange(data.shape[1])
    return xr.DataArray(data, dims=dims, coords=coords, attrs={"description": path})


def is_allen_ophys(path) -> bool:
    """True for an NWB 1.x file with the Brain Observatory dF/F traces (what
    :func:`read_allen_ophys` reads); unreadable or other files give ``False``."""
    try:
        with h5py.File(path, "r") as f:
            return (isinstance(f.get("nwb_version"), h5py.Dataset)
                    and f"{PIPELINE}/DfOverF/imaging_plane_1/data" in f)
    except (OSError, TypeError, ValueError):
        return False


def read_allen_ophys(path) -> OphysSession:
    """Read a Visual Coding 2-photon NWB 1.x file (``<ophys_experiment_id>.nwb``).

    Parameters
    ----------
    path : str or Path
        The file, as downloaded by AllenSDK's ``BrainObservatoryCache`` or from the
        Allen Brain Observatory S3 bucket.

    Returns
    -------
    OphysSession
        See :class:`OphysSession`. Presentation times are the imaging timestamps
        at each presentation's ``start_frame`` and ``end_frame``.

    Raises
    ------
    FileNotFoundError
        No such file.
    NWBFormatError
        Not HDF5; an NWB 2 file (use :func:`neurodecode.io.read_allen_ecephys` or
        :func:`neurodecode.io.read_nwb`); no dF/F traces or timestamps; cell ids,
        traces and timestamps that do not fit; a stimulus group without
        ``frame_duration``. Messages name the file and the path inside it.

    Examples
    --------
    >>> exp = read_allen_ophys("501940850.nwb")                     # doctest: +SKIP
    >>> exp.dff.sel(time=exp.dff.stimulus_name == "natural_movie_one")  # doctest: +SKIP
    >>> exp.align("drifting_gratings", (-1.0, 3.0))                 # doctest: +SKIP
    """
    label = str(path)
    if not Path(os.fspath(path)).exists():
        raise FileNotFoundError(f"{label}: no such file.")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise NWBFormatError(f"{label}: not an HDF5 file; expected a Visual Coding 2-photon "
                             "NWB 1.x file.") from exc
    with f:
        if "nwb_version" not in f or not isinstance(f["nwb_version"], h5py.Dataset):
            version = to_str(f.attrs.get("nwb_version", "")) if "nwb_version" in f.attrs else ""
            raise NWBFormatError(
                f"{label}: not an NWB 1.x file (no /nwb_version dataset"
                f"{'; NWB ' + version if version else ''}); Visual Coding 2-photon files are "
                "NWB 1.x. For NWB 2 files use neurodecode.io.read_nwb or read_allen_ecephys.")
        version = to_str(f["nwb_version"][()])
        data = _require(f, f"{PIPELINE}/DfOverF/imaging_plane_1/data", label, "dF/F traces")
        times = np.asarray(_require(f, f"{PIPELINE}/DfOverF/imaging_plane_1/timestamps", label,
                                    "imaging frame timestamps")[()], dtype=np.float64)
        traces = np.asarray(data[()], dtype=np.float64)
        if traces.ndim != 2 or times.size not in traces.shape:
            raise NWBFormatError(f"{label}: {data.name} has shape {traces.shape} but there are "
                                 f"{times.size} timestamps; expected (cells, frames).")
        if traces.shape[1] != times.size:  # stored frames first
            traces = traces.T
        n_cells = traces.shape[0]
        ids = _read(f, f"{PIPELINE}/ImageSegmentation/cell_specimen_ids")
        if ids is None:
            cell_ids = np.arange(n_cells, dtype=np.int64)
            warnings.warn(f"{label}: no {PIPELINE}/ImageSegmentation/cell_specimen_ids; cells "
                          "are numbered 0..n-1.", UserWarning, stacklevel=2)
        else:
            cell_ids = np.asarray(ids).reshape(-1)
            if cell_ids.size != n_cells:
                raise NWBFormatError(f"{label}: {PIPELINE}/ImageSegmentation/cell_specimen_ids "
                                     f"has {cell_ids.size} ids for {n_cells} dF/F traces.")
        meta = {"source": label, "nwb_version": version,
                "allen_dataset": "visual_coding_2p"}
        for key, p in _META.items():
            value = _read(f, p)
            if value is not None:
                meta[key] = to_str(value)
        stimuli = {}
        if "stimulus/presentation" in f:
            for key, group in f["stimulus/presentation"].items():
                if isinstance(group, h5py.Group):
                    name = key.removesuffix("_stimulus")
                    stimuli[name] = _stimulus_table(name, group, label)
        behavior = {}
        for name, p, axis in (
                ("running_speed", f"{PIPELINE}/BehavioralTimeSeries/running_speed", None),
                ("pupil_location", f"{PIPELINE}/EyeTracking/pupil_location_spherical",
                 ["altitude", "azimuth"]),
                ("pupil_size", f"{PIPELINE}/PupilTracking/pupil_size", None)):
            var = _series(f, p, name, axis)
            if var is not None:
                behavior[name] = var
    depth = meta.pop("imaging_depth", "")
    depth_um = float(depth.split()[0]) if depth and depth.split()[0].replace(".", "").isdigit() \
        else np.nan
    meta["imaging_depth_um"] = depth_um
    meta["session_id"] = meta.get("ophys_experiment_id", "")
    if meta.get("genotype"):
        meta["cre_line"] = meta["genotype"].split(";")[0].split("/")[0]
    meta["has_eye_tracking"] = "pupil_location" in behavior or "pupil_size" in behavior
    area = meta.get("targeted_structure", "")
    cells = pd.DataFrame({"cell_specimen_id": cell_ids, "roi_index": np.arange(n_cells),
                          "brain_area": area, "imaging_depth": depth_um},
                         index=pd.Index(cell_ids, name="unit_id"))
    intervals = _presentations(stimuli, times, label)
    meta["stimulus_names"] = sorted(stimuli)
    dt = float(np.median(np.diff(times))) if times.size > 1 else np.nan
    dff = xr.DataArray(
        traces.T, dims=("time", "unit"),
        coords={"time": times, "unit": cell_ids,
                **{c: ("unit", cells[c].to_numpy()) for c in cells.columns},
                **_screen_coords(intervals.get("stimulus_presentations"), times.size)},
        attrs={"bin_size": dt, "session_id": meta["session_id"], "source": label,
               "quantity": "dF/F"}, name="dff")
    dff.time.attrs["units"] = "s"
    return OphysSession(dff, cells, intervals, xr.Dataset(behavior), meta)


def _presentations(stimuli: dict[str, pd.DataFrame], times: np.ndarray, label: str) -> dict:
    if not stimuli:
        return {}
    table = pd.concat([stimuli[k] for k in sorted(stimuli)], ignore_index=True, sort=False)
    last = times.size - 1
    for column in ("start_frame", "end_frame"):
        frames = table[column].to_numpy()
        if frames.size and (frames.min() < 0 or frames.max() > last + 1):
            raise NWBFormatError(f"{label}: stimulus {column} values run from {frames.min()} to "
                                 f"{frames.max()}, outside the {times.size} imaging frames.")
    order = np.argsort(table["start_frame"].to_numpy(), kind="stable")
    table = table.iloc[order].reset_index(drop=True)
    table.index = pd.Index(np.arange(len(table), dtype=np.int64), name="stimulus_presentation_id")
    table.insert(1, "start_time", times[np.clip(table["start_frame"].to_numpy(), 0, last)])
    table.insert(2, "stop_time", times[np.clip(table["end_frame"].to_numpy(), 0, last)])
    ids, _ = assign_condition_ids(table)
    table["stimulus_condition_id"] = ids
    views = stimulus_views(table, reserved=("stimulus_presentations",))
    return {"stimulus_presentations": table, **views}


def _screen_coords(table: pd.DataFrame | None, n: int) -> dict:
    """Per imaging frame: the presentation on screen (half-open [start_frame, end_frame))."""
    name = np.full(n, "", dtype=object)
    frame = np.full(n, -1, dtype=np.int64)
    pres = np.full(n, -1, dtype=np.int64)
    cond = np.full(n, -1, dtype=np.int64)
    rep = np.full(n, -1, dtype=np.int64)
    if table is not None and len(table):
        repeats = pd.Series(-1, index=table.index, dtype=np.int64)
        key = table["stimulus_condition_id"].to_numpy()
        names = table["stimulus_name"].to_numpy()
        for stim in dict.fromkeys(names.tolist()):
            rows = names == stim
            repeats[rows] = pd.Series(key[rows]).groupby(key[rows]).cumcount().to_numpy()
        lo = np.clip(table["start_frame"].to_numpy(dtype=np.int64), 0, n)
        hi = np.clip(np.maximum(table["end_frame"].to_numpy(dtype=np.int64), lo + 1), 0, n)
        lengths = np.maximum(hi - lo, 0)
        row = np.repeat(np.arange(len(table)), lengths)
        at = np.arange(row.size) - np.repeat(np.cumsum(lengths) - lengths, lengths) + lo[row]
        name[at] = names[row]
        pres[at] = table.index.to_numpy()[row]
        cond[at] = key[row]
        rep[at] = repeats.to_numpy()[row]
        if "frame" in table.columns:
            shown = table["frame"].to_numpy(dtype=np.float64)[row]
            ok = np.isfinite(shown)
            frame[at[ok]] = shown[ok].astype(np.int64)
    return {"stimulus_name": ("time", name), "stimulus_frame": ("time", frame),
            "stimulus_presentation_id": ("time", pres), "stimulus_condition_id": ("time", cond),
            "repeat": ("time", rep)}
