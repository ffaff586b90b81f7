"""A simulated Allen Visual Coding Neuropixels session: LNP units in LGd and visual cortex.

Units are linear-nonlinear-Poisson: a spatial receptive field (Gabor for
cortex — simple cells linear, complex cells the energy of a quadrature pair;
difference-of-Gaussians for LGd), a temporal low-pass filter and a latency that
grow along the visual hierarchy (LGd < VISp < VISl < VISal), a Naka-Rushton
output nonlinearity, a multiplicative gain with running (most units fire more
when the mouse runs, Niell & Stryker 2010), Poisson spiking with a refractory
period. The mouse sees the Allen Brain Observatory's stimulus types: grey-screen
spontaneous activity, full-field drifting gratings (with blank sweeps), a
natural movie made of real photographs panned and zoomed at 30 frames/s shown
10 times, and natural scenes (with blank ``frame == -1`` presentations).

:func:`make_visual_coding_session` returns the session and its ground truth and
writes the session as an NWB file in the layout of the Visual Coding Neuropixels
files on DANDI:000021 (see :mod:`neurodecode.datasets.visual_cortex_nwb`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neurodecode.data.session import Session
from neurodecode.data.spiketrains import SpikeTrains
from neurodecode.datasets.receptive_fields import (
    contrast_images,
    dog_fields,
    gabor_fields,
    grating_coefficients,
    linear_drive,
)
from neurodecode.datasets.stimuli import load_photographs, make_natural_movie, make_natural_scenes

__all__ = ["SimulatedVisualSession", "make_visual_coding_session", "AREA_PARAMETERS",
           "DEFAULT_UNITS", "simulate_running", "quality_metrics", "passes_allen_filter"]

#: Receptive-field and timing parameters per visual area. ``sigma``: Gabor envelope
#: (LGd: DoG centre) standard deviation range, degrees; ``sf``: carrier spatial
#: frequency range, cycles/degree (log-uniform); ``latency``: onset latency, s;
#: ``tau``: temporal filter time constant, s; ``complex``: fraction of complex cells.
AREA_PARAMETERS = {
    "LGd": {"sigma": (1.5, 3.0), "sf": None, "latency": 0.035, "tau": 0.010, "complex": 0.0},
    "VISp": {"sigma": (3.0, 6.0), "sf": (0.02, 0.16), "latency": 0.050, "tau": 0.015,
             "complex": 0.4},
    "VISl": {"sigma": (5.0, 9.0), "sf": (0.02, 0.10), "latency": 0.065, "tau": 0.020,
             "complex": 0.5},
    "VISal": {"sigma": (6.0, 11.0), "sf": (0.02, 0.08), "latency": 0.075, "tau": 0.020,
              "complex": 0.6},
}
#: Default units per area; areas not in :data:`AREA_PARAMETERS` fire untuned, and
#: ``""`` puts units on channels above the brain surface (outside the brain).
DEFAULT_UNITS = {"VISp": 48, "VISl": 28, "VISal": 28, "LGd": 28, "CA1": 5, "DG-mo": 3, "": 3}

#: AllenSDK's default unit filter (EcephysSession / EcephysProjectCache defaults).
ALLEN_DEFAULT_FILTER = {"amplitude_cutoff_maximum": 0.1, "presence_ratio_minimum": 0.95,
                        "isi_violations_maximum": 0.5}

_PROBES = {  # probe -> channel segments from the top (location, fraction of channels)
    "probeA": (("", 0.1), ("VISal", 0.35), ("CA1", 0.25), ("DG-mo", 0.15), ("LP", 0.15)),
    "probeB": (("", 0.1), ("VISl", 0.35), ("CA1", 0.25), ("DG-mo", 0.15), ("LP", 0.15)),
    "probeC": (("", 0.1), ("VISp", 0.3), ("CA1", 0.2), ("DG-mo", 0.1), ("LGd", 0.3)),
}
_FAILURES = ("noise", "amplitude_cutoff", "presence_ratio", "isi_violations", "invalid_channel")
_REFRACTORY = 0.0015  # s
_DT = 0.005  # s, simulation grid


@dataclass(frozen=True)
class SimulatedVisualSession:
    """A simulated Visual Coding Neuropixels session and what generated it.

    Attributes
    ----------
    session : Session
        What the recording holds: spikes; units (Allen columns: ``peak_channel_id``,
        ``quality``, quality metrics…, plus ``brain_area`` and ``probe``);
        intervals (``<stimulus>_presentations`` tables with the AllenSDK columns,
        ``invalid_times``); behaviour ``running_speed`` (cm/s); stimuli
        ``natural_movie_one`` and ``natural_scenes`` (``(frame, y, x)`` uint8).
    truth : xarray.Dataset
        Per unit (dim ``unit``): ``area``, ``cell_type`` ("simple", "complex",
        "center_surround", "untuned"), ``x0``/``y0`` (RF centre, degrees azimuth /
        elevation), ``sigma`` (degrees), ``orientation`` (degrees, wave-vector
        direction, as the gratings' ``orientation``), ``spatial_frequency`` (cpd),
        ``phase`` (degrees), ``polarity`` (LGd: +1 ON / -1 OFF centre, else NaN),
        ``latency`` (s), ``tau`` (s), ``baseline_rate``,
        ``max_rate`` (Hz), ``c50``, ``running_gain`` (log firing-rate change per unit
        of normalised running), ``failure`` (quality problem put in, "" for none),
        ``passes_default_filter``; ``rf`` (``("unit", "y", "x")``, unit-norm field);
        ``movie_frames`` (``("movie_frame", "y", "x")``) and ``scenes``; ``movie_rate``
        (``("repeat", "movie_frame", "unit")``, the mean rate over each frame, Hz).
        attrs: ``deg_per_pixel``, ``fps``.
    path : Path or None
        The NWB file written, when a path was given.
    """

    session: Session
    truth: xr.Dataset
    path: Path | None = None


# ------------------------------------------------------------------ running
def simulate_running(times: np.ndarray, rng: np.random.Generator, *, run_fraction: float = 0.4,
                     bout_mean: float = 10.0, speed_range=(10.0, 40.0)) -> np.ndarray:
    """Running speed (cm/s) at ``times``: bouts of running between still periods.

    A two-state (still/running) process with exponential dwell times (mean
    ``bout_mean`` s while running, ``bout_mean * (1 - f) / f`` while still); each bout
    has its own speed (uniform in ``speed_range``) with slow fluctuations; the
    wheel jitters around 0 when still; speed changes are smoothed over ~0.5 s.

    Examples
    --------
    >>> t = np.arange(0, 600, 1 / 60)
    >>> v = simulate_running(t, np.random.default_rng(0))
    >>> 0.2 < float(np.mean(v > 5)) < 0.6
    True
    """
    dt = float(np.median(np.diff(times))) if times.size > 1 else 1.0
    n = times.size
    target = np.empty(n)
    still_mean = bout_mean * (1 - run_fraction) / max(run_fraction, 1e-6)
    k, running = 0, rng.uniform() < run_fraction
    while k < n:
        length = max(1, int(rng.exponential(bout_mean if running else still_mean) / dt))
        target[k:k + length] = rng.uniform(*speed_range) if running else 0.0
        k += length
        running = not running
    decay = np.exp(-dt / 0.5)
    from scipy.signal import lfilter

    smooth = lfilter([1 - decay], [1, -decay], target)
    fluct = lfilter([np.sqrt(1 - decay ** 2)], [1, -decay], rng.standard_normal(n))
    return smooth * (1.0 + 0.15 * fluct) + 0.3 * rng.standard_normal(n)


# ------------------------------------------------------------------ schedule
def _schedule(rng, *, n_movie_frames, movie_repeats, fps, dg_orientations, dg_temporal_frequencies,
              dg_repeats, dg_duration, dg_gap, n_scenes, scene_repeats, scene_duration,
              spontaneous_duration, t0=10.0):
    """Presentation tables (one per stimulus), in AllenSDK columns, and the session end."""
    tables = {}
    t = t0
    spont = []

    def spontaneous(start):
        spont.append((start, start + spontaneous_duration))
        return start + spontaneous_duration

    t = spontaneous(t)
    # Drifting gratings: every orientation x temporal frequency plus blank sweeps, shuffled.
    conditions = [(o, f) for o in dg_orientations for f in dg_temporal_frequencies]
    conditions += [(np.nan, np.nan)] * max(1, len(conditions) // 15)
    rows = []
    for _ in range(dg_repeats):
        for i in rng.permutation(len(conditions)):
            ori, tf = conditions[i]
            rows.append((t, t + dg_duration, ori, tf))
            t += dg_duration + dg_gap
    dg = pd.DataFrame(rows, columns=["start_time", "stop_time", "orientation",
                                     "temporal_frequency"])
    blank = dg["orientation"].isna()
    dg["stimulus_name"] = "drifting_gratings"
    dg["stimulus_block"] = 0.0
    dg["color"] = "[1.0, 1.0, 1.0]"
    dg["contrast"] = 0.8
    dg["mask"] = "None"
    dg["opacity"] = 1.0
    # As in the Allen files: phase, size and spatial_frequency are text columns.
    dg["phase"] = "[42471.86666667, 42471.86666667]"
    dg["size"] = "[250.0, 250.0]"
    dg["spatial_frequency"] = np.where(blank, "null", "0.04")
    dg["units"] = "deg"
    dg["stimulus_index"] = 2.0
    tables["drifting_gratings"] = dg
    t = spontaneous(t)
    # Natural movie one: every frame is one presentation (2 monitor frames at 60 Hz).
    n = n_movie_frames * movie_repeats
    start = t + np.arange(n) / fps
    nm = pd.DataFrame({"start_time": start, "stop_time": start + 1.0 / fps,
                       "frame": np.tile(np.arange(n_movie_frames, dtype=np.float64),
                                        movie_repeats)})
    nm["stimulus_name"] = "natural_movie_one"
    nm["stimulus_block"] = 1.0
    nm["color"] = "[1.0, 1.0, 1.0]"
    nm["contrast"] = 1.0
    nm["opacity"] = 1.0
    nm["orientation"] = 0.0
    nm["size"] = "[1920.0, 1080.0]"
    nm["units"] = "pix"
    nm["stimulus_index"] = 9.0
    tables["natural_movie_one"] = nm
    t = start[-1] + 1.0 / fps
    t = spontaneous(t)
    # Natural scenes: each scene and a blank (frame -1) per repeat, shuffled, no gaps.
    frames = np.concatenate([np.arange(-1, n_scenes)] * scene_repeats).astype(np.float64)
    frames = frames[rng.permutation(frames.size)]
    start = t + np.arange(frames.size) * scene_duration
    ns = pd.DataFrame({"start_time": start, "stop_time": start + scene_duration,
                       "frame": frames})
    ns["stimulus_name"] = "natural_scenes"
    ns["stimulus_block"] = 2.0
    ns["stimulus_index"] = 8.0
    tables["natural_scenes"] = ns
    t = start[-1] + scene_duration
    t = spontaneous(t)
    tables["spontaneous"] = pd.DataFrame({"start_time": [a for a, _ in spont],
                                          "stop_time": [b for _, b in spont],
                                          "stimulus_name": "spontaneous"})
    return tables, t + 2.0


# ------------------------------------------------------------------ units
def _probe_channels(n_channels, rng, probe_base_id):
    """Channels table rows for all probes (Allen electrode columns) and area -> channel ids."""
    rows, by_location = [], {}
    channel_id = 850_000_000 + int(rng.integers(0, 100_000)) * 10
    for p, (probe, segments) in enumerate(_PROBES.items()):
        counts = np.floor(np.array([f for _, f in segments]) * n_channels).astype(int)
        counts[-1] = n_channels - counts[:-1].sum()
        locations = np.repeat([loc for loc, _ in segments], counts)[::-1]  # tip first
        invalid = rng.choice(n_channels, size=max(1, n_channels // 48), replace=False)
        for local in range(n_channels):
            channel_id += int(rng.integers(1, 4))
            location = str(locations[local])
            rows.append({"id": channel_id, "probe": probe, "probe_id": probe_base_id + p,
                         "local_index": local, "location": location,
                         "probe_vertical_position": 20 * (local // 2) + 20,
                         "probe_horizontal_position": (43, 11, 59, 27)[local % 4],
                         "valid_data": local not in invalid})
            if local not in invalid:
                by_location.setdefault(location, []).append(channel_id)
    return pd.DataFrame(rows), by_location


def _draw_units(units_per_area, rng, screen_half, fraction_failing):
    """Per-unit parameters (DataFrame, one row per unit, in area order)."""
    rows = []
    for area, count in units_per_area.items():
        p = AREA_PARAMETERS.get(area)
        for _ in range(int(count)):
            row = {"area": area, "x0": np.nan, "y0": np.nan, "sigma": np.nan,
                   "orientation": np.nan, "spatial_frequency": np.nan, "phase": np.nan,
                   "latency": 0.0, "tau": 0.02, "aspect": 1.0, "on": 1.0}
            if p is None:
                row["cell_type"] = "untuned"
                row["baseline_rate"] = float(np.exp(rng.uniform(np.log(1.0), np.log(12.0))))
                row["max_rate"], row["c50"], row["running_gain"] = 0.0, 1.0, rng.normal(0, 0.2)
            else:
                row["x0"] = rng.uniform(-0.45, 0.45) * screen_half[0] * 2
                row["y0"] = rng.uniform(-0.35, 0.35) * screen_half[1] * 2
                row["sigma"] = rng.uniform(*p["sigma"])
                row["latency"] = p["latency"] + rng.uniform(-0.008, 0.008)
                row["tau"] = p["tau"] * rng.uniform(0.8, 1.25)
                if p["sf"] is None:
                    row["cell_type"] = "center_surround"
                    row["on"] = float(rng.choice([-1.0, 1.0]))
                else:
                    row["cell_type"] = "complex" if rng.uniform() < p["complex"] else "simple"
                    row["orientation"] = rng.uniform(0, 360.0)
                    row["spatial_frequency"] = float(np.exp(rng.uniform(*np.log(p["sf"]))))
                    row["phase"] = rng.uniform(0, 360.0)
                    row["aspect"] = rng.uniform(1.0, 2.0)
                row["baseline_rate"] = float(np.exp(rng.uniform(np.log(0.5), np.log(6.0))))
                row["max_rate"] = float(np.exp(rng.uniform(np.log(15.0), np.log(60.0))))
                row["c50"] = rng.uniform(1.5, 3.0)
                row["running_gain"] = rng.normal(0.35 if area != "LGd" else 0.1, 0.25)
            row["failure"] = ""
            if area == "":
                row["failure"] = "outside_brain"
            elif rng.uniform() < fraction_failing:
                row["failure"] = str(rng.choice(_FAILURES))
            rows.append(row)
    return pd.DataFrame(rows)


def _temporal_kernel(tau: float, dt: float) -> np.ndarray:
    """Biphasic kernel: a fast gamma(3) lobe minus a slower, weaker one (transient responses)."""
    t = np.arange(0, 8 * tau + 0.15, dt)
    fast = (t / tau) ** 2 * np.exp(-t / tau)
    slow = (t / (2.5 * tau)) ** 2 * np.exp(-t / (2.5 * tau))
    kernel = fast / fast.sum() - 0.5 * slow / slow.sum()
    return kernel / np.abs(kernel).sum() * 1.6


def _filter_and_delay(drive: np.ndarray, kernel: np.ndarray, delay: int) -> np.ndarray:
    from scipy.signal import fftconvolve

    out = fftconvolve(drive, kernel[:, None], axes=0)[:drive.shape[0]]
    if delay > 0:
        out = np.concatenate([np.zeros((delay, out.shape[1]), out.dtype), out[:-delay]])
    return out


def _naka_rushton(z, c50, max_rate):
    z = np.maximum(z, 0.0)
    return max_rate * z ** 2 / (z ** 2 + c50 ** 2)


# ------------------------------------------------------------------ metrics
def quality_metrics(trains, duration: float, rng, failures) -> pd.DataFrame:
    """Allen-style unit metrics: computed (``firing_rate``, ``presence_ratio``,
    ``isi_violations``) or drawn in realistic ranges (the rest), one row per train.

    ``presence_ratio``: fraction of 100 equal blocks of the recording with a
    spike; ``isi_violations``: Hill et al. (2011) contamination estimate with a
    1.5-ms refractory period.
    """
    n = len(trains)
    rate = np.array([t.size / duration for t in trains])
    presence = np.array([np.unique(np.minimum((t / duration * 100).astype(int), 99)).size / 100
                         for t in trains])
    viol = np.array([np.sum(np.diff(t) < _REFRACTORY) for t in trains], dtype=float)
    isi = np.where(rate > 0, viol * duration / (2 * np.maximum(
        np.array([t.size for t in trains]), 1) ** 2 * _REFRACTORY), 0.0)
    amp_cut = rng.uniform(0.0, 0.08, n)
    amp_cut[np.asarray(failures) == "amplitude_cutoff"] = rng.uniform(0.15, 0.5, n)[
        np.asarray(failures) == "amplitude_cutoff"]
    halfwidth = rng.uniform(0.1, 0.35, n)
    out = pd.DataFrame({
        "firing_rate": rate, "presence_ratio": presence, "isi_violations": isi,
        "amplitude_cutoff": amp_cut, "snr": rng.uniform(1.5, 6.0, n),
        "isolation_distance": rng.uniform(20, 150, n), "l_ratio": rng.uniform(0, 0.1, n),
        "d_prime": rng.uniform(2, 8, n), "nn_hit_rate": rng.uniform(0.7, 1.0, n),
        "nn_miss_rate": rng.uniform(0, 0.02, n), "silhouette_score": rng.uniform(0.05, 0.3, n),
        "max_drift": rng.uniform(5, 40, n), "cumulative_drift": rng.uniform(50, 400, n),
        "waveform_duration": halfwidth * rng.uniform(1.8, 2.6, n),
        "waveform_halfwidth": halfwidth, "PT_ratio": rng.uniform(0.3, 0.8, n),
        "repolarization_slope": rng.uniform(0.2, 1.0, n),
        "recovery_slope": -rng.uniform(0.02, 0.2, n), "amplitude": rng.uniform(60, 300, n),
        "spread": rng.uniform(30, 120, n), "velocity_above": rng.normal(0.2, 0.5, n),
        "velocity_below": rng.normal(0.1, 0.5, n)})
    return out


def passes_allen_filter(units: pd.DataFrame, channel_valid, channel_location) -> np.ndarray:
    """AllenSDK's default unit filter on a units table, as a boolean array.

    quality == "good", peak channel ``valid_data``, peak channel inside the brain
    (location not ``""``/``"None"``), amplitude_cutoff <= 0.1, presence_ratio >= 0.95,
    isi_violations <= 0.5. ``channel_valid``/``channel_location``: mappings from
    channel id.
    """
    f = ALLEN_DEFAULT_FILTER
    peak = units["peak_channel_id"].to_numpy()
    return ((units["quality"].to_numpy() == "good")
            & np.array([bool(channel_valid[c]) for c in peak])
            & np.array([channel_location[c] not in ("", "None") for c in peak])
            & (units["amplitude_cutoff"].to_numpy() <= f["amplitude_cutoff_maximum"])
            & (units["presence_ratio"].to_numpy() >= f["presence_ratio_minimum"])
            & (units["isi_violations"].to_numpy() <= f["isi_violations_maximum"]))


# ------------------------------------------------------------------ main
def make_visual_coding_session(units_per_area=None, *, n_movie_frames: int = 300,
                               movie_repeats: int = 10, movie_shape=(48, 80),
                               screen_width_deg: float = 120.0, fps: float = 30.0,
                               n_scenes: int = 20, scene_repeats: int = 5,
                               scene_duration: float = 0.25,
                               dg_orientations=(0, 45, 90, 135, 180, 225, 270, 315),
                               dg_temporal_frequencies=(1.0, 2.0, 4.0, 8.0, 15.0),
                               dg_spatial_frequency: float = 0.04, dg_contrast: float = 0.8,
                               dg_repeats: int = 2, dg_duration: float = 2.0,
                               dg_gap: float = 1.0, spontaneous_duration: float = 10.0,
                               n_channels_per_probe: int = 96,
                               fraction_failing: float = 0.12, random_state: int | None = 0,
                               path=None, overwrite: bool = False) -> SimulatedVisualSession:
    """Simulate a Visual Coding Neuropixels session (LNP units, Allen stimuli), optionally as NWB.

    Parameters
    ----------
    units_per_area : dict, optional
        ``{area: n_units}``; default :data:`DEFAULT_UNITS` (130 visual units in VISp,
        VISl, VISal and LGd, 8 untuned hippocampal units in CA1 and DG-mo, 3 units on
        channels outside the brain).
    n_movie_frames, movie_repeats, movie_shape, fps
        The natural movie: frames per repeat, repeats, ``(rows, columns)`` pixels,
        frames per second.
    screen_width_deg : float
        Visual angle spanned by the template's width (sets degrees per pixel).
    n_scenes, scene_repeats, scene_duration
        Natural scenes (each shown ``scene_repeats`` times with as many blanks), s.
    dg_orientations, dg_temporal_frequencies, dg_spatial_frequency, dg_contrast
        Drifting-grating conditions (degrees, Hz, cycles/degree, Michelson contrast).
    dg_repeats, dg_duration, dg_gap
        Repeats of every condition; seconds on; grey seconds between.
    spontaneous_duration : float
        Each of the four grey-screen blocks, s.
    n_channels_per_probe : int
        Channels per probe (Neuropixels has 384; fewer keep the file small).
    fraction_failing : float
        Fraction of units given a quality problem (quality "noise", amplitude
        cutoff, missing spikes for part of the session, refractory violations, or an
        invalid peak channel) that AllenSDK's default filter removes.
    random_state : int or None
        Seed; the same seed gives the same session and file contents.
    path : str or Path, optional
        Write the NWB file there, in the Allen layout (see
        :mod:`neurodecode.datasets.visual_cortex_nwb`).
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    SimulatedVisualSession

    Examples
    --------
    >>> sim = make_visual_coding_session({"VISp": 6, "LGd": 3}, n_movie_frames=30,
    ...                                  movie_repeats=2, n_scenes=3, scene_repeats=1,
    ...                                  dg_temporal_frequencies=(2.0,), dg_repeats=1,
    ...                                  spontaneous_duration=2.0, random_state=1)
    >>> sim.session.n_units, sorted(sim.session.intervals)[:2]
    (9, ['drifting_gratings_presentations', 'invalid_times'])
    >>> sim.truth["movie_rate"].dims
    ('repeat', 'movie_frame', 'unit')
    """
    units_per_area = dict(DEFAULT_UNITS if units_per_area is None else units_per_area)
    if not units_per_area or sum(units_per_area.values()) < 1:
        raise ValueError("make_visual_coding_session: `units_per_area` must hold at least one "
                         "unit, e.g. {'VISp': 20}.")
    for name, value in (("n_movie_frames", n_movie_frames), ("movie_repeats", movie_repeats),
                        ("n_scenes", n_scenes), ("scene_repeats", scene_repeats),
                        ("dg_repeats", dg_repeats), ("n_channels_per_probe",
                                                     n_channels_per_probe)):
        if int(value) < 1:
            raise ValueError(f"make_visual_coding_session: `{name}` must be >= 1, got {value}.")
    if n_channels_per_probe < 20:
        raise ValueError("make_visual_coding_session: `n_channels_per_probe` must be >= 20 so "
                         "every probe segment has channels.")
    unknown = [a for a in units_per_area if a not in AREA_PARAMETERS
               and a not in {loc for segs in _PROBES.values() for loc, _ in segs}]
    if unknown:
        raise ValueError(f"make_visual_coding_session: no probe passes through {unknown}; "
                         "areas: VISp, VISl, VISal, LGd (tuned), CA1, DG-mo, LP (untuned), "
                         "'' (outside the brain).")
    rng = np.random.default_rng(random_state)
    rows, cols = movie_shape
    deg_per_pixel = screen_width_deg / cols
    screen_half = (cols * deg_per_pixel / 2, rows * deg_per_pixel / 2)

    photos = load_photographs()
    movie, shots = make_natural_movie(n_movie_frames, movie_shape, fps=fps, photographs=photos,
                                      random_state=rng)
    scenes, scene_sources = make_natural_scenes(n_scenes, movie_shape, photographs=photos,
                                                random_state=rng)
    tables, end_time = _schedule(rng, n_movie_frames=n_movie_frames, movie_repeats=movie_repeats,
                                 fps=fps, dg_orientations=dg_orientations,
                                 dg_temporal_frequencies=dg_temporal_frequencies,
                                 dg_repeats=dg_repeats, dg_duration=dg_duration, dg_gap=dg_gap,
                                 n_scenes=n_scenes, scene_repeats=scene_repeats,
                                 scene_duration=scene_duration,
                                 spontaneous_duration=spontaneous_duration)
    tables["drifting_gratings"]["contrast"] = float(dg_contrast)
    tables["drifting_gratings"].loc[tables["drifting_gratings"]["spatial_frequency"] != "null",
                                    "spatial_frequency"] = f"{dg_spatial_frequency:g}"

    params = _draw_units(units_per_area, rng, screen_half, fraction_failing)
    fields = _fields(params, movie_shape, deg_per_pixel)

    # Simulation grid and running.
    grid = np.arange(0.0, end_time, _DT)
    run_t = np.arange(0.0, end_time, 1 / 60.0)
    speed = simulate_running(run_t, rng)
    running = np.clip(np.interp(grid, run_t, speed) / 30.0, 0.0, 1.5)

    trains, movie_rate = _rates_and_spikes(params, fields, grid, running, movie, scenes, tables,
                                           deg_per_pixel, dg_spatial_frequency, dg_contrast,
                                           movie_repeats, end_time, rng)

    channels, by_location = _probe_channels(int(n_channels_per_probe), rng, 800_000_000 + int(
        rng.integers(0, 100_000)) * 10)
    units, trains = _units_table(params, trains, channels, by_location, end_time, rng)
    session_id = int(700_000_000 + rng.integers(0, 99_999_999))
    session = _build_session(units, trains, channels, tables, run_t, speed, movie, scenes,
                             session_id, random_state)
    truth = _build_truth(params, units, channels, fields, movie, scenes, movie_rate,
                         deg_per_pixel, fps, shots, scene_sources)
    written = None
    if path is not None:
        from neurodecode.datasets.visual_cortex_nwb import write_visual_coding_nwb

        written = write_visual_coding_nwb(session, channels, path, overwrite=overwrite)
    return SimulatedVisualSession(session=session, truth=truth, path=written)


def _fields(params, shape, deg_per_pixel):
    """(even, odd) receptive fields, ``(n_units, rows, cols)`` each (zeros for untuned units)."""
    n = len(params)
    even = np.zeros((n,) + tuple(shape))
    odd = np.zeros_like(even)
    gab = params["cell_type"].isin(["simple", "complex"]).to_numpy()
    if gab.any():
        p = params[gab]
        args = (shape, deg_per_pixel, p["x0"], p["y0"], p["sigma"], p["orientation"],
                p["spatial_frequency"])
        even[gab] = gabor_fields(*args, p["phase"], aspect=p["aspect"])
        odd[gab] = gabor_fields(*args, p["phase"] + 90.0, aspect=p["aspect"])
    dog = (params["cell_type"] == "center_surround").to_numpy()
    if dog.any():
        p = params[dog]
        even[dog] = dog_fields(shape, deg_per_pixel, p["x0"], p["y0"], p["sigma"],
                               sign=p["on"])
    return even, odd


def _rates_and_spikes(params, fields, grid, running, movie, scenes, tables, deg_per_pixel,
                      dg_sf, dg_contrast, movie_repeats, end_time, rng, chunk: int = 32):
    """Spike trains (one array per unit) and the mean rate over every movie frame shown.

    Units are simulated in chunks, so memory grows with ``grid.size * chunk``, not
    with the number of units.
    """
    even_f, odd_f = fields
    n_units = len(params)
    images = contrast_images(np.concatenate([movie, scenes]))
    img_even = linear_drive(even_f, images)  # (n_images, n_units)
    img_odd = linear_drive(odd_f, images)
    n_movie = movie.shape[0]
    # Which image is on screen at each grid time (-1: grey screen).
    shown = np.full(grid.size, -1, dtype=np.int64)
    for name, offset in (("natural_movie_one", 0), ("natural_scenes", n_movie)):
        t = tables[name]
        frame = t["frame"].to_numpy().astype(np.int64)
        start = np.searchsorted(grid, t["start_time"].to_numpy())
        stop = np.searchsorted(grid, t["stop_time"].to_numpy())
        for lo, hi, f in zip(start, stop, frame, strict=True):
            if f >= 0:
                shown[lo:hi] = offset + f
    on = np.flatnonzero(shown >= 0)
    # Drifting gratings: exact drive from each field's Fourier coefficient.
    dg = tables["drifting_gratings"]
    dg = dg[dg["orientation"].notna()]
    oris = np.unique(dg["orientation"].to_numpy())
    sfs = np.full(oris.size, dg_sf)
    coef = {"even": dict(zip(oris, grating_coefficients(even_f, deg_per_pixel, oris, sfs).T,
                             strict=True)),
            "odd": dict(zip(oris, grating_coefficients(odd_f, deg_per_pixel, oris, sfs).T,
                            strict=True))}
    sweeps = [(*np.searchsorted(grid, [r.start_time, r.stop_time]), r.orientation,
               r.temporal_frequency, r.start_time) for r in dg.itertuples(index=False)]
    nm = tables["natural_movie_one"]
    m0, m1 = np.searchsorted(grid, [nm["start_time"].iloc[0], nm["stop_time"].iloc[-1]])
    f_start = np.searchsorted(grid, nm["start_time"].to_numpy()) - m0
    f_stop = np.searchsorted(grid, nm["stop_time"].to_numpy()) - m0
    movie_rate = np.empty((f_start.size, n_units))
    trains = [None] * n_units
    failures = params["failure"].to_numpy()
    for first in range(0, n_units, chunk):
        units = np.arange(first, min(first + chunk, n_units))
        drives = {}
        for kind, img in (("even", img_even), ("odd", img_odd)):
            d = np.zeros((grid.size, units.size), dtype=np.float32)
            d[on] = img[:, units][shown[on]]
            for lo, hi, ori, tf, t0 in sweeps:
                phase = np.exp(-2j * np.pi * tf * (grid[lo:hi] - t0))
                d[lo:hi] = dg_contrast * np.real(phase[:, None] * coef[kind][ori][None, units])
            drives[kind] = d
        rates = np.empty((grid.size, units.size), dtype=np.float32)
        for j, u in enumerate(units):
            p = params.iloc[u]
            kernel = _temporal_kernel(float(p["tau"]), _DT)
            delay = int(round(float(p["latency"]) / _DT))
            fe = _filter_and_delay(drives["even"][:, j:j + 1], kernel, delay)[:, 0]
            if p["cell_type"] == "complex":
                fo = _filter_and_delay(drives["odd"][:, j:j + 1], kernel, delay)[:, 0]
                g = np.sqrt(fe ** 2 + fo ** 2)
            else:
                g = fe
            mu, sd = g[m0:m1].mean(), g[m0:m1].std()
            z = (g - mu) / (sd if sd > 0 else 1.0)
            driven = _naka_rushton(z, float(p["c50"]), float(p["max_rate"]))
            rates[:, j] = (p["baseline_rate"] + driven) * np.exp(p["running_gain"] * running)
        cum = np.concatenate([np.zeros((1, units.size)),
                              np.cumsum(rates[m0:m1], axis=0, dtype=np.float64)])
        movie_rate[:, units] = ((cum[f_stop] - cum[f_start])
                                / np.maximum(f_stop - f_start, 1)[:, None])
        for j, train in enumerate(_spikes(rates, grid, failures[units], end_time, rng)):
            trains[units[j]] = train
    return trains, movie_rate.reshape(movie_repeats, n_movie, n_units)


def _spikes(rates, grid, failures, end_time, rng):
    """Poisson spikes with a refractory period, then the put-in quality problems."""
    trains = []
    counts = rng.poisson(rates.astype(np.float64) * _DT)
    for u in range(rates.shape[1]):
        c = counts[:, u]
        t = np.repeat(grid, c) + rng.uniform(0, _DT, int(c.sum()))
        t.sort()
        keep = np.ones(t.size, dtype=bool)
        if t.size > 1:  # refractory: drop a spike closer than 1.5 ms to the last kept one
            close = np.flatnonzero(np.diff(t) < _REFRACTORY) + 1
            keep[close] = False
        t = t[keep]
        mode = failures[u]
        if mode == "presence_ratio":  # the unit drifts away for a quarter of the session
            gap_start = rng.uniform(0.1, 0.6) * end_time
            t = t[(t < gap_start) | (t > gap_start + 0.25 * end_time)]
        elif mode == "amplitude_cutoff":  # small spikes fall below detection threshold
            t = t[rng.uniform(size=t.size) > 0.3]
        elif mode == "isi_violations":  # contaminated by another neuron's spikes
            extra = rng.choice(t, size=t.size // 3) + rng.uniform(-0.001, 0.001, t.size // 3)
            t = np.sort(np.concatenate([t, extra]))
        trains.append(t[(t >= 0) & (t < end_time)])
    return trains


def _units_table(params, trains, channels, by_location, end_time, rng):
    n = len(params)
    failures = params["failure"].to_numpy()
    peak = np.empty(n, dtype=np.int64)
    invalid_channels = channels.loc[~channels["valid_data"], "id"].to_numpy()
    for i, (area, mode) in enumerate(zip(params["area"], failures, strict=True)):
        if mode == "invalid_channel" and invalid_channels.size:
            peak[i] = rng.choice(invalid_channels)
        else:
            peak[i] = rng.choice(by_location[area])
    metrics = quality_metrics(trains, end_time, rng, failures)
    chan = channels.set_index("id")
    units = pd.DataFrame({"peak_channel_id": peak,
                          "probe": chan.loc[peak, "probe"].to_numpy(),
                          "local_index": np.zeros(n, dtype=np.int64),
                          "cluster_id": np.zeros(n, dtype=np.int64),
                          "quality": np.where(failures == "noise", "noise", "good")})
    units = pd.concat([units, metrics], axis=1)
    units["brain_area"] = chan.loc[peak, "location"].to_numpy()
    # Allen order: probe, then depth (channel) within the probe.
    order = np.lexsort((chan.loc[peak, "local_index"].to_numpy(), units["probe"].to_numpy()))
    units = units.iloc[order].reset_index(drop=True)
    params_order = order
    for idx in units.groupby("probe").indices.values():
        units.loc[idx, "local_index"] = np.arange(idx.size)
        units.loc[idx, "cluster_id"] = np.sort(rng.choice(5 * idx.size, idx.size, replace=False))
    ids = 950_000_000 + np.sort(rng.choice(10 * n + 100, n, replace=False)) * 7
    units.index = pd.Index(ids, name="unit_id")
    units.attrs["params_order"] = params_order
    return units, [trains[i] for i in order]


def _build_session(units, trains, channels, tables, run_t, speed, movie, scenes, session_id,
                   random_state) -> Session:
    ids = units.index.to_numpy()
    spikes = SpikeTrains.from_list(trains, unit_ids=ids)
    units = units.copy()
    units.attrs = {}
    intervals = {f"{name}_presentations": t.reset_index(drop=True).rename_axis("id")
                 for name, t in tables.items()}
    spont = tables["spontaneous"]
    # One invalid interval (e.g. a sync glitch) inside the last grey-screen block.
    s0, s1 = spont["start_time"].iloc[-1], spont["stop_time"].iloc[-1]
    intervals["invalid_times"] = pd.DataFrame(
        {"start_time": [s0 + 0.25 * (s1 - s0)], "stop_time": [s0 + 0.5 * (s1 - s0)],
         "tags": [["EcephysSession", str(session_id), "stimulus"]]}).rename_axis("id")
    dt = np.diff(run_t, append=run_t[-1] + (run_t[-1] - run_t[-2]))
    behavior = xr.Dataset({"running_speed": xr.DataArray(
        speed, dims=("running_speed_time",), coords={"running_speed_time": run_t},
        attrs={"units": "cm/s", "description": "running speed",
               "end_times": "running_speed_time + interval"})})
    behavior.attrs["running_interval"] = float(np.median(dt))
    stimuli = {
        "natural_movie_one": xr.DataArray(movie, dims=("frame", "y", "x")),
        "natural_scenes": xr.DataArray(scenes, dims=("frame", "y", "x")),
    }
    metadata = {
        "session_id": str(session_id),
        "session_start_time": "2019-01-19T00:54:18-08:00",
        "session_description": "Data and metadata for an Ecephys session",
        "institution": "Allen Institute for Brain Science",
        "stimulus_notes": "brain_observatory_1.1",
        "source": "neurodecode.datasets.make_visual_coding_session",
        "simulated": True,
        "random_state": random_state,
        "subject": {"subject_id": "sim_mouse", "species": "Mus musculus", "sex": "M",
                    "age": "P112D", "genotype": "wt/wt",
                    "description": "simulated mouse (neurodecode)"},
    }
    return Session(spikes, units, intervals=intervals, behavior=behavior, stimuli=stimuli,
                   metadata=metadata)


def _build_truth(params, units, channels, fields, movie, scenes, movie_rate, deg_per_pixel, fps,
                 shots, scene_sources) -> xr.Dataset:
    order = units.attrs["params_order"]
    p = params.iloc[order].reset_index(drop=True)
    unit = units.index.to_numpy()
    data = {col: ("unit", p[col].to_numpy()) for col in (
        "area", "cell_type", "x0", "y0", "sigma", "orientation", "spatial_frequency", "phase",
        "latency", "tau", "baseline_rate", "max_rate", "c50", "running_gain")}
    data["polarity"] = ("unit", np.where(p["cell_type"] == "center_surround", p["on"], np.nan))
    data["failure"] = ("unit", p["failure"].to_numpy())
    chan = channels.set_index("id")
    passes = passes_allen_filter(units, chan["valid_data"].to_dict(), chan["location"].to_dict())
    data["passes_default_filter"] = ("unit", passes)
    data["rf"] = (("unit", "y", "x"), fields[0][order])
    data["movie_frames"] = (("movie_frame", "y", "x"), movie)
    data["scenes"] = (("scene", "y", "x"), scenes)
    data["movie_rate"] = (("repeat", "movie_frame", "unit"), movie_rate[:, :, order])
    truth = xr.Dataset(data, coords={"unit": unit, "movie_frame": np.arange(movie.shape[0]),
                                     "scene_source": ("scene", scene_sources)})
    truth.attrs.update({"deg_per_pixel": float(deg_per_pixel), "fps": float(fps),
                        "shot_first_frames": shots["first_frame"].tolist(),
                        "shot_photographs": shots["photograph"].tolist()})
    return truth
