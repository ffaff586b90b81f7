"""Spike rasters and decoded-versus-true traces.

Functions draw on a given matplotlib ``Axes`` or make their own ``Figure``
(no pyplot, so nothing depends on the interactive backend), and return it.
Saving goes through the Agg canvas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_raster", "plot_decoded_trace", "plot_decoding_summary"]


def _new_axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _save(fig, path, dpi: int) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from neurodecode.utils.atomic import atomic_path

    path = Path(path)
    FigureCanvasAgg(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png")
    return path


def plot_raster(spikes, window=None, *, order=None, ax=None, color="k", marker_size: float = 2.0,
                figsize=(8, 4)):
    """Spike raster of a time window, one row per unit.

    Parameters
    ----------
    spikes : SpikeTrains or Session
    window : (float, float), optional
        Seconds; default the whole recording.
    order : array_like of int, optional
        Unit positions (0 .. n_units - 1), top row first, e.g. sorted by field centre;
        units left out are not drawn.
    ax : matplotlib Axes, optional
    color, marker_size
        Tick colour and size.
    figsize : (float, float)
        When no ``ax`` is given.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from neurodecode.data import SpikeTrains
    >>> ax = plot_raster(SpikeTrains.from_list([[0.1, 0.5], [0.3]]), (0, 1), order=[1, 0])
    >>> ax.get_ylabel()
    'unit (sorted)'
    """
    trains = getattr(spikes, "spikes", spikes)
    if window is None:
        window = trains.time_range()
    t0, t1 = float(window[0]), float(window[1])
    if not t1 > t0:
        raise ValueError(f"plot_raster: empty `window` {window!r}.")
    sorted_rows = order is not None
    order = np.arange(trains.n_units) if order is None else np.asarray(order, dtype=np.int64)
    if order.size and (order.min() < 0 or order.max() >= trains.n_units):
        raise ValueError(f"plot_raster: `order` holds unit positions in [0, {trains.n_units}).")
    _, ax = _new_axes(ax, figsize)
    xs, ys = [], []
    for row, u in enumerate(order):
        train = trains[int(u)]
        lo, hi = np.searchsorted(train, [t0, t1])
        xs.append(train[lo:hi])
        ys.append(np.full(hi - lo, order.size - 1 - row))
    if xs:
        ax.scatter(np.concatenate(xs), np.concatenate(ys), s=marker_size, c=color, marker="|",
                   linewidths=0.8)
    ax.set_xlim(t0, t1)
    ax.set_ylim(-0.5, max(order.size, 1) - 0.5)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("unit (sorted)" if sorted_rows else "unit")
    return ax


def plot_decoded_trace(time, y_true, y_pred, *, ax=None, window=None, label: str = "position",
                       units: str = "", figsize=(8, 3)):
    """True and decoded values of a variable against time.

    Parameters
    ----------
    time : array_like, shape (n,)
        Seconds (bin centres). Gaps (e.g. bins left out when the animal is still)
        are drawn as breaks in the lines.
    y_true, y_pred : array_like, shape (n,)
    ax : matplotlib Axes, optional
    window : (float, float), optional
        Seconds to show.
    label, units : str
        Axis label, e.g. ``"position"``, ``"cm"``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> t = np.arange(10) * 0.2
    >>> ax = plot_decoded_trace(t, np.sin(t), np.sin(t) + 0.1, units="cm")
    >>> [line.get_label() for line in ax.get_lines()]
    ['true', 'decoded']
    """
    time = np.asarray(time, dtype=np.float64).reshape(-1)
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if not time.size == y_true.size == y_pred.size:
        raise ValueError("plot_decoded_trace: `time`, `y_true` and `y_pred` differ in length.")
    if window is not None:
        keep = (time >= window[0]) & (time <= window[1])
        time, y_true, y_pred = time[keep], y_true[keep], y_pred[keep]
    _, ax = _new_axes(ax, figsize)
    if time.size > 1:  # break the lines where samples were left out
        step = np.median(np.diff(time))
        breaks = np.flatnonzero(np.diff(time) > 1.5 * step) + 1
        time = np.insert(time, breaks, np.nan)
        y_true = np.insert(y_true, breaks, np.nan)
        y_pred = np.insert(y_pred, breaks, np.nan)
    ax.plot(time, y_true, color="0.3", lw=1.5, label="true")
    ax.plot(time, y_pred, color="tab:red", lw=1.0, label="decoded")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{label} ({units})" if units else label)
    ax.legend(loc="upper right", frameon=False, fontsize="small")
    return ax


def plot_decoding_summary(spikes, time, y_true, y_pred, *, window=None, order=None, path=None,
                          title: str | None = None, label: str = "position", units: str = "",
                          dpi: int = 120, figsize=(9, 6)):
    """Raster above true-vs-decoded trace, sharing the time axis; optionally saved.

    Parameters
    ----------
    spikes : SpikeTrains or Session
    time, y_true, y_pred : array_like, shape (n,)
        Held-out decoded values at bin centres.
    window : (float, float), optional
        Seconds shown; default the first 60 s of ``time``.
    order : array_like of int, optional
        Raster row order (see :func:`plot_raster`).
    path : str or Path, optional
        Save the figure here (PNG, PDF or SVG by suffix), atomically.
    title, label, units, dpi, figsize
        Presentation.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from neurodecode.data import SpikeTrains
    >>> t = np.arange(50) * 0.2
    >>> fig = plot_decoding_summary(SpikeTrains.from_list([[1.0, 2.0], [3.0]]), t, t, t + 1)
    >>> len(fig.axes)
    2
    """
    from matplotlib.figure import Figure

    time = np.asarray(time, dtype=np.float64).reshape(-1)
    if window is None:
        window = (float(time.min()), float(min(time.max(), time.min() + 60.0)))
    fig = Figure(figsize=figsize, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    plot_raster(spikes, window, order=order, ax=top)
    top.set_xlabel("")
    plot_decoded_trace(time, y_true, y_pred, ax=bottom, window=window, label=label, units=units)
    bottom.set_xlim(*window)
    if title:
        fig.suptitle(title)
    if path is not None:
        _save(fig, path, dpi)
    return fig
