"""Populations driven by known latent variables: ground truth for embedding models.

Two latents, each driving Poisson units through smooth tuning curves:

- a **circle**: an angle that rotates with a slowly varying angular speed;
  units have von Mises tuning to it (a ring attractor / head-direction-like code);
- a **linear track**: an animal running back and forth with pauses; units have
  Gaussian place fields, a share of them direction-selective. With few units and
  low rates this is a hard decoding problem, unlike dense place-cell populations.

Each simulator returns a :class:`~neurodecode.data.Session` (spike times, units
table, the latent as behaviour), so it can be written to NWB like a recording,
and ``*_latent`` helpers return the binned ``("time", "unit")`` tensor with the
latent at the same bins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy.signal import lfilter

from neurodecode.data.session import Session
from neurodecode.data.spiketrains import SpikeTrains

__all__ = ["make_circle_latent_session", "make_circle_latent", "make_track_latent_session",
           "make_track_latent", "poisson_spike_trains"]


def poisson_spike_trains(rates: np.ndarray, bin_size: float, rng: np.random.Generator,
                         start: float = 0.0, unit_ids=None) -> SpikeTrains:
    """Spike times of inhomogeneous Poisson units with piecewise-constant rates.

    Parameters
    ----------
    rates : ndarray, shape (n_bins, n_units)
        Rate (Hz) of each unit in each bin.
    bin_size : float
        Bin width (s); bin ``i`` spans ``[start + i*bin_size, start + (i+1)*bin_size)``.
    rng : numpy.random.Generator
    start : float
    unit_ids : array of int, optional

    Returns
    -------
    SpikeTrains
        Counts per bin are Poisson(rate * bin_size); times uniform inside the bin.

    Examples
    --------
    >>> st = poisson_spike_trains(np.full((100, 2), 10.0), 0.1, np.random.default_rng(0))
    >>> st.n_units
    2
    """
    rates = np.asarray(rates, dtype=np.float64)
    if rates.ndim != 2 or np.any(rates < 0) or not np.all(np.isfinite(rates)):
        raise ValueError("`rates` must be a finite, non-negative (n_bins, n_units) array.")
    counts = rng.poisson(rates * bin_size)
    n_bins, n_units = counts.shape
    per_unit = counts.T.ravel()  # unit-major, so times group by unit
    bins = np.repeat(np.tile(np.arange(n_bins), n_units), per_unit)
    times = start + (bins + rng.random(bins.size)) * bin_size
    labels = np.repeat(np.repeat(np.arange(n_units), n_bins), per_unit)
    offsets = np.concatenate([[0], np.cumsum(counts.sum(axis=0))])
    # spikes within one bin are drawn unordered: sort inside each unit
    order = np.lexsort((times, labels))
    ids = np.arange(n_units) if unit_ids is None else np.asarray(unit_ids)
    return SpikeTrains(times[order], offsets, unit_ids=ids)


def _bin_centres(n_bins: int, bin_size: float) -> np.ndarray:
    return (np.arange(n_bins) + 0.5) * bin_size


def _session(spikes, rates_kind, behavior, metadata) -> Session:
    units = pd.DataFrame({"tuning": [rates_kind] * spikes.n_units},
                         index=pd.Index(spikes.unit_ids, name="unit_id"))
    return Session(spikes, units, behavior=behavior, metadata=metadata)


def make_circle_latent_session(n_units: int = 40, duration: float = 300.0,
                               bin_size: float = 0.05, peak_rate: float = 8.0,
                               baseline_rate: float = 0.5, kappa: float = 2.0,
                               mean_speed: float = 0.6, random_state=None) -> Session:
    """Units tuned to an angle rotating on a circle.

    Parameters
    ----------
    n_units : int
    duration : float
        Seconds.
    bin_size : float
        Resolution (s) of the latent and of the rates.
    peak_rate, baseline_rate : float
        Rate (Hz) at the preferred angle and far from it.
    kappa : float
        von Mises concentration of the tuning curves.
    mean_speed : float
        Mean angular speed (rad/s); the speed drifts slowly (Ornstein-Uhlenbeck)
        and may reverse.
    random_state : int or None

    Returns
    -------
    Session
        Behaviour variables ``angle`` (``angle_time``) and ``latent``
        (``latent_time`` x ``latent_axis`` = ``cos``, ``sin``); the units table
        has the preferred angle ``preferred_angle``.

    Examples
    --------
    >>> s = make_circle_latent_session(n_units=5, duration=10.0, random_state=0)
    >>> s.n_units, sorted(s.behavior.data_vars)
    (5, ['angle', 'latent'])
    """
    rng = np.random.default_rng(random_state)
    n_bins = int(round(duration / bin_size))
    if n_bins < 2:
        raise ValueError(f"`duration`={duration} s is shorter than two bins of {bin_size} s.")
    tau = 5.0  # s, time scale of speed changes
    a = 1.0 - bin_size / tau
    drive = (1 - a) * mean_speed + rng.normal(size=n_bins) * mean_speed * np.sqrt(
        2 * bin_size / tau)
    # AR(1) (Ornstein-Uhlenbeck) speed starting at the mean, as one linear filter
    speed = lfilter([1.0], [1.0, -a], drive, zi=[a * mean_speed])[0]
    angle = np.mod(rng.uniform(0, 2 * np.pi) + np.cumsum(speed) * bin_size, 2 * np.pi)
    preferred = np.sort(rng.uniform(0, 2 * np.pi, n_units))
    rates = baseline_rate + (peak_rate - baseline_rate) * np.exp(
        kappa * (np.cos(angle[:, None] - preferred[None, :]) - 1))
    spikes = poisson_spike_trains(rates, bin_size, rng)
    t = _bin_centres(n_bins, bin_size)
    behavior = xr.Dataset({
        "angle": xr.DataArray(angle, dims="angle_time", coords={"angle_time": t}),
        "latent": xr.DataArray(np.c_[np.cos(angle), np.sin(angle)],
                               dims=("latent_time", "latent_axis"),
                               coords={"latent_time": t, "latent_axis": ["cos", "sin"]})})
    session = _session(spikes, "von_mises", behavior,
                       {"session_id": f"circle_latent_{random_state}", "source": "simulation",
                        "description": "Poisson units tuned to an angle rotating on a circle"})
    session.units["preferred_angle"] = preferred
    return session


def make_track_latent_session(n_units: int = 20, duration: float = 600.0,
                              bin_size: float = 0.025, track_length: float = 1.0,
                              peak_rate: float = 4.0, baseline_rate: float = 0.1,
                              field_width: float = 0.08, direction_selective: float = 0.5,
                              speed: float = 0.4, pause: float = 1.0,
                              random_state=None) -> Session:
    """Place-field units on a linear track run back and forth.

    Parameters
    ----------
    n_units : int
    duration : float
        Seconds.
    bin_size : float
        Resolution (s) of the latent and of the rates.
    track_length : float
        Track length (m).
    peak_rate, baseline_rate : float
        In-field peak and out-of-field rate (Hz).
    field_width : float
        Standard deviation (m) of the Gaussian fields.
    direction_selective : float
        Share of units firing in one running direction only.
    speed : float
        Mean running speed (m/s); each lap's speed varies by +-30 %.
    pause : float
        Mean pause (s) at each end.
    random_state : int or None

    Returns
    -------
    Session
        Behaviour ``position`` (``position_time``, m) and ``direction``
        (``direction_time``: +1 outbound, -1 inbound, 0 paused); the units table
        has ``field_centre`` and ``field_direction`` (0 = both).

    Examples
    --------
    >>> s = make_track_latent_session(n_units=4, duration=20.0, random_state=0)
    >>> s.n_units, float(s.behavior["position"].max()) <= 1.0
    (4, True)
    """
    rng = np.random.default_rng(random_state)
    n_bins = int(round(duration / bin_size))
    if n_bins < 2:
        raise ValueError(f"`duration`={duration} s is shorter than two bins of {bin_size} s.")
    position, direction = _laps(n_bins, bin_size, track_length, speed, pause, rng)
    centres = rng.uniform(0, track_length, n_units)
    field_dir = np.where(rng.random(n_units) < direction_selective,
                         rng.choice([-1, 1], n_units), 0)
    in_field = np.exp(-0.5 * ((position[:, None] - centres[None, :]) / field_width) ** 2)
    gate = (field_dir[None, :] == 0) | (direction[:, None] == field_dir[None, :])
    rates = baseline_rate + (peak_rate - baseline_rate) * in_field * gate
    spikes = poisson_spike_trains(rates, bin_size, rng)
    t = _bin_centres(n_bins, bin_size)
    behavior = xr.Dataset({
        "position": xr.DataArray(position, dims="position_time", coords={"position_time": t}),
        "direction": xr.DataArray(direction, dims="direction_time",
                                  coords={"direction_time": t})})
    session = _session(spikes, "place_field", behavior,
                       {"session_id": f"track_latent_{random_state}", "source": "simulation",
                        "description": "Poisson place-field units on a linear track"})
    session.units["field_centre"] = centres
    session.units["field_direction"] = field_dir
    return session


def _laps(n_bins, bin_size, length, speed, pause, rng):
    """Position and direction of back-and-forth laps with pauses at each end."""
    position = np.empty(n_bins)
    direction = np.zeros(n_bins, dtype=np.int64)
    i, at_end, heading = 0, 0.0, 1
    while i < n_bins:  # one iteration per lap, vectorised within it
        n_pause = int(rng.exponential(pause) / bin_size)
        stop = min(i + n_pause, n_bins)
        position[i:stop] = at_end
        i = stop
        lap_speed = speed * rng.uniform(0.7, 1.3)
        n_run = max(int(length / lap_speed / bin_size), 2)
        stop = min(i + n_run, n_bins)
        frac = np.arange(1, stop - i + 1) / n_run
        # a smooth speed profile: slow at the ends, fastest mid-track
        run = length * (1 - np.cos(np.pi * frac)) / 2
        position[i:stop] = run if heading > 0 else length - run
        direction[i:stop] = heading
        i = stop
        at_end = length if heading > 0 else 0.0
        heading = -heading
    return position, direction


def _bin(session: Session, bin_size: float, n_bins: int) -> xr.DataArray:
    return session.bin(bin_size, start=0.0, stop=n_bins * bin_size)


def make_circle_latent(n_units: int = 40, duration: float = 300.0, bin_size: float = 0.05,
                       random_state=None, **kwargs):
    """Binned circle-latent population: ``(X, latent)``.

    Parameters
    ----------
    n_units, duration, bin_size, random_state, **kwargs
        As in :func:`make_circle_latent_session`.

    Returns
    -------
    X : DataArray ("time", "unit")
        Spike counts.
    latent : DataArray ("time", "latent_axis")
        ``cos`` and ``sin`` of the angle at the same bins (coord ``angle`` on time).

    Examples
    --------
    >>> X, latent = make_circle_latent(n_units=5, duration=10.0, random_state=0)
    >>> X.dims, latent.dims, X.sizes["time"] == latent.sizes["time"]
    (('time', 'unit'), ('time', 'latent_axis'), True)
    """
    s = make_circle_latent_session(n_units, duration, bin_size, random_state=random_state,
                                   **kwargs)
    n_bins = s.behavior.sizes["angle_time"]
    X = _bin(s, bin_size, n_bins)
    latent = xr.DataArray(s.behavior["latent"].values, dims=("time", "latent_axis"),
                          coords={"time": X["time"].values, "latent_axis": ["cos", "sin"],
                                  "angle": ("time", s.behavior["angle"].values)})
    return X, latent


def make_track_latent(n_units: int = 20, duration: float = 600.0, bin_size: float = 0.025,
                      random_state=None, **kwargs):
    """Binned linear-track population: ``(X, behaviour)``.

    Returns
    -------
    X : DataArray ("time", "unit")
    behaviour : Dataset with ``position`` and ``direction`` on ``time``

    Examples
    --------
    >>> X, beh = make_track_latent(n_units=4, duration=20.0, random_state=0)
    >>> sorted(beh.data_vars), beh.sizes["time"] == X.sizes["time"]
    (['direction', 'position'], True)
    """
    s = make_track_latent_session(n_units, duration, bin_size, random_state=random_state,
                                  **kwargs)
    n_bins = s.behavior.sizes["position_time"]
    X = _bin(s, bin_size, n_bins)
    t = X["time"].values
    behaviour = xr.Dataset({"position": ("time", s.behavior["position"].values),
                            "direction": ("time", s.behavior["direction"].values)},
                           coords={"time": t})
    return X, behaviour
