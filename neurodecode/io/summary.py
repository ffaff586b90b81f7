"""Readable text summaries of a session or an NWB file (``neurodecode info FILE``)."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["describe_nwb", "describe_session"]


def _fmt_time(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "n/a"
    minutes, sec = divmod(float(seconds), 60.0)
    hours, minutes = divmod(minutes, 60.0)
    if hours:
        return f"{seconds:.1f} s ({int(hours)} h {int(minutes)} min)"
    if minutes:
        return f"{seconds:.1f} s ({int(minutes)} min {sec:.0f} s)"
    return f"{seconds:.2f} s"


def _columns(frame, skip=()) -> str:
    names = [str(c) for c in frame.columns if c not in skip]
    if len(names) > 12:
        names = names[:12] + [f"... ({len(names) - 12} more)"]
    return ", ".join(names) or "(none)"


def describe_session(session) -> str:
    """A multi-line, human-readable summary of a :class:`~neurodecode.data.Session`.

    Lists the metadata, units per brain area (with spike counts and mean rates),
    spike count and duration, every intervals table with its row count and columns,
    behaviour series (samples, components, sampling rate, units) and stimuli.

    Examples
    --------
    >>> import pandas as pd
    >>> from neurodecode.data import Session, SpikeTrains
    >>> st = SpikeTrains.from_list([[0.5, 1.0, 9.0], [2.0]], unit_ids=[1, 2])
    >>> units = pd.DataFrame({"brain_area": ["CA1", ""]}, index=pd.Index([1, 2], name="unit_id"))
    >>> print(describe_session(Session(st, units, metadata={"session_id": "demo"})))
    ... # doctest: +ELLIPSIS
    Session demo
      ...
    Units: 2 units, 4 spikes, spikes from 0.50 to 9.00 s
      CA1                 1 units          3 spikes  mean rate 0.35 Hz
      (unknown area)      1 units          1 spikes  mean rate 0.12 Hz
    ...
    """
    meta = session.metadata
    lines = [f"Session {session.session_id or '(no identifier)'}"]
    for key, label in (("source", "file"), ("session_start_time", "start"),
                       ("nwb_version", "NWB version"), ("session_description", "description"),
                       ("institution", "institution"), ("lab", "lab"),
                       ("experimenter", "experimenter")):
        value = meta.get(key)
        if value not in (None, "", []):
            text = str(value)
            lines.append(f"  {label + ':':<14}{text if len(text) <= 100 else text[:97] + '...'}")
    subject = meta.get("subject") or {}
    if subject:
        lines.append("  subject:      " + ", ".join(f"{k}={v}" for k, v in subject.items()))
    with warnings.catch_warnings():
        # A table whose stop_time is all NaN (real Svoboda-lab trials) makes nanmax warn.
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = session.time_range()
    lines.append(f"  duration:     {_fmt_time(hi - lo)} ({lo:.2f} to {hi:.2f} s, all data)")

    spikes = session.spikes
    s_lo, s_hi = spikes.time_range()
    span = s_hi - s_lo if np.isfinite(s_hi) and s_hi > s_lo else np.nan
    spike_span = (f"spikes from {s_lo:.2f} to {s_hi:.2f} s" if np.isfinite(s_lo)
                  else "no spikes")
    lines.append(f"Units: {spikes.n_units} units, {spikes.n_spikes} spikes, {spike_span}")
    counts = spikes.counts
    areas = (session.units["brain_area"].astype(str).to_numpy() if "brain_area" in session.units
             else np.full(spikes.n_units, "", dtype=object))
    for area in sorted(set(areas.tolist()), key=lambda a: (a == "", a)):
        mask = areas == area
        n_sp = int(counts[mask].sum())
        rate = n_sp / mask.sum() / span if np.isfinite(span) else np.nan
        lines.append(f"  {area or '(unknown area)':<16} {int(mask.sum()):>4} units "
                     f"{n_sp:>10} spikes  mean rate {rate:.2f} Hz")
    n_empty = int((counts == 0).sum())
    if n_empty:
        lines.append(f"  {n_empty} unit(s) without spikes")
    lines.append(f"  columns: {_columns(session.units)}")

    lines.append(f"Intervals: {len(session.intervals)} table(s)")
    for name, table in session.intervals.items():
        if len(table):
            t_lo, t_hi = np.nanmin(table["start_time"]), np.nanmax(table["start_time"])
            when = f", starts {t_lo:.2f} to {t_hi:.2f} s"
        else:
            when = ""
        lines.append(f"  {name}: {len(table)} rows{when}; columns "
                     f"{_columns(table, skip=('start_time', 'stop_time'))}")

    lines.append(f"Behavior: {len(session.behavior.data_vars)} series")
    for name, var in session.behavior.data_vars.items():
        tdim = var.dims[0]
        t = var[tdim].values
        rate = (t.size - 1) / (t[-1] - t[0]) if t.size > 1 and t[-1] > t[0] else np.nan
        comps = ""
        if var.ndim > 1:
            labels = (var[var.dims[1]].values.tolist() if var.dims[1] in var.coords
                      else list(range(var.shape[1])))
            comps = f" x {var.shape[1]} ({', '.join(map(str, labels))})"
        units = var.attrs.get("units") or "?"
        extent = f", {t[0]:.2f} to {t[-1]:.2f} s" if t.size else ""
        lines.append(f"  {name}: {t.size} samples{comps}, ~{rate:.3g} Hz, units {units}"
                     f"{extent}")

    lines.append(f"Stimuli: {len(session.stimuli)} template(s)")
    for name, frames in session.stimuli.items():
        shape = " x ".join(f"{d}={n}" for d, n in frames.sizes.items())
        lines.append(f"  {name}: {shape} ({frames.dtype})")
    return "\n".join(lines)


def describe_nwb(path, **read_kwargs) -> str:
    """Read an NWB file and summarise it (see :func:`describe_session`).

    Unsorted spike times are sorted; read warnings are listed at the end.

    Parameters
    ----------
    path : str or Path
    **read_kwargs
        Passed to :func:`~neurodecode.io.read_nwb`.

    Raises
    ------
    NWBFormatError
        As :func:`~neurodecode.io.read_nwb`.
    """
    from neurodecode.io.nwb_read import read_nwb

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session = read_nwb(path, **read_kwargs)
    text = describe_session(session)
    notes = [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)]
    if notes:
        text += "\nWarnings:\n" + "\n".join(f"  {n}" for n in notes)
    return text
