"""Simulated CA1 place cells on a linear track, with ground truth, written as NWB.

A rat runs back and forth between the two ends of a linear track: each run
("lap") has its own cruising speed, the speed is an Ornstein-Uhlenbeck process
(a correlated random walk, not white noise) that slows towards the ends, and the
rat pauses at each end before turning. Tuned units have one Gaussian place field
(optionally firing in one running direction only) on top of a low baseline;
untuned units fire at a constant rate. Spikes come from an inhomogeneous Poisson
or inhomogeneous gamma process (time rescaling: gamma intervals in the
integrated-intensity clock, mapped back to real time).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neurodecode.data.session import Session
from neurodecode.data.spiketrains import SpikeTrains

__all__ = ["SimulatedSession", "make_place_cell_session", "simulate_track_running",
           "place_field_rates", "rescaled_renewal_spikes"]

_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
_DIRECTIONS = ("outbound", "inbound")  # +1: towards track_length, -1: towards 0


@dataclass(frozen=True)
class SimulatedSession:
    """A simulated recording and what generated it.

    Attributes
    ----------
    session : Session
        What a recording would hold: spikes, units table, ``laps`` and ``epochs``
        intervals, behaviour ``position`` (cm) and ``speed`` (cm/s).
    truth : xarray.Dataset
        Per unit (dim ``unit``): ``field_center`` (cm), ``field_width`` (full width
        at half maximum, cm), ``peak_rate`` and ``baseline_rate`` (Hz), ``tuned``
        (bool), ``field_direction`` (+1 outbound only, -1 inbound only, 0 both).
        Per position sample (dim ``time``): ``position`` (cm), ``velocity`` (cm/s),
        ``running_direction`` (+1/-1), ``lap`` (row of the ``laps`` table, the pause
        after a run counted with it), ``rate`` (``("time", "unit")``, Hz,
        float32; the spiking intensity is this rate, linear between samples). Per lap:
        ``lap_gain`` (``("lap", "unit")``, the field's gain on that lap). On a 1-cm grid
        (dim ``position_grid``): ``rate_map`` (``("direction", "unit",
        "position_grid")``, Hz, at gain 1).
    path : Path or None
        The NWB file written, when a path was given.

    Examples
    --------
    >>> sim = make_place_cell_session(n_units=8, duration=60.0, random_state=0)
    >>> sim.truth["rate_map"].dims, sim.path is None
    (('direction', 'unit', 'position_grid'), True)
    """

    session: Session
    truth: xr.Dataset
    path: Path | None = None


def simulate_track_running(duration: float, track_length: float, sampling_rate: float,
                           rng: np.random.Generator, *, speed_range=(15.0, 50.0),
                           max_speed: float = 60.0, speed_tau: float = 1.0,
                           speed_noise: float = 0.2, ramp_length: float = 15.0,
                           pause_mean: float = 2.0):
    """Back-and-forth running on a linear track, sampled at ``sampling_rate``.

    Parameters
    ----------
    duration : float
        Seconds.
    track_length : float
        cm; positions lie in ``[0, track_length]``.
    sampling_rate : float
        Hz.
    rng : numpy.random.Generator
    speed_range : (float, float)
        Range of each lap's cruising speed, cm/s (drawn uniformly).
    max_speed : float
        Speeds are clipped to this, cm/s.
    speed_tau : float
        Time constant of the speed's Ornstein-Uhlenbeck fluctuations, s.
    speed_noise : float
        Standard deviation of those fluctuations, as a fraction of the lap speed.
    ramp_length : float
        Distance from an end over which the rat accelerates / slows down, cm.
    pause_mean : float
        Mean pause at each end, s (gamma distributed, shape 4).

    Returns
    -------
    times : ndarray, shape (n_samples,)
        Sample times, s, from 0.
    position : ndarray, shape (n_samples,)
        cm.
    velocity : ndarray, shape (n_samples,)
        cm/s; positive towards ``track_length``, 0 during pauses.
    direction : ndarray of int8, shape (n_samples,)
        +1 outbound, -1 inbound: the current run, or the last one during a pause.
    laps : pandas.DataFrame
        One row per complete run: ``start_time``, ``stop_time``, ``direction``
        ("outbound"/"inbound").

    Examples
    --------
    >>> t, x, v, d, laps = simulate_track_running(60.0, 150.0, 50.0, np.random.default_rng(0))
    >>> bool(x.min() >= 0 and x.max() <= 150 and np.abs(v).max() <= 60), len(laps) > 5
    (True, True)
    """
    if not duration > 0 or not track_length > 0 or not sampling_rate > 0:
        raise ValueError("simulate_track_running: `duration`, `track_length` and "
                         "`sampling_rate` must be positive.")
    dt = 1.0 / sampling_rate
    n = int(np.floor(duration * sampling_rate))
    times = np.arange(n) * dt
    position = np.empty(n)
    velocity = np.zeros(n)
    direction = np.empty(n, dtype=np.int8)
    decay = np.exp(-dt / speed_tau)
    kick = np.sqrt(1.0 - decay ** 2)
    normals = rng.standard_normal(n)
    laps = []
    x, d = rng.uniform(0, 3.0), 1
    pause_left = rng.gamma(4.0, pause_mean / 4.0) * rng.uniform()  # start mid-pause
    lap_speed, fluct, lap_start, stop_margin = 0.0, 0.0, None, rng.uniform(0.0, 3.0)
    for k in range(n):
        if pause_left > 0:
            pause_left -= dt
            if pause_left <= 0:  # leave the end: a new lap with its own cruising speed
                lap_speed = rng.uniform(*speed_range)
                fluct = 0.0
                lap_start = times[k]
        else:
            from_start = x if d > 0 else track_length - x
            to_end = track_length - from_start
            envelope = min(max(min(from_start, to_end) + 2.0, 0.0) / ramp_length, 1.0)
            envelope = max(envelope, 0.15)
            fluct = decay * fluct + kick * speed_noise * normals[k]
            speed = min(max(lap_speed * envelope * (1.0 + fluct), 2.0), max_speed)
            x += d * speed * dt
            velocity[k] = d * speed
            if (x >= track_length - stop_margin) if d > 0 else (x <= stop_margin):
                x = min(max(x, 0.0), track_length)
                stop_margin = rng.uniform(0.0, 3.0)  # where the next run turns around
                laps.append((lap_start, times[k], _DIRECTIONS[0 if d > 0 else 1]))
                pause_left = rng.gamma(4.0, pause_mean / 4.0)
                d = -d
        position[k] = x
        # While pausing (from the arrival sample on), the direction of the run that ended.
        direction[k] = -d if pause_left > 0 else d
    laps = pd.DataFrame(laps, columns=["start_time", "stop_time", "direction"])
    laps = laps.astype({"start_time": float, "stop_time": float, "direction": str})
    return times, position, velocity, direction, laps


def place_field_rates(position, direction, field_center, field_sigma, peak_rate, baseline_rate,
                      field_direction, gain=1.0) -> np.ndarray:
    """Firing rates of Gaussian place fields, Hz, shape (n_samples, n_units).

    ``rate = baseline + (peak - baseline) * exp(-(x - c)^2 / (2 sigma^2))``, and just
    ``baseline`` when the unit's ``field_direction`` (+1/-1) differs from the running
    ``direction``. Untuned units: ``peak_rate == baseline_rate``. ``gain`` (scalar, or
    shape (n_samples, n_units)) scales the in-field part, e.g. lap-to-lap variability.

    Examples
    --------
    >>> place_field_rates([50.0, 80.0], [1, 1], [50.0], [10.0], [20.0], [0.5], [0]).round(2).T
    array([[20.  ,  0.72]])
    """
    x = np.asarray(position, dtype=np.float64)[:, None]
    d = np.asarray(direction)[:, None]
    c, s = np.asarray(field_center)[None, :], np.asarray(field_sigma)[None, :]
    peak, base = np.asarray(peak_rate)[None, :], np.asarray(baseline_rate)[None, :]
    fdir = np.asarray(field_direction)[None, :]
    bump = np.exp(-0.5 * ((x - c) / s) ** 2)
    active = (fdir == 0) | (fdir == d)
    return base + (peak - base) * np.asarray(gain) * bump * active


def rescaled_renewal_spikes(times, rate, rng: np.random.Generator, *, shape: float = 1.0):
    """Spike times of an inhomogeneous renewal process by time rescaling.

    Intervals are drawn from a gamma distribution of ``shape`` and mean 1 in the
    clock of the integrated intensity ``Lambda(t) = int rate``, and mapped back
    through ``Lambda^-1`` (``shape=1``: inhomogeneous Poisson; ``shape>1``: more
    regular, refractory-like firing).

    Parameters
    ----------
    times : ndarray, shape (n,)
        Ascending sample times, s; the rate is linear between samples.
    rate : ndarray, shape (n,)
        Hz, strictly positive.
    rng : numpy.random.Generator
    shape : float
        Gamma shape parameter.

    Returns
    -------
    ndarray of float64
        Ascending spike times in ``[times[0], times[-1])``.

    Examples
    --------
    >>> t = np.linspace(0, 100, 10001)
    >>> s = rescaled_renewal_spikes(t, np.full(t.size, 10.0), np.random.default_rng(1))
    >>> 900 < s.size < 1100
    True
    """
    times = np.asarray(times, dtype=np.float64)
    rate = np.asarray(rate, dtype=np.float64)
    if np.any(rate <= 0):
        raise ValueError("rescaled_renewal_spikes: `rate` must be strictly positive.")
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(times))])
    total = cum[-1]
    # The first event falls uniformly within a stationary interval (equilibrium start).
    intervals = [rng.gamma(shape, 1.0 / shape, size=1) * rng.uniform()]
    drawn = intervals[0].sum()
    while drawn < total:
        n_more = int(total - drawn + 5 * np.sqrt(total + 1) + 10)
        chunk = rng.gamma(shape, 1.0 / shape, size=n_more)
        intervals.append(chunk)
        drawn += chunk.sum()
    events = np.cumsum(np.concatenate(intervals))
    events = events[events < total]
    return np.interp(events, cum, times)


def make_place_cell_session(n_units: int = 60, duration: float = 600.0, *,
                            track_length: float = 150.0, fraction_tuned: float = 0.85,
                            field_width=(10.0, 30.0), peak_rate=(5.0, 30.0),
                            baseline_rate=(0.1, 1.0), untuned_rate=(0.2, 5.0),
                            fraction_directional: float = 0.0, lap_variability: float = 0.5,
                            speed_range=(15.0, 50.0),
                            pause_mean: float = 2.0, sampling_rate: float = 50.0,
                            spiking: str = "poisson", gamma_shape: float = 3.0,
                            random_state: int | None = 0, path=None,
                            overwrite: bool = False) -> SimulatedSession:
    """Simulate a rat with CA1 place cells running on a linear track.

    Parameters
    ----------
    n_units : int
        Number of units.
    duration : float
        Session length, s.
    track_length : float
        cm.
    fraction_tuned : float
        Fraction of units with a place field; the rest fire at a constant rate.
    field_width : (float, float)
        Range of field full widths at half maximum, cm (uniform).
    peak_rate : (float, float)
        Range of in-field peak rates, Hz (log-uniform).
    baseline_rate : (float, float)
        Range of out-of-field rates of tuned units, Hz (log-uniform).
    untuned_rate : (float, float)
        Range of the constant rates of untuned units, Hz (log-uniform).
    fraction_directional : float
        Fraction of tuned units whose field is present in one running direction only.
    lap_variability : float
        Standard deviation of the log of a per-lap, per-unit gain on the field
        (log-normal, mean 1): real place cells fire far more variably from one pass
        to the next than a Poisson process (Fenton & Muller 1998). 0: none.
    speed_range : (float, float)
        Range of cruising speeds per lap, cm/s.
    pause_mean : float
        Mean pause at each track end, s.
    sampling_rate : float
        Position sampling rate, Hz.
    spiking : {"poisson", "gamma"}
        Inhomogeneous Poisson, or inhomogeneous gamma of shape ``gamma_shape``.
    gamma_shape : float
        Used when ``spiking="gamma"``.
    random_state : int or None
        Seed; the same seed gives the same session.
    path : str or Path, optional
        When given, the session is written there as an NWB file
        (:func:`neurodecode.io.write_nwb`).
    overwrite : bool
        Replace an existing file at ``path``.

    Returns
    -------
    SimulatedSession
        ``session``, ``truth`` (see :class:`SimulatedSession`) and ``path``.

    Examples
    --------
    >>> sim = make_place_cell_session(n_units=20, duration=120.0, random_state=1)
    >>> sim.session.n_units, sorted(sim.session.behavior.data_vars)
    (20, ['position', 'speed'])
    >>> int(sim.truth["tuned"].sum())
    17
    """
    if n_units < 1:
        raise ValueError(f"make_place_cell_session: `n_units` must be >= 1, got {n_units}.")
    if not 0 <= fraction_tuned <= 1 or not 0 <= fraction_directional <= 1:
        raise ValueError("make_place_cell_session: `fraction_tuned` and `fraction_directional` "
                         "must lie in [0, 1].")
    if spiking not in ("poisson", "gamma"):
        raise ValueError(f"make_place_cell_session: `spiking` must be 'poisson' or 'gamma', "
                         f"not {spiking!r}.")
    for name, rng_pair in (("field_width", field_width), ("peak_rate", peak_rate),
                           ("baseline_rate", baseline_rate), ("untuned_rate", untuned_rate)):
        lo, hi = rng_pair
        if not 0 < lo <= hi:
            raise ValueError(f"make_place_cell_session: `{name}` must be (low, high) with "
                             f"0 < low <= high; got {rng_pair!r}.")
    rng = np.random.default_rng(random_state)
    times, position, velocity, direction, laps = simulate_track_running(
        duration, track_length, sampling_rate, rng, speed_range=speed_range,
        pause_mean=pause_mean)

    n_tuned = int(round(fraction_tuned * n_units))
    tuned = np.zeros(n_units, dtype=bool)
    tuned[rng.permutation(n_units)[:n_tuned]] = True
    centre = np.where(tuned, rng.uniform(0.0, track_length, n_units), np.nan)
    width = np.where(tuned, rng.uniform(*field_width, n_units), np.nan)
    base = np.where(tuned, _log_uniform(rng, baseline_rate, n_units),
                    _log_uniform(rng, untuned_rate, n_units))
    peak = np.where(tuned, _log_uniform(rng, peak_rate, n_units), base)
    fdir = np.zeros(n_units, dtype=np.int8)
    directional = tuned & (rng.uniform(size=n_units) < fraction_directional)
    fdir[directional] = rng.choice(np.array([1, -1], dtype=np.int8), directional.sum())
    sigma = np.nan_to_num(width / _FWHM_PER_SIGMA, nan=1.0)
    centre_or_0 = np.nan_to_num(centre, nan=0.0)

    # A lap runs from one departure to the next; the pause after a run belongs to it.
    lap_of_sample = np.maximum(np.searchsorted(laps["start_time"].to_numpy(), times,
                                               side="right") - 1, 0)
    n_laps = max(len(laps), 1)
    gains = np.exp(lap_variability * rng.standard_normal((n_laps, n_units))
                   - 0.5 * lap_variability ** 2)
    shape = 1.0 if spiking == "poisson" else float(gamma_shape)
    # The intensity is the true rate at the position samples, linear in between (at 50 Hz
    # and 60 cm/s the rat moves 1.2 cm per sample, a fraction of the narrowest field).
    rate = np.empty((times.size, n_units), dtype=np.float32)
    trains = []
    for lo in range(0, n_units, 64):  # blocks of units bound the memory
        block = place_field_rates(position, direction, centre_or_0[lo:lo + 64],
                                  sigma[lo:lo + 64], peak[lo:lo + 64], base[lo:lo + 64],
                                  fdir[lo:lo + 64], gains[lap_of_sample, lo:lo + 64])
        rate[:, lo:lo + 64] = block
        trains.extend(rescaled_renewal_spikes(times, block[:, j], rng, shape=shape)
                      for j in range(block.shape[1]))
    unit_ids = np.arange(n_units)
    spikes = SpikeTrains.from_list(trains, unit_ids=unit_ids)

    session = _build_session(spikes, times, position, np.abs(velocity), laps, duration,
                             track_length, random_state, spiking)
    truth = _build_truth(times, position, velocity, direction, rate, unit_ids, centre, width,
                         sigma, peak, base, tuned, fdir, gains, lap_of_sample, track_length,
                         spiking, shape, random_state)
    written = None
    if path is not None:
        from neurodecode.io import write_nwb

        written = Path(write_nwb(session, path, overwrite=overwrite))
    return SimulatedSession(session=session, truth=truth, path=written)


def _log_uniform(rng, bounds, size) -> np.ndarray:
    lo, hi = bounds
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


def _build_session(spikes, times, position, speed, laps, duration, track_length,
                   random_state, spiking) -> Session:
    units = pd.DataFrame({"brain_area": ["CA1"] * spikes.n_units},
                         index=pd.Index(spikes.unit_ids, name="unit_id"))
    behavior = xr.Dataset({
        "position": xr.DataArray(position, dims=("position_time",),
                                 coords={"position_time": times},
                                 attrs={"units": "cm", "description":
                                        f"position along a {track_length:g} cm linear track"}),
        "speed": xr.DataArray(speed, dims=("speed_time",), coords={"speed_time": times},
                              attrs={"units": "cm/s", "description": "running speed"}),
    })
    intervals = {
        "epochs": pd.DataFrame({"start_time": [0.0], "stop_time": [float(duration)],
                                "label": ["linear_track"]}),
        "laps": laps,
    }
    metadata = {
        "session_id": f"sim_place_cells_seed{random_state}",
        "session_start_time": "2020-01-01T00:00:00+00:00",
        "session_description": (f"Simulated CA1 place cells, rat on a {track_length:g} cm "
                                f"linear track, {spiking} spiking "
                                "(neurodecode.datasets.make_place_cell_session)"),
        "source": "neurodecode.datasets.make_place_cell_session",
        "subject": {"subject_id": "sim_rat", "species": "Rattus norvegicus"},
    }
    return Session(spikes, units, intervals=intervals, behavior=behavior, metadata=metadata)


def _build_truth(times, position, velocity, direction, rate, unit_ids, centre, width, sigma,
                 peak, base, tuned, fdir, gains, lap_of_sample, track_length, spiking, shape,
                 random_state) -> xr.Dataset:
    grid = np.arange(0.5, track_length, 1.0)
    maps = np.stack([place_field_rates(grid, np.full(grid.size, d), np.nan_to_num(centre),
                                       sigma, peak, base, fdir).T for d in (1, -1)])
    return xr.Dataset(
        {
            "field_center": ("unit", centre, {"units": "cm"}),
            "field_width": ("unit", width, {"units": "cm", "description": "FWHM"}),
            "peak_rate": ("unit", peak, {"units": "Hz"}),
            "baseline_rate": ("unit", base, {"units": "Hz"}),
            "tuned": ("unit", tuned),
            "field_direction": ("unit", fdir),
            "position": ("time", position, {"units": "cm"}),
            "velocity": ("time", velocity, {"units": "cm/s"}),
            "running_direction": ("time", direction),
            "rate": (("time", "unit"), rate, {"units": "Hz"}),
            "lap": ("time", lap_of_sample),
            "lap_gain": (("lap", "unit"), gains),
            "rate_map": (("direction", "unit", "position_grid"), maps, {"units": "Hz"}),
        },
        coords={"unit": unit_ids, "time": times, "position_grid": grid,
                "direction": list(_DIRECTIONS)},
        attrs={"track_length": float(track_length), "spiking": spiking,
               "gamma_shape": float(shape),
               "random_state": int(random_state) if isinstance(random_state, (int, np.integer))
               else -1},
    )
