"""Small NWB files in the Allen Brain Observatory layouts, with hand-known contents.

- :func:`write_visual_coding_session`: Visual Coding Neuropixels (DANDI:000021):
  pynwb-written, then patched with h5py where the real files use AllenSDK's
  extension types (``EcephysElectrodeGroup`` attributes ``probe_id`` etc.).
  Odd cases of the real files: float64 ``stimulus_block``, text grating parameters
  (``"[250.0, 250.0]"``, ``"0.04"``, ``"null"``), ``frame == -1`` blank sweeps,
  units outside the brain (``""`` and ``"None"``), an invalid channel, a NaN
  metric, an ``invalid_times`` table; eye tracking optional.
- :func:`write_visual_behavior_session`: Visual Behavior Neuropixels (DANDI:000713):
  ``probe_channel_number``, int64 ``stimulus_block``, image-change flashes and a
  trials table, ``processing/running/speed``, ``acquisition/EyeTracking``.
- :func:`write_ophys_nwb1`: a Visual Coding 2-photon NWB 1.x file (h5py).

The expected values each test checks are written next to the data here (``EXPECTED``).
"""

from __future__ import annotations

from datetime import datetime, timezone

import h5py
import numpy as np
import pandas as pd

# --------------------------------------------------------------------- truth
# channel id: (probe, location, valid_data, vertical, horizontal)
CHANNELS = {
    5000: ("probeA", "VISp", True, 20, 43),
    5001: ("probeA", "VISp", True, 40, 11),
    5002: ("probeA", "DG-mo", True, 60, 43),
    5003: ("probeA", "", True, 80, 11),
    5004: ("probeA", "VISp", False, 100, 43),
    5005: ("probeB", "LGd", True, 20, 43),
    5006: ("probeB", "None", True, 40, 11),
    5007: ("probeB", "CA1", True, 100, 43),
}
PROBE_IDS = {"probeA": 1001, "probeB": 1002}
_EMPTY = "__empty__"
# unit id: (peak channel, quality, amplitude_cutoff, presence_ratio, isi_violations)
UNITS = {
    101: (5001, "good", 0.05, 0.99, 0.1),    # kept
    102: (5000, "good", 0.20, 0.99, 0.1),    # amplitude_cutoff > 0.1
    103: (5002, "good", 0.01, 0.99, 0.0),    # kept (DG-mo)
    104: (5003, "good", 0.01, 0.99, 0.0),    # outside the brain ("")
    105: (5004, "good", 0.01, 0.99, 0.0),    # channel not valid_data
    106: (5005, "noise", 0.01, 0.99, 0.0),   # quality != good
    107: (5005, "good", 0.01, 0.90, 0.0),    # presence_ratio < 0.95
    108: (5006, "good", 0.01, 0.99, 0.0),    # outside the brain ("None")
    109: (5007, "good", 0.01, 0.99, 0.6),    # isi_violations > 0.5
    110: (5007, "good", np.nan, 0.99, 0.0),  # NaN amplitude_cutoff fails the bound
    111: (5000, "good", 0.10, 0.95, 0.5),    # kept: every bound met with equality
    112: (5005, "good", 0.02, 0.97, 0.2),    # kept
}
EXPECTED = {
    # AllenSDK's default filter, and its order (probe, vertical, horizontal position)
    "kept_units": [111, 101, 103, 112],
    "n_failing": {"valid_data channel": 1, "quality == 'good'": 1, "inside the brain": 2,
                  "amplitude_cutoff <= 0.1": 2, "presence_ratio >= 0.95": 1,
                  "isi_violations <= 0.5": 1},
    "areas": {101: "VISp", 103: "DG-mo", 111: "VISp", 112: "LGd"},
}

MOVIE_FRAMES, MOVIE_REPEATS, MOVIE_START, FRAME_DT = 10, 3, 10.0, 0.1
DG_START = 15.0
DG_ORI = [0.0, 90.0, 0.0, 90.0, None, 0.0]     # None: blank sweep ("null")
DG_TF = [2.0, 2.0, 4.0, 4.0, None, 2.0]
NS_START, NS_DT = 35.0, 0.25
NS_FRAMES = [3, 0, -1, 3, 1, 0, -1, 2]          # -1: blank sweep
FLASH_START = [50.0, 51.0]
FLASH_COLOR = ["-1.0", "1.0"]
SPONT = [(0.0, 10.0), (60.0, 62.0)]
INVALID = [((36.4, 36.6), ["EcephysSession", "715093703", "stimulus"]),
           ((12.0, 12.5), ["EcephysProbe", "1001", "probeA"])]


