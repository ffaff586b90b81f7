"""Spike rasters with embedded spiking motifs and their ground truth.

Two regimes:

* :func:`make_icann_motifs` — the generative model of Perrinet (ICANN 2023):
  motif onsets ``B(b, t) ~ Bernoulli(p_B)``; each neuron spikes with
  ``A(a, s) ~ Bernoulli(σ(logit p_A + Σ_{b,δ} B(b, s-δ) K(b, a, δ)))``, where
  ``K`` is a sparse positive kernel over (neuron, delay) shaped by a rise/decay
  envelope. An onset at bin ``t`` raises the spiking probability of neuron
  ``a`` at ``t + δ`` by ``K(b, a, δ)`` in logit units.
* :func:`make_recording_motifs` — closer to recordings: each motif is a subset
  of neurons that fire once each at a fixed delay after the onset, with spike
  dropout, Gaussian jitter, time-warp, Poisson or rate-modulated background,
  motifs that overlap in time and share neurons, and rate-matched distractors
  (same neurons and spike counts, delays permuted) so that a detector blind to
  timing cannot score.

Both return a :class:`MotifDataset`: the spike tensor ``("time", "unit")`` (or
``("trial", "time", "unit")``), onset labels ``("time", "motif")`` with the
same sample dims, and the truth (kernels, delays, event table).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["ICANN_SPIKE_SHAPE", "MotifDataset", "make_icann_motifs", "make_recording_motifs",
           "motif_envelope"]


@dataclass
class MotifDataset:
    """A raster with embedded motifs and everything known about how it was made.

    Attributes
    ----------
    spikes : xr.DataArray
        Spike counts, dims ``("time", "unit")`` or ``("trial", "time", "unit")``.
    labels : xr.DataArray
        1 at each true motif onset bin, dims ``(..., "time", "motif")``, uint8.
    kernels : np.ndarray
        True kernels, shape (n_motifs, n_units, n_delays): the logit increment
        (ICANN regime) or 1 where a neuron belongs to a motif at that delay
        (recording regime).
    delays : np.ndarray
        Delay in bins of each neuron in each motif, shape (n_motifs, n_units),
        NaN where the neuron is not in the motif (ICANN regime: the delay of
        each neuron's largest kernel weight).
    events : pd.DataFrame
        One row per embedded occurrence: ``motif``, ``onset_bin``, ``time`` (s),
        ``trial``, ``kind`` ("motif" or "distractor"), ``warp``.
    distractors : xr.DataArray or None
        Like ``labels`` for the distractor onsets (recording regime).
    params : dict
        The arguments the raster was made with.
    """

    spikes: xr.DataArray
    labels: xr.DataArray
    kernels: np.ndarray
    delays: np.ndarray
    events: pd.DataFrame
    distractors: xr.DataArray | None = None
    params: dict = field(default_factory=dict)

    def to_session(self):
        """The raster as a :class:`~neurodecode.data.Session` (spikes at bin centres).

        Motif and distractor occurrences go to ``intervals["motif_events"]``
        (``start_time`` = onset bin's left edge, ``stop_time`` = end of the
        motif window, columns ``motif``, ``kind``, ``warp``). Only single
        ``("time", "unit")`` rasters.
        """
        from neurodecode.data.session import Session
        from neurodecode.data.spiketrains import SpikeTrains

        if self.spikes.dims != ("time", "unit"):
            raise ValueError("to_session needs a ('time', 'unit') raster; make the data with "
                             "n_trials=None")
        bin_size = float(self.spikes.attrs["bin_size"])
        counts = np.asarray(self.spikes.values)
        t, a = np.nonzero(counts)
        reps = counts[t, a].astype(np.int64)
        times = np.repeat(self.spikes["time"].values[t], reps)
        labels = np.repeat(a, reps)
        units = self.spikes["unit"].values
        trains = SpikeTrains.from_labels(times, units[labels], unit_ids=units)
        n_delays = self.kernels.shape[2]
        start = self.events["onset_bin"].to_numpy() * bin_size
        intervals = {"motif_events": pd.DataFrame({
            "start_time": start, "stop_time": start + n_delays * bin_size,
            "motif": self.events["motif"].to_numpy(), "kind": self.events["kind"].to_numpy(),
            "warp": self.events["warp"].to_numpy()})}
        return Session(trains, units=pd.DataFrame(index=pd.Index(units, name="unit_id")),
                       intervals=intervals,
                       metadata={"session_id": self.spikes.attrs.get("session_id", "motifs"),
                                 "source": self.spikes.attrs.get("source", "")})

    def to_nwb(self, path, overwrite: bool = False):
        """Write :meth:`to_session` as an NWB file (atomically); returns the path."""
        from neurodecode.io import write_nwb

        return write_nwb(self.to_session(), path, overwrite=overwrite)


def motif_envelope(n_delays: int, tau_rise: float, tau_decay: float, *, offset: float = 1.0,
                   normalize: bool = True) -> np.ndarray:
    """Rise/decay envelope over delays, ``(1 - exp(-(δ+offset)/τr)) exp(-δ/τd)``.

    ``normalize`` scales the peak to 1. The ICANN code's envelope is
    ``offset=0, normalize=False`` (zero at δ = 0, peak ≈ 0.67 for τr=1.5, τd=12).

    Examples
    --------
    >>> env = motif_envelope(31, 2.0, 15.0)
    >>> env.shape, float(env.max())
    ((31,), 1.0)
    >>> float(motif_envelope(31, 1.5, 12.0, offset=0.0, normalize=False)[0])
    0.0
    """
    if n_delays < 1:
        raise ValueError(f"`n_delays` must be >= 1, got {n_delays}")
    if tau_rise <= 0 or tau_decay <= 0:
        raise ValueError(f"`tau_rise` and `tau_decay` must be > 0, got {tau_rise!r}, "
                         f"{tau_decay!r}")
    d = np.arange(n_delays, dtype=np.float64)
    env = (1.0 - np.exp(-(d + offset) / tau_rise)) * np.exp(-d / tau_decay)
    if normalize:
        if env.max() <= 0:
            raise ValueError("the envelope is zero at every delay (n_delays=1 with offset=0?)")
        env = env / env.max()
    return env


def _logit(p: float) -> float:
    return float(np.log(p) - np.log1p(-p))


def _check_prob(name: str, value: float, allow_zero: bool = False) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value < 1):
        raise ValueError(f"`{name}` must be a probability in {'[' if allow_zero else '('}0, 1); "
                         f"got {value!r}")


def _coords(n_trials, n_time, n_units, bin_size):
    time = (np.arange(n_time) + 0.5) * bin_size
    units = np.arange(n_units)
    sample_dims = ("time",) if n_trials is None else ("trial", "time")
    coords = {"time": time}
    if n_trials is not None:
        coords["trial"] = np.arange(n_trials)
    return sample_dims, coords, units


def _as_tensors(counts, onsets, distract, n_trials, bin_size, source, seed):
    """counts (R, T, N), onsets (R, T, M) → DataArrays with the contract's dims."""
    n_time, n_units = counts.shape[1:]
    sample_dims, coords, units = _coords(n_trials, n_time, n_units, bin_size)
    squeeze = n_trials is None
    attrs = {"bin_size": float(bin_size), "session_id": f"{source}-seed{seed}",
             "source": f"neurodecode.datasets.motifs.{source}"}

    def wrap(values, last, last_coords, dtype):
        v = values[0] if squeeze else values
        return xr.DataArray(v.astype(dtype), dims=(*sample_dims, last),
                            coords={**coords, last: last_coords}, attrs=dict(attrs))

    motifs = np.arange(onsets.shape[2])
    spikes = wrap(counts, "unit", units, np.uint8 if counts.max(initial=0) < 256 else np.uint16)
    labels = wrap(onsets, "motif", motifs, np.uint8)
    distractors = None if distract is None else wrap(distract, "motif", motifs, np.uint8)
    return spikes, labels, distractors


def _events_table(onsets, kind, bin_size, warps=None):
    r, t, b = np.nonzero(onsets)
    frame = pd.DataFrame({"motif": b, "onset_bin": t, "time": (t + 0.5) * bin_size,
                          "trial": r, "kind": kind,
                          "warp": 1.0 if warps is None else warps})
    return frame


ICANN_SPIKE_SHAPE = (1.0, -0.8, -0.2)


def make_icann_motifs(n_units: int = 128, n_motifs: int = 233, n_delays: int = 31,
                      n_time: int = 1000, n_trials: int | None = None, *,
                      p_A: float = 0.001, p_B: float = 0.001, kernel_density: float = 0.05,
                      amplitude: float = 4.0, weights: str = "gaussian_tail",
                      weight_low: float = 0.0, tau_rise: float = 1.5, tau_decay: float = 12.0,
                      envelope_offset: float = 0.0, normalize_envelope: bool = False,
                      spike_shape=ICANN_SPIKE_SHAPE, onsets_inside: bool = True,
                      bin_size: float = 0.001, random_state=None) -> MotifDataset:
    """Raster from the ICANN 2023 generative model of spiking motifs.

    The defaults are those of the authors' code for the paper's detection
    result (Perrinet 2023, ``2023-09-27_HD-SNN.ipynb``: N=128 neurons, M=233
    motifs, D=31 delays, p_A = p_B = 0.001, 5 % of kernel entries active with
    weights from the upper 5 % tail of N(0, 4²), envelope with rise 1.5 and
    decay 12 bins, each entry followed by a refractory undershoot), with
    T=1,000 bins as in the paper's text. There the true kernels give 95.1 %
    recall at the oracle threshold and the probability-template correlation
    77.2 %.

    Parameters
    ----------
    n_units, n_motifs, n_delays, n_time : int
        N neurons, M motifs, D delay bins, T time bins.
    n_trials : int, optional
        Independent rasters stacked along ``trial``; ``None`` gives one
        ``("time", "unit")`` raster.
    p_A : float
        Background spiking probability per bin.
    p_B : float
        Onset probability of each motif per bin.
    kernel_density : float
        Fraction of (neuron, delay) entries of each kernel that are active.
    amplitude : float
        Weight scale (logit units).
    weights : {"gaussian_tail", "uniform"}
        ``"gaussian_tail"`` (the authors' construction): each entry is
        ``amplitude · z`` with ``z ~ N(0, 1)``, active where ``z`` exceeds its
        ``1 - kernel_density`` quantile, so active weights are large and
        positive. ``"uniform"``: active entries drawn at random with density
        ``kernel_density`` and weight ``amplitude · U(weight_low, 1)``.
    weight_low : float
        Lower bound of the uniform weight factor (``weights="uniform"``).
    tau_rise, tau_decay : float
        Envelope time constants in bins (:func:`motif_envelope`).
    envelope_offset, normalize_envelope : float, bool
        Envelope shape (:func:`motif_envelope`); the defaults are the
        authors' (zero at δ = 0, not rescaled). A one-bin window (D = 1) with
        a zero envelope gets a flat one.
    spike_shape : sequence of float or None
        Each active entry at δ is spread as ``w · spike_shape[i]`` at
        ``δ + i`` (truncated at D): the default (1, -0.8, -0.2) is the
        authors' depolarisation followed by a refractory undershoot, which
        makes each kernel balanced (zero sum). ``None``: kernels stay
        positive.
    onsets_inside : bool
        Onsets only where the whole window fits in the raster (bins 0 to
        T - D), as in the authors' code; otherwise onsets also start up to
        D - 1 bins before the raster (unlabelled) and near its end
        (truncated), so the raster is stationary.
    bin_size : float
        Seconds per bin (only labels the time axis).
    random_state : int or None

    Returns
    -------
    MotifDataset
        ``kernels`` are the logit increments; ``delays`` the delay of each
        neuron's largest weight (NaN where it has none).

    Examples
    --------
    >>> data = make_icann_motifs(n_units=16, n_motifs=2, n_delays=5, n_time=50, random_state=0)
    >>> data.spikes.dims, data.spikes.shape, data.labels.dims, data.kernels.shape
    (('time', 'unit'), (50, 16), ('time', 'motif'), (2, 16, 5))
    """
    _check_prob("p_A", p_A)
    _check_prob("p_B", p_B, allow_zero=True)
    _check_prob("kernel_density", kernel_density)
    for name, value in (("n_units", n_units), ("n_motifs", n_motifs), ("n_delays", n_delays),
                        ("n_time", n_time)):
        if int(value) < 1:
            raise ValueError(f"`{name}` must be >= 1, got {value!r}")
    if n_trials is not None and n_trials < 1:
        raise ValueError(f"`n_trials` must be >= 1 or None, got {n_trials!r}")
    if weights not in ("gaussian_tail", "uniform"):
        raise ValueError(f"`weights` must be 'gaussian_tail' or 'uniform', got {weights!r}")
    if onsets_inside and n_time < n_delays:
        raise ValueError(f"`n_time`={n_time} is shorter than the motif window "
                         f"`n_delays`={n_delays}")
    rng = np.random.default_rng(random_state)
    n_rep = 1 if n_trials is None else int(n_trials)
    env = motif_envelope(n_delays, tau_rise, tau_decay, offset=envelope_offset,
                         normalize=False)
    if not env.any():  # e.g. D = 1 with the envelope's zero at δ = 0: no rise to model
        env = np.ones(n_delays)
    if normalize_envelope:
        env = env / env.max()
    shape = (n_motifs, n_units, n_delays)
    if weights == "gaussian_tail":
        from scipy.special import ndtri

        z = rng.standard_normal(shape)
        mask = z > ndtri(1.0 - kernel_density)
        w = amplitude * z
    else:
        mask = rng.random(shape) < kernel_density
        w = amplitude * rng.uniform(weight_low, 1.0, shape)
    mask &= env[None, None, :] > 0
    # every motif gets at least one entry, so no motif is undetectable by construction
    for b in range(n_motifs):
        if not mask[b].any():
            d = rng.choice(np.flatnonzero(env > 0))
            a = rng.integers(n_units)
            mask[b, a, d] = True
            w[b, a, d] = abs(w[b, a, d]) if weights == "uniform" else amplitude * (
                ndtri(1.0 - kernel_density) + abs(rng.standard_normal()))
    kernels = mask * w * env
    if spike_shape is not None:
        shape_ = np.asarray(spike_shape, dtype=np.float64)
        if shape_.ndim != 1 or len(shape_) < 1:
            raise ValueError(f"`spike_shape` must be a 1-d sequence, got {spike_shape!r}")
        spread = np.zeros_like(kernels)
        for i, c in enumerate(shape_):
            if i < n_delays:
                spread[..., i:] += c * kernels[..., :n_delays - i]
        kernels = spread
    lead = 0 if onsets_inside else n_delays - 1
    n_full = n_time + lead
    counts = np.zeros((n_rep, n_time, n_units), np.uint8)
    onsets = np.zeros((n_rep, n_time, n_motifs), np.uint8)
    # a few trials at a time, so the float drive never holds more than ~2^22 values
    chunk = max(1, (1 << 22) // (n_full * n_units))
    for start in range(0, n_rep, chunk):
        n_chunk = min(chunk, n_rep - start)
        onsets_full = rng.random((n_chunk, n_full, n_motifs)) < p_B
        if onsets_inside:
            onsets_full[:, n_time - n_delays + 1:] = False
        drive = np.full((n_chunk, n_full, n_units), _logit(p_A))
        r_idx, t_idx, b_idx = np.nonzero(onsets_full)
        for d in range(n_delays):
            s = t_idx + d
            keep = s < n_full
            np.add.at(drive, (r_idx[keep], s[keep]), kernels[b_idx[keep], :, d])
        prob = 1.0 / (1.0 + np.exp(-drive[:, lead:]))
        counts[start:start + n_chunk] = rng.random(prob.shape) < prob
        onsets[start:start + n_chunk] = onsets_full[:, lead:]
    spikes, labels, _ = _as_tensors(counts, onsets, None, n_trials, bin_size,
                                    "make_icann_motifs", random_state)
    delays = np.where(kernels.max(axis=2) > 0, kernels.argmax(axis=2), np.nan)
    params = dict(n_units=n_units, n_motifs=n_motifs, n_delays=n_delays, n_time=n_time,
                  n_trials=n_trials, p_A=p_A, p_B=p_B, kernel_density=kernel_density,
                  amplitude=amplitude, weights=weights, weight_low=weight_low,
                  tau_rise=tau_rise, tau_decay=tau_decay, envelope_offset=envelope_offset,
                  normalize_envelope=normalize_envelope,
                  spike_shape=None if spike_shape is None else tuple(spike_shape),
                  onsets_inside=onsets_inside, bin_size=bin_size, random_state=random_state)
    return MotifDataset(spikes=spikes, labels=labels, kernels=kernels, delays=delays,
                        events=_events_table(onsets, "motif", bin_size), params=params)


def make_recording_motifs(n_units: int = 64, n_motifs: int = 4, motif_size: int = 16,
                          duration: float = 60.0, n_trials: int | None = None, *,
                          bin_size: float = 0.001, max_delay: float = 0.030,
                          motif_rate: float = 1.0, dropout: float = 0.2, jitter: float = 0.001,
                          background_rate: float = 5.0, background: str = "poisson",
                          modulation_depth: float = 0.5, modulation_freq: float = 0.5,
                          time_warp: float = 0.0, distractor_rate: float | None = None,
                          shared_neurons: bool = True, overlap: bool = True,
                          random_state=None) -> MotifDataset:
    """Recording-like raster: sparse single-spike motifs in background firing.

    Parameters
    ----------
    n_units, n_motifs, motif_size : int
        Neurons in the raster, motifs, neurons per motif.
    duration : float
        Seconds per raster (per trial when ``n_trials`` is given).
    n_trials : int, optional
        Independent rasters stacked along ``trial``.
    bin_size : float
        Seconds per bin.
    max_delay : float
        Delays are drawn uniformly on the bin grid in ``[0, max_delay]``; the
        kernel spans ``n_delays = round(max_delay / bin_size) + 1`` bins.
    motif_rate : float
        Onsets per second of each motif (Poisson).
    dropout : float
        Probability that a motif neuron misses its spike in one occurrence.
    jitter : float
        Standard deviation (s) of the Gaussian jitter of each motif spike.
    background_rate : float
        Mean background rate per neuron (Hz).
    background : {"poisson", "modulated"}
        Homogeneous Poisson, or rate modulated by a common slow sinusoid of
        depth ``modulation_depth`` and frequency ``modulation_freq`` with a
        random phase per neuron.
    time_warp : float
        Each occurrence scales its delays by a factor drawn from
        ``U(1 - time_warp, 1 + time_warp)``.
    distractor_rate : float, optional
        Onsets per second of rate-matched distractors per motif (default
        ``motif_rate``; 0 disables): the motif's neurons with the same dropout
        but their delays permuted among them.
    shared_neurons : bool
        Draw each motif's neurons independently (motifs may share neurons);
        otherwise disjoint subsets (needs ``n_motifs * motif_size <= n_units``).
    overlap : bool
        Let occurrences of different motifs overlap in time; otherwise every
        onset (motif or distractor) keeps ``n_delays`` bins from the others.
    random_state : int or None

    Returns
    -------
    MotifDataset
        ``kernels`` is 1 at (motif, neuron, delay) of each member neuron.

    Examples
    --------
    >>> data = make_recording_motifs(n_units=20, n_motifs=2, motif_size=5, duration=2.0,
    ...                              random_state=0)
    >>> data.spikes.dims, data.spikes.shape, int(data.labels.sum()) > 0
    (('time', 'unit'), (2000, 20), True)
    """
    if motif_size < 1 or motif_size > n_units:
        raise ValueError(f"`motif_size` must be in [1, n_units={n_units}], got {motif_size}")
    if not shared_neurons and n_motifs * motif_size > n_units:
        raise ValueError(f"disjoint motifs need n_motifs * motif_size <= n_units; got "
                         f"{n_motifs} * {motif_size} > {n_units}")
    _check_prob("dropout", dropout, allow_zero=True)
    if background not in ("poisson", "modulated"):
        raise ValueError(f"`background` must be 'poisson' or 'modulated', got {background!r}")
    if not 0 <= time_warp < 1:
        raise ValueError(f"`time_warp` must be in [0, 1), got {time_warp!r}")
    if jitter < 0 or background_rate < 0 or motif_rate < 0:
        raise ValueError("`jitter`, `background_rate` and `motif_rate` must be >= 0")
    n_time = int(round(duration / bin_size))
    n_delays = int(round(max_delay / bin_size)) + 1
    if n_time < n_delays:
        raise ValueError(f"`duration`={duration} s is shorter than the motif window "
                         f"`max_delay`={max_delay} s")
    distractor_rate = motif_rate if distractor_rate is None else distractor_rate
    rng = np.random.default_rng(random_state)
    n_rep = 1 if n_trials is None else int(n_trials)

    members = np.zeros((n_motifs, n_units), bool)
    perm = rng.permutation(n_units)
    for b in range(n_motifs):
        idx = (rng.choice(n_units, motif_size, replace=False) if shared_neurons
               else perm[b * motif_size:(b + 1) * motif_size])
        members[b, idx] = True
    delays = np.where(members, rng.integers(0, n_delays, (n_motifs, n_units)), -1)
    kernels = np.zeros((n_motifs, n_units, n_delays))
    bm, am = np.nonzero(members)
    kernels[bm, am, delays[bm, am]] = 1.0

    # background
    t_sec = (np.arange(n_time) + 0.5) * bin_size
    if background == "poisson":
        rate = np.full((1, n_time, n_units), background_rate)
    else:
        phase = rng.uniform(0, 2 * np.pi, n_units)
        rate = background_rate * (1 + modulation_depth * np.sin(
            2 * np.pi * modulation_freq * t_sec[:, None] + phase[None, :]))[None]
    counts = rng.poisson(rate * bin_size, (n_rep, n_time, n_units)).astype(np.int64)

    # onsets (times in bins; the whole motif fits in the raster)
    def draw_onsets(rate_hz):
        n_valid = n_time - n_delays + 1
        return rng.random((n_rep, n_valid, n_motifs)) < rate_hz * bin_size

    onset_mask = draw_onsets(motif_rate)
    distract_mask = draw_onsets(distractor_rate) if distractor_rate > 0 else \
        np.zeros_like(onset_mask)
    if not overlap:
        onset_mask, distract_mask = _thin_to_spacing(onset_mask, distract_mask, n_delays, rng)
    onsets = np.zeros((n_rep, n_time, n_motifs), np.uint8)
    onsets[:, :onset_mask.shape[1]] = onset_mask
    distract = np.zeros_like(onsets)
    distract[:, :distract_mask.shape[1]] = distract_mask

    tables = []
    for kind, mask in (("motif", onset_mask), ("distractor", distract_mask)):
        r, t, b = np.nonzero(mask)
        n_ev = len(r)
        warp = rng.uniform(1 - time_warp, 1 + time_warp, n_ev) if time_warp > 0 else \
            np.ones(n_ev)
        tables.append(pd.DataFrame({"motif": b, "onset_bin": t, "time": (t + 0.5) * bin_size,
                                    "trial": r, "kind": kind, "warp": warp}))
        if n_ev == 0:
            continue
        ev_delays = delays[b].astype(float)
        if kind == "distractor":
            # permute delays among the motif's own neurons: same spikes, other timing
            for i in range(n_ev):
                neurons = np.flatnonzero(members[b[i]])
                ev_delays[i, neurons] = ev_delays[i, rng.permutation(neurons)]
        ev, unit = np.nonzero(members[b] & (rng.random((n_ev, n_units)) >= dropout))
        spike_t = (t[ev] + 0.5 + ev_delays[ev, unit] * warp[ev]
                   + rng.normal(0, jitter / bin_size if jitter > 0 else 0, len(ev)))
        spike_bin = np.floor(spike_t).astype(np.int64)
        ok = (spike_bin >= 0) & (spike_bin < n_time)
        np.add.at(counts, (r[ev][ok], spike_bin[ok], unit[ok]), 1)

    spikes, labels, distractors = _as_tensors(counts, onsets, distract, n_trials, bin_size,
                                              "make_recording_motifs", random_state)
    events = pd.concat(tables, ignore_index=True).sort_values(
        ["trial", "onset_bin", "motif"], ignore_index=True)
    params = dict(n_units=n_units, n_motifs=n_motifs, motif_size=motif_size, duration=duration,
                  n_trials=n_trials, bin_size=bin_size, max_delay=max_delay,
                  motif_rate=motif_rate, dropout=dropout, jitter=jitter,
                  background_rate=background_rate, background=background,
                  modulation_depth=modulation_depth, modulation_freq=modulation_freq,
                  time_warp=time_warp, distractor_rate=distractor_rate,
                  shared_neurons=shared_neurons, overlap=overlap, random_state=random_state)
    return MotifDataset(spikes=spikes, labels=labels, kernels=kernels,
                        delays=np.where(members, delays, np.nan).astype(float), events=events,
                        distractors=distractors, params=params)


def _thin_to_spacing(onset_mask, distract_mask, spacing, rng):
    """Drop onsets (of any motif or distractor) closer than ``spacing`` bins to a kept one."""
    onset_mask = onset_mask.copy()
    distract_mask = distract_mask.copy()
    for r in range(onset_mask.shape[0]):
        both = np.concatenate([onset_mask[r], distract_mask[r]], axis=1)
        t, k = np.nonzero(both)
        order = rng.permutation(len(t))
        t, k = t[order], k[order]
        order = np.argsort(t, kind="stable")
        last = -np.inf
        for ti, ki in zip(t[order], k[order], strict=True):
            if ti - last < spacing:
                both[ti, ki] = False
            else:
                last = ti
        n_m = onset_mask.shape[2]
        onset_mask[r], distract_mask[r] = both[:, :n_m], both[:, n_m:]
    return onset_mask, distract_mask
