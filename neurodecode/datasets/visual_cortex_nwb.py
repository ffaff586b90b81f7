"""Write a simulated session in the Visual Coding Neuropixels NWB layout (DANDI:000021).

What goes where (as in the Allen Institute's session files, written by
AllenSDK's ``write_nwb``):

- ``/units``: ids, ``spike_times`` (+ index), ``spike_amplitudes`` (+ index),
  ``waveform_mean``, ``cluster_id``, ``local_index``, ``peak_channel_id``,
  ``quality`` and the quality metrics (``amplitude_cutoff``, ``presence_ratio``,
  ``isi_violations``, ``snr``, ``isolation_distance``, …). No brain-area column:
  areas come from ``peak_channel_id`` -> electrodes ``location``.
- ``/general/extracellular_ephys/electrodes``: ``x, y, z, imp, location``
  (structure acronym, ``"None"`` outside the brain), ``filtering``, ``group``,
  ``group_name``, ``probe_vertical_position``, ``probe_horizontal_position``,
  ``probe_id``, ``local_index``, ``valid_data``; one electrode group and device per
  probe (``probeA``…), group location "See electrode locations".
- ``/intervals/<stimulus>_presentations``: TimeIntervals with the AllenSDK
  columns per stimulus (float64 ``stimulus_block`` and ``stimulus_index``; text
  ``phase``, ``size``, ``spatial_frequency``, ``color``, ``mask``, ``units`` for
  gratings; ``frame`` as float64, -1 for blank scenes), ``tags``
  ("stimulus_time_interval") and ``timeseries`` references into
  ``processing/stimulus/timestamps``; ``/intervals/invalid_times`` with tags.
- ``/processing/running``: ``running_speed`` (cm/s, timestamps = interval
  starts), ``running_speed_end_times`` (NaN data, timestamps = interval ends),
  ``running_wheel_rotation`` (radians, sharing running_speed's timestamps).
- ``/stimulus/templates``: ``natural_movie_one`` and ``natural_scenes`` as
  ImageSeries ``(frame, y, x)`` uint8 with frame-index timestamps (the Allen
  session files on DANDI do not carry templates; AllenSDK downloads them
  separately, and we keep them in the file so it is self-contained).

Not written (Allen extensions that need their namespace): ``EcephysProbe`` /
``EcephysElectrodeGroup`` / ``EcephysSpecimen`` types (plain ``Device``,
``ElectrodeGroup``, ``Subject`` instead), LFP, eye tracking, optotagging.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from neurodecode.utils.atomic import atomic_path

__all__ = ["write_visual_coding_nwb", "UNIT_COLUMNS", "PRESENTATION_COLUMN_DESCRIPTIONS"]

#: Units columns in the order of the Allen files (besides spikes and waveforms).
UNIT_COLUMNS = ("PT_ratio", "amplitude", "amplitude_cutoff", "cluster_id", "cumulative_drift",
                "d_prime", "firing_rate", "isi_violations", "isolation_distance", "l_ratio",
                "local_index", "max_drift", "nn_hit_rate", "nn_miss_rate", "peak_channel_id",
                "presence_ratio", "quality", "recovery_slope", "repolarization_slope",
                "silhouette_score", "snr", "spread", "velocity_above", "velocity_below",
                "waveform_duration", "waveform_halfwidth")

#: Column descriptions as AllenSDK writes them.
PRESENTATION_COLUMN_DESCRIPTIONS = {
    "stimulus_name": "Name of stimulus",
    "stimulus_block": "Index of contiguous presentations of one stimulus type",
    "temporal_frequency": "Temporal frequency of stimulus",
    "x_position": "Horizontal position of stimulus on screen",
    "y_position": "Vertical position of stimulus on screen",
    "mask": "Shape of mask applied to stimulus",
    "opacity": "Opacity of stimulus",
    "phase": "Phase of grating stimulus",
    "size": "Size of stimulus (see \u2018units\u2019 field for units)",
    "units": "Units of stimulus size",
    "stimulus_index": "Index of stimulus type",
    "orientation": "Orientation of stimulus",
    "spatial_frequency": "Spatial frequency of stimulus",
    "frame": "Frame of movie stimulus",
    "contrast": "Contrast of stimulus",
}
_TAG = "stimulus_time_interval"


def write_visual_coding_nwb(session, channels: pd.DataFrame, path, *, overwrite: bool = False
                            ) -> Path:
    """Write a simulated Visual Coding session (and its probes' channels) as an Allen-layout NWB.

    Parameters
    ----------
    session : Session
        From :func:`~neurodecode.datasets.make_visual_coding_session`: units with the
        Allen columns, ``*_presentations`` and ``invalid_times`` intervals, behaviour
        ``running_speed``, stimuli ``natural_movie_one`` / ``natural_scenes``.
    channels : pandas.DataFrame
        One row per channel: ``id``, ``probe``, ``probe_id``, ``local_index``,
        ``location``, ``probe_vertical_position``, ``probe_horizontal_position``,
        ``valid_data``.
    path : str or Path
    overwrite : bool

    Returns
    -------
    Path
    """
    from pynwb import NWBHDF5IO

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"write_visual_coding_nwb: {path} exists; pass overwrite=True.")
    nwbfile = _nwbfile(session)
    _add_stimulus_timestamps_and_presentations(nwbfile, session.intervals)
    _add_probes(nwbfile, channels)
    _add_units(nwbfile, session)
    _add_running(nwbfile, session.behavior)
    _add_templates(nwbfile, session.stimuli)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not end in '.nwb'")
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)
    return path


def _nwbfile(session):
    from pynwb import NWBFile
    from pynwb.file import Subject

    meta = session.metadata
    nwbfile = NWBFile(session_description=meta["session_description"],
                      identifier=str(meta["session_id"]), session_id=str(meta["session_id"]),
                      session_start_time=pd.Timestamp(meta["session_start_time"]).to_pydatetime(),
                      institution=meta["institution"], stimulus_notes=meta["stimulus_notes"])
    nwbfile.subject = Subject(**meta["subject"])
    return nwbfile


def _column(name, values, description=None):
    from hdmf.common import VectorData

    values = np.asarray(values)
    if values.dtype.kind in "OUS":
        values = np.array([str(v) for v in values], dtype=object)
    return VectorData(name=name, description=description or "no description", data=values)


def _ragged(name, parts, description, dtype=np.float64):
    from hdmf.common import VectorData, VectorIndex

    ends = np.cumsum([len(p) for p in parts]).astype(np.int64)
    data = np.concatenate([np.asarray(p, dtype=dtype) for p in parts]) if parts else np.zeros(0)
    column = VectorData(name=name, description=description, data=data)
    return column, VectorIndex(name=f"{name}_index", data=ends, target=column)


def _add_stimulus_timestamps_and_presentations(nwbfile, intervals):
    from hdmf.common import ElementIdentifiers, VectorData, VectorIndex
    from pynwb import ProcessingModule, TimeSeries
    from pynwb.base import TimeSeriesReferenceVectorData
    from pynwb.epoch import TimeIntervals

    tables = {k[:-len("_presentations")]: v for k, v in intervals.items()
              if k.endswith("_presentations")}
    starts = np.sort(np.concatenate([t["start_time"].to_numpy() for t in tables.values()]))
    stamps = TimeSeries(name="timestamps", data=starts, timestamps=starts, unit="s")
    module = ProcessingModule(name="stimulus", description="Stimulus Times processing")
    nwbfile.add_processing_module(module)
    module.add(stamps)
    for name in sorted(tables):
        table = tables[name]
        n = len(table)
        columns = [VectorData(name="start_time", description="Start time of epoch, in seconds",
                              data=table["start_time"].to_numpy(np.float64)),
                   VectorData(name="stop_time", description="Stop time of epoch, in seconds",
                              data=table["stop_time"].to_numpy(np.float64))]
        for col in sorted(c for c in table.columns if c not in ("start_time", "stop_time")):
            columns.append(_column(col, table[col].to_numpy(),
                                   PRESENTATION_COLUMN_DESCRIPTIONS.get(col, "No description")))
        tags = VectorData(name="tags", description="user-defined tags", data=[_TAG] * n)
        index = np.searchsorted(starts, table["start_time"].to_numpy())
        refs = TimeSeriesReferenceVectorData(
            name="timeseries", description="index into a TimeSeries object",
            data=[(int(i), 1, stamps) for i in index])
        columns += [tags, VectorIndex(name="tags_index", data=np.arange(1, n + 1), target=tags),
                    refs, VectorIndex(name="timeseries_index", data=np.arange(1, n + 1),
                                      target=refs)]
        nwbfile.add_time_intervals(TimeIntervals(
            name=f"{name}_presentations",
            description=f"Presentation times and stimuli details for '{name}' stimuli",
            id=ElementIdentifiers(name="id", data=table.index.to_numpy(np.int64)),
            columns=columns))
    invalid = intervals.get("invalid_times")
    if invalid is not None and len(invalid):
        container = TimeIntervals(name="invalid_times", description="experimental intervals")
        for row in invalid.itertuples(index=False):
            container.add_interval(start_time=float(row.start_time),
                                   stop_time=float(row.stop_time), tags=list(row.tags))
        nwbfile.invalid_times = container


def _add_probes(nwbfile, channels):
    from pynwb.ecephys import ElectrodeGroup

    groups = {}
    for probe in channels["probe"].unique():
        device = nwbfile.create_device(name=probe, description="Neuropixels 1.0 Probe",
                                       manufacturer="imec")
        groups[probe] = ElectrodeGroup(name=probe, description="Ecephys Electrode Group",
                                       location="See electrode locations", device=device)
        nwbfile.add_electrode_group(groups[probe])
    for name, description in (
            ("probe_vertical_position",
             "Length-wise position of electrode/channel on device (microns)"),
            ("probe_horizontal_position",
             "Width-wise position of electrode/channel on device (microns)"),
            ("probe_id", "The unique id of this electrode's/channel's device"),
            ("local_index", "The local index of electrode/channel on device"),
            ("valid_data", "Whether data from this electrode/channel is usable")):
        nwbfile.add_electrode_column(name=name, description=description)
    for row in channels.itertuples(index=False):
        # CCF coordinates (microns) drift with depth along each probe.
        depth = float(row.probe_vertical_position)
        nwbfile.add_electrode(
            id=int(row.id), x=8000.0 + 0.3 * depth, y=3800.0 - depth, z=7500.0 + 0.1 * depth,
            imp=np.nan, location=str(row.location) or "None",
            filtering="AP band: 500 Hz high-pass; LFP band: 1000 Hz low-pass",
            group=groups[row.probe], probe_vertical_position=int(row.probe_vertical_position),
            probe_horizontal_position=int(row.probe_horizontal_position),
            probe_id=int(row.probe_id), local_index=int(row.local_index),
            valid_data=bool(row.valid_data))


def _add_units(nwbfile, session):
    from hdmf.common import ElementIdentifiers, VectorData
    from pynwb.misc import Units

    units = session.units
    trains = _split(session.spikes)
    rng = np.random.default_rng(int(units.index[0]) % (2 ** 32))
    amplitudes = [np.abs(rng.normal(a, 0.15 * a, t.size)) * 1e-6
                  for a, t in zip(units["amplitude"].to_numpy(), trains, strict=True)]
    waveforms = np.stack([_waveform(h, a) for h, a in zip(
        units["waveform_halfwidth"].to_numpy(), units["amplitude"].to_numpy(), strict=True)])
    times, times_index = _ragged("spike_times", trains, "times (s) of detected spiking events")
    amps, amps_index = _ragged("spike_amplitudes", amplitudes,
                               "amplitude (s) of detected spiking events")
    columns = [_column(c, units[c].to_numpy()) for c in UNIT_COLUMNS]
    columns += [times, times_index, amps, amps_index,
                VectorData(name="waveform_mean",
                           description="mean waveforms on peak channels (over samples)",
                           data=waveforms)]
    nwbfile.units = Units(name="units", description="Autogenerated by neurodecode",
                          id=ElementIdentifiers(name="id", data=units.index.to_numpy(np.int64)),
                          columns=columns)


def _split(spikes):
    times = spikes.times
    offsets = spikes.offsets
    return [times[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def _waveform(halfwidth_ms: float, amplitude_uv: float, n_samples: int = 82) -> np.ndarray:
    t = np.arange(n_samples) / 30.0 - 0.6  # ms at 30 kHz, trough at 0
    trough = -np.exp(-0.5 * (t / (halfwidth_ms / 2.355)) ** 2)
    rebound = 0.35 * np.exp(-0.5 * ((t - 2.5 * halfwidth_ms) / (1.5 * halfwidth_ms)) ** 2)
    return amplitude_uv * 1e-6 * (trough + rebound)


def _add_running(nwbfile, behavior):
    from pynwb import ProcessingModule, TimeSeries

    speed = behavior["running_speed"]
    starts = speed["running_speed_time"].values
    interval = float(behavior.attrs.get("running_interval", np.median(np.diff(starts))))
    ends = starts + interval
    module = ProcessingModule(name="running", description="running speed data")
    nwbfile.add_processing_module(module)
    speed_ts = TimeSeries(name="running_speed", data=speed.values, timestamps=starts,
                          unit="cm/s")
    module.add(speed_ts)
    module.add(TimeSeries(name="running_speed_end_times", data=np.full(starts.size, np.nan),
                          timestamps=ends, unit="cm/s"))
    wheel_radius_cm = 8.255
    module.add(TimeSeries(name="running_wheel_rotation", timestamps=speed_ts,
                          data=speed.values * interval / wheel_radius_cm, unit="radians"))


def _add_templates(nwbfile, stimuli):
    from pynwb.image import ImageSeries

    for name in ("natural_movie_one", "natural_scenes"):
        if name in stimuli:
            data = np.asarray(stimuli[name].values)
            nwbfile.add_stimulus_template(ImageSeries(
                name=name, data=data, unit="NA", format="raw",
                timestamps=np.arange(data.shape[0], dtype=np.float64),
                description=f"{name} template, (frame, y, x) grey levels"))