def expected_presentations() -> pd.DataFrame:
    """The combined table's names, starts, blocks and condition ids, by AllenSDK's rules.

    Sorted by start time, ids are row numbers; conditions are numbered in order of
    first appearance over every parameter column; rows overlapping an invalid
    interval tagged "stimulus" are renamed "invalid_presentation" (condition -1).
    """
    rows = [("spontaneous", SPONT[0][0], -1, ("spont",))]
    for r in range(MOVIE_REPEATS):
        for f in range(MOVIE_FRAMES):
            rows.append(("natural_movie_one", MOVIE_START + r + f * FRAME_DT, 2, ("movie", f)))
    for i, (o, t) in enumerate(zip(DG_ORI, DG_TF, strict=True)):
        rows.append(("drifting_gratings", DG_START + 3 * i, 1, ("dg", o, t)))
    for i, f in enumerate(NS_FRAMES):
        rows.append(("natural_scenes", NS_START + NS_DT * i, 3, ("ns", f)))
    for s, c in zip(FLASH_START, FLASH_COLOR, strict=True):
        rows.append(("flashes", s, 4, ("flash", c)))
    rows.append(("spontaneous", SPONT[1][0], -1, ("spont",)))
    seen: dict = {}
    out = []
    for name, start, block, key in rows:
        cid = seen.setdefault(key, len(seen))
        stop = start + {"natural_movie_one": FRAME_DT, "drifting_gratings": 2.0,
                        "natural_scenes": NS_DT, "flashes": 0.25}.get(name, 0.0)
        if name == "spontaneous":
            stop = SPONT[0][1] if start == SPONT[0][0] else SPONT[1][1]
        for (lo, hi), tags in INVALID:
            if "stimulus" in tags and max(start, lo) <= min(stop, hi):
                name, cid = "invalid_presentation", -1
        out.append((name, start, block, cid))
    table = pd.DataFrame(out, columns=["stimulus_name", "start_time", "stimulus_block",
                                       "stimulus_condition_id"])
    table.index.name = "stimulus_presentation_id"
    return table


def _spike_times(unit_id: int) -> np.ndarray:
    """Unit 101 fires 10 ms into every even movie frame; the others fire regularly."""
    if unit_id == 101:
        starts = [MOVIE_START + r + f * FRAME_DT for r in range(MOVIE_REPEATS)
                  for f in range(0, MOVIE_FRAMES, 2)]
        return np.asarray(starts) + 0.01
    rate = 1.0 + (unit_id % 7)
    return np.arange(0.05, 62.0, 1.0 / rate) + 0.001 * (unit_id % 5)


# ------------------------------------------------------------------- writers
def _nwbfile(identifier: str, **kwargs):
    from pynwb import NWBFile

    return NWBFile(session_description="Data and metadata for an Ecephys session",
                   identifier=identifier,
                   session_start_time=datetime(2019, 1, 19, 8, 54, 18, tzinfo=timezone.utc),
                   institution="Allen Institute for Brain Science", **kwargs)


def _add_probes_and_units(nwb, channel_number_column: str):
    groups = {}
    for probe in sorted(PROBE_IDS):
        device = nwb.create_device(name=probe, description="Neuropixels 1.0")
        groups[probe] = nwb.create_electrode_group(
            name=probe, description="Ecephys Electrode Group", location="See electrode locations",
            device=device)
    for column, description in (
            ("probe_vertical_position", "Length-wise position of electrode/channel on device"),
            ("probe_horizontal_position", "Width-wise position of electrode/channel on device"),
            ("probe_id", "The unique id of this electrode's/channel's device"),
            (channel_number_column, "The local index of electrode/channel on device"),
            ("valid_data", "Whether data from this electrode/channel is usable")):
        nwb.add_electrode_column(name=column, description=description)
    for k, (cid, (probe, loc, valid, vpos, hpos)) in enumerate(CHANNELS.items()):
        nwb.add_electrode(id=cid, x=8000.0 + k, y=3000.0 + k, z=7000.0 + k, imp=np.nan,
                          location=loc or _EMPTY, filtering="AP band: 500 Hz high-pass",
                          group=groups[probe],
                          group_name=probe, probe_vertical_position=vpos,
                          probe_horizontal_position=hpos, probe_id=PROBE_IDS[probe],
                          **{channel_number_column: k % 5}, valid_data=valid)
    for column in ("peak_channel_id", "quality", "amplitude_cutoff", "presence_ratio",
                   "isi_violations", "firing_rate", "snr", "cluster_id", "local_index"):
        nwb.add_unit_column(name=column, description="no description")
    for k, (uid, (peak, quality, ac, pr, isi)) in enumerate(UNITS.items()):
        times = _spike_times(uid)
        nwb.add_unit(id=uid, spike_times=times, peak_channel_id=peak, quality=quality,
                     amplitude_cutoff=ac, presence_ratio=pr, isi_violations=isi,
                     firing_rate=times.size / 62.0, snr=2.0 + k, cluster_id=k, local_index=k)


def _patch_groups(path):
    """Electrode groups as AllenSDK's EcephysElectrodeGroup; "" locations (pynwb refuses them)."""
    with h5py.File(path, "r+") as f:
        location = f["general/extracellular_ephys/electrodes/location"]
        values = location.asstr()[()]
        for i, v in enumerate(values):
            if v == _EMPTY:
                location[i] = ""
        for probe, pid in PROBE_IDS.items():
            group = f[f"general/extracellular_ephys/{probe}"]
            group.attrs["neurodata_type"] = "EcephysElectrodeGroup"
            group.attrs["namespace"] = "AIBS_ecephys"
            group.attrs["probe_id"] = np.int64(pid)
            group.attrs["has_lfp_data"] = np.bool_(True)
            group.attrs["lfp_sampling_rate"] = 1250.0
            f[f"general/devices/{probe}"].attrs["sampling_rate"] = 30000.0


def _add_table(nwb, name: str, rows: list[dict], stim_ts, descriptions=None):
    from pynwb.epoch import TimeIntervals

    table = TimeIntervals(name=f"{name}_presentations",
                          description=f"Presentation times and stimuli details for '{name}' "
                                      "stimuli")
    for column in rows[0]:
        if column not in ("start_time", "stop_time"):
            table.add_column(name=column, description="No description")
    for row in rows:
        table.add_interval(**row, tags=["stimulus_time_interval"], timeseries=[stim_ts])
    nwb.add_time_intervals(table)


def write_visual_coding_session(path, *, eye_tracking: bool = False):
    """A Visual Coding Neuropixels session file in the DANDI:000021 layout."""
    from pynwb import NWBHDF5IO, ProcessingModule, TimeSeries
    from pynwb.core import DynamicTable

    nwb = _nwbfile("715093703", stimulus_notes="brain_observatory_1.1")
    _add_probes_and_units(nwb, "local_index")
    stim_module = ProcessingModule(name="stimulus", description="Stimulus Times processing")
    nwb.add_processing_module(stim_module)
    stim_ts = TimeSeries(name="timestamps", data=np.arange(0, 62, 1 / 60), unit="s",
                         timestamps=np.arange(0, 62, 1 / 60))
    stim_module.add(stim_ts)

    _add_table(nwb, "spontaneous", [dict(start_time=s, stop_time=e, stimulus_name="spontaneous")
                                    for s, e in SPONT], stim_ts)
    movie = []
    for r in range(MOVIE_REPEATS):
        for f in range(MOVIE_FRAMES):
            start = MOVIE_START + r + f * FRAME_DT
            movie.append(dict(start_time=start, stop_time=start + FRAME_DT,
                              stimulus_name="natural_movie_one", stimulus_block=2.0,
                              stimulus_index=9.0, color="[1.0, 1.0, 1.0]", contrast=1.0,
                              frame=float(f), opacity=1.0, orientation=0.0,
                              size="[1920.0, 1080.0]", units="pix"))
    _add_table(nwb, "natural_movie_one", movie, stim_ts)
    dg = []
    for i, (o, t) in enumerate(zip(DG_ORI, DG_TF, strict=True)):
        start = DG_START + 3 * i
        dg.append(dict(start_time=start, stop_time=start + 2.0, stimulus_name="drifting_gratings",
                       stimulus_block=1.0, stimulus_index=8.0, color="[1.0, 1.0, 1.0]",
                       contrast=0.8, mask="None", opacity=1.0,
                       orientation=np.nan if o is None else o,
                       phase="[42471.86666667, 42471.86666667]", size="[250.0, 250.0]",
                       spatial_frequency="null" if o is None else "0.04",
                       temporal_frequency=np.nan if t is None else t, units="deg"))
    _add_table(nwb, "drifting_gratings", dg, stim_ts)
    ns = [dict(start_time=NS_START + NS_DT * i, stop_time=NS_START + NS_DT * (i + 1),
               stimulus_name="natural_scenes", stimulus_block=3.0, stimulus_index=5.0,
               frame=float(f)) for i, f in enumerate(NS_FRAMES)]
    _add_table(nwb, "natural_scenes", ns, stim_ts)
    flashes = [dict(start_time=s, stop_time=s + 0.25, stimulus_name="flashes",
                    stimulus_block=4.0, stimulus_index=1.0, color=c, contrast=0.8,
                    mask="None", opacity=1.0, orientation=0.0,
                    phase="[0.0, 0.0]", size="[300.0, 300.0]", spatial_frequency="[0.0, 0.0]",
                    units="deg") for s, c in zip(FLASH_START, FLASH_COLOR, strict=True)]
    _add_table(nwb, "flashes", flashes, stim_ts)
    for (lo, hi), tags in INVALID:
        nwb.add_invalid_time_interval(start_time=lo, stop_time=hi, tags=tags)

    running = ProcessingModule(name="running", description="running speed data")
    nwb.add_processing_module(running)
    t = np.arange(0.0, 62.0, 0.5)
    speed = 5.0 + np.sin(t)
    running.add(TimeSeries(name="running_speed", data=speed, timestamps=t, unit="cm/s"))
    running.add(TimeSeries(name="running_speed_end_times", data=speed, timestamps=t + 0.5,
                           unit="cm/s"))
    running.add(TimeSeries(name="running_wheel_rotation", data=speed / 10, timestamps=t,
                           unit="radians"))
    if eye_tracking:
        te = np.arange(0.0, 62.0, 1 / 30)
        module = ProcessingModule(name="eye_tracking", description="Eye tracking processing "
                                                                   "module")
        nwb.add_processing_module(module)
        for name, scale in (("pupil_ellipse_fits", 1.0), ("cr_ellipse_fits", 0.2),
                            ("eye_ellipse_fits", 3.0)):
            frame = pd.DataFrame({"center_x": 100 + scale * np.cos(te),
                                  "center_y": 80 + scale * np.sin(te),
                                  "height": np.full(te.size, 10.0 * scale),
                                  "width": np.full(te.size, 12.0 * scale),
                                  "phi": np.zeros(te.size), "timestamps": te})
            module.add(DynamicTable.from_dataframe(df=frame, name=name))
        for prefix in ("raw_gaze_mapping", "filtered_gaze_mapping"):
            gaze = ProcessingModule(name=prefix, description="Gaze mapping")
            nwb.add_processing_module(gaze)
            gaze.add(TimeSeries(name="pupil_area", data=np.pi * 60 + np.cos(te),
                                timestamps=te, unit="Pixels ^ 2"))
            gaze.add(TimeSeries(name="eye_area", data=np.full(te.size, 900.0), timestamps=te,
                                unit="Pixels ^ 2"))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    _patch_groups(path)
    return path


# ------------------------------------------------------------ visual behavior
VB_IMAGES = ["im000", "im000", "im031", "im031", "omitted", "im031", "im054", "im054"]
VB_IS_CHANGE = [False, False, True, False, False, False, True, False]
VB_START, VB_DT = 20.0, 0.75
VB_MOVIE_START, VB_MOVIE_FRAMES, VB_MOVIE_REPEATS = 40.0, 3, 2
# spontaneous first, then the flashes (by image), then the movie frames (by frame index)
VB_EXPECTED_CONDITIONS = [0, 1, 1, 2, 2, 3, 2, 4, 4, 5, 6, 7, 5, 6, 7]


def write_visual_behavior_session(path):
    """A Visual Behavior Neuropixels session (DANDI:000713 layout), small."""
    from pynwb import NWBHDF5IO, ProcessingModule, TimeSeries

    nwb = _nwbfile("1044385384")
    _add_probes_and_units(nwb, "probe_channel_number")
    stim_module = ProcessingModule(name="stimulus", description="Stimulus Times processing")
    nwb.add_processing_module(stim_module)
    stim_ts = TimeSeries(name="timestamps", data=np.arange(0, 62, 1 / 60), unit="s",
                         timestamps=np.arange(0, 62, 1 / 60))
    stim_module.add(stim_ts)
    flashes = []
    for i, (image, change) in enumerate(zip(VB_IMAGES, VB_IS_CHANGE, strict=True)):
        start = VB_START + VB_DT * i
        flashes.append(dict(start_time=start, stop_time=start + 0.25,
                            stimulus_name="Natural_Images_Lum_Matched_set_ophys_G_2019",
                            stimulus_block=np.int64(0), duration=0.25,
                            image_name=image,
                            image_set="Natural_Images_Lum_Matched_set_ophys_G_2019",
                            is_change=change, omitted=image == "omitted", active=True,
                            flashes_since_change=np.int64(0 if change else i),
                            start_frame=np.int64(1200 + 45 * i),
                            end_frame=np.int64(1215 + 45 * i), trials_id=np.int64(i // 4)))
    _add_table(nwb, "Natural_Images_Lum_Matched_set_ophys_G_2019", flashes, stim_ts)
    movie = []
    for r in range(VB_MOVIE_REPEATS):
        for k in range(VB_MOVIE_FRAMES):
            start = VB_MOVIE_START + r * 0.1 * VB_MOVIE_FRAMES + 0.1 * k
            movie.append(dict(start_time=start, stop_time=start + 0.1,
                              stimulus_name="natural_movie_one", stimulus_block=np.int64(2),
                              duration=0.1, movie_frame_index=np.int64(k),
                              movie_repeat=np.int64(r), start_frame=np.int64(2400 + 6 * k),
                              end_frame=np.int64(2406 + 6 * k)))
    _add_table(nwb, "natural_movie_one", movie, stim_ts)
    spont = dict(start_time=0.0, stop_time=20.0, stimulus_name="spontaneous",
                 stimulus_block=np.int64(1), duration=20.0)
    _add_table(nwb, "spontaneous", [spont], stim_ts)
    for column in ("change_time_no_display_delay", "go", "catch", "hit", "miss",
                   "change_image_name", "initial_image_name"):
        nwb.add_trial_column(name=column, description=f"NOT IMPLEMENTED: {column}")
    nwb.add_trial(start_time=20.0, stop_time=23.0, change_time_no_display_delay=21.5, go=True,
                  catch=False, hit=True, miss=False, change_image_name="im031",
                  initial_image_name="im000")
    nwb.add_trial(start_time=23.0, stop_time=26.0, change_time_no_display_delay=24.5, go=True,
                  catch=False, hit=False, miss=True, change_image_name="im054",
                  initial_image_name="im031")
    running = ProcessingModule(name="running", description="Running speed processing module")
    nwb.add_processing_module(running)
    t = np.arange(0.0, 62.0, 1 / 60)
    running.add(TimeSeries(name="speed", data=3.0 + np.cos(t), timestamps=t, unit="cm/s"))
    running.add(TimeSeries(name="speed_unfiltered", data=3.0 + np.cos(t), timestamps=t,
                           unit="cm/s"))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    _patch_groups(path)
    with h5py.File(path, "r+") as f:  # ndx-ellipse-eye-tracking layout, written by hand
        container = f.create_group("acquisition/EyeTracking")
        container.attrs["neurodata_type"] = "EllipseEyeTracking"
        te = np.arange(0.0, 62.0, 1 / 60)
        for name in ("pupil_tracking", "eye_tracking", "corneal_reflection_tracking"):
            g = container.create_group(name)
            g.attrs["neurodata_type"] = "EllipseSeries"
            g.create_dataset("data", data=np.column_stack([200 + np.cos(te), 150 + np.sin(te)]))
            g.create_dataset("width", data=np.full(te.size, 20.0))
            g.create_dataset("height", data=np.full(te.size, 18.0))
            g.create_dataset("angle", data=np.zeros(te.size))
            g.create_dataset("area", data=np.full(te.size, 283.0))
            g.create_dataset("timestamps", data=te)
        blink = container.create_group("likely_blink")
        blink.attrs["neurodata_type"] = "TimeSeries"
        blink.create_dataset("data", data=(np.arange(te.size) % 100 == 0))
        blink.create_dataset("timestamps", data=te)
    return path


# -------------------------------------------------------------- 2-photon (NWB 1)
OPHYS_CELLS = [517473020, 517473059, 517473110]
OPHYS_FRAME_DT = 1 / 30.0
OPHYS_N_FRAMES = 600
OPHYS_DG = [(1.0, 0.0, 0.0, 10, 70), (2.0, 90.0, 0.0, 90, 150), (np.nan, np.nan, 1.0, 170, 230)]
OPHYS_MOVIE = (300, 30, 2)      # first imaging frame, movie frames, repeats (1 imaging frame each)
OPHYS_NS = [(4, 400, 407), (-1, 407, 414), (4, 414, 421)]
OPHYS_SPONT = (450, 560)


def write_ophys_nwb1(path, *, eye_tracking: bool = True):
    """A Visual Coding 2-photon file in the NWB 1.x layout AllenSDK reads with h5py."""
    rng = np.random.default_rng(0)
    t = 5.0 + np.arange(OPHYS_N_FRAMES) * OPHYS_FRAME_DT
    dff = rng.normal(0, 0.05, (len(OPHYS_CELLS), OPHYS_N_FRAMES))
    dff[0, 10:70] += 1.0  # cell 0 responds to the first grating
    with h5py.File(path, "w") as f:
        f.create_dataset("nwb_version", data=b"NWB-1.0.6")
        f.create_dataset("identifier",
                         data=b"Brain Observatory Visual Coding Experiment 501940850")
        f.create_dataset("session_start_time", data=b"Thu Mar 31 10:32:36 2016")
        g = f.create_group("general")
        g.create_dataset("session_id", data=b"501940850")
        g.create_dataset("session_type", data=b"three_session_A")
        g.create_dataset("experiment_container_id", data=b"511510736")
        g.create_dataset("specimen_name", data=b"Cux2-CreERT2;Camk2a-tTA;Ai93-222426")
        g.create_dataset("subject/genotype",
                         data=b"Cux2-CreERT2/wt;Camk2a-tTA/wt;Ai93(TITL-GCaMP6f)/wt")
        g.create_dataset("optophysiology/imaging_plane_1/imaging depth", data=b"175 microns")
        g.create_dataset("optophysiology/imaging_plane_1/location", data=b"VISp")
        pipe = f.create_group("processing/brain_observatory_pipeline")
        d = pipe.create_group("DfOverF/imaging_plane_1")
        d.create_dataset("data", data=dff)
        d.create_dataset("timestamps", data=t)
        d.create_dataset("roi_names", data=np.array([b"roi_0", b"roi_1", b"roi_2"]))
        seg = pipe.create_group("ImageSegmentation")
        seg.create_dataset("cell_specimen_ids", data=np.asarray(OPHYS_CELLS, dtype=np.int64))
        seg.create_dataset("roi_ids", data=np.array([b"0", b"1", b"2"]))
        run = pipe.create_group("BehavioralTimeSeries/running_speed")
        run.create_dataset("data", data=np.linspace(0, 10, OPHYS_N_FRAMES))
        run.create_dataset("timestamps", data=t)
        if eye_tracking:
            eye = pipe.create_group("EyeTracking/pupil_location_spherical")
            eye.create_dataset("data", data=np.zeros((OPHYS_N_FRAMES, 2)))
            eye.create_dataset("timestamps", data=t)
            size = pipe.create_group("PupilTracking/pupil_size")
            size.create_dataset("data", data=np.full(OPHYS_N_FRAMES, 0.01))
            size.create_dataset("timestamps", data=t)
        pres = f.create_group("stimulus/presentation")
        dg = pres.create_group("drifting_gratings_stimulus")
        dg.create_dataset("data", data=np.array([[a, b, c] for a, b, c, _, _ in OPHYS_DG]))
        dg.create_dataset("features", data=np.array([b"temporal_frequency", b"orientation",
                                                      b"blank_sweep"]))
        dg.create_dataset("frame_duration", data=np.array([[s, e] for *_, s, e in OPHYS_DG],
                                                          dtype=np.float64))
        first, n_movie, reps = OPHYS_MOVIE
        movie = pres.create_group("natural_movie_one_stimulus")
        movie.create_dataset("data", data=np.tile(np.arange(n_movie), reps).astype(np.float64))
        starts = first + np.arange(n_movie * reps)
        movie.create_dataset("frame_duration", data=np.column_stack([starts, starts + 1])
                             .astype(np.float64))
        ns = pres.create_group("natural_scenes_stimulus")
        ns.create_dataset("data", data=np.array([k for k, _, _ in OPHYS_NS], dtype=np.float64))
        ns.create_dataset("frame_duration", data=np.array([[s, e] for _, s, e in OPHYS_NS],
                                                          dtype=np.float64))
        sp = pres.create_group("spontaneous_stimulus")
        sp.create_dataset("data", data=np.array([1, -1], dtype=np.float64))
        sp.create_dataset("frame_duration", data=np.array([[OPHYS_SPONT[0], OPHYS_SPONT[0] + 1],
                                                           [OPHYS_SPONT[1], OPHYS_SPONT[1] + 1]],
                                                          dtype=np.float64))
    return path
