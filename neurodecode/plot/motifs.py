"""Figures for spiking motifs: learned vs true kernels, detection raster, pruning curve.

matplotlib is imported inside each function.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_motif_kernels", "plot_motif_detections", "plot_pruning_curve"]


def plot_motif_kernels(learned, true=None, *, bin_size: float | None = None, motifs=None,
                       cmap: str = "RdBu_r", axes=None):
    """Kernels as (unit × delay) images: one column per motif, learned above true.

    Parameters
    ----------
    learned : array (n_motifs, n_units, n_delays)
    true : array (n_motifs, n_units, n_delays), optional
        Ground truth, drawn in a second row (pair motifs first, e.g. with
        :func:`neurodecode.metrics.events.kernel_correlation`).
    bin_size : float, optional
        Seconds per delay bin, to label the delay axis in ms.
    motifs : sequence of int, optional
        Which motifs to draw (default all).
    axes : array of Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    learned = np.asarray(learned, dtype=float)
    if learned.ndim != 3:
        raise ValueError(f"`learned` must be (n_motifs, n_units, n_delays), got {learned.shape}")
    if true is not None and np.shape(true)[1:] != learned.shape[1:]:
        raise ValueError(f"`true` {np.shape(true)} and `learned` {learned.shape} differ in units "
                         "or delays")
    motifs = list(range(learned.shape[0])) if motifs is None else list(motifs)
    n_rows = 1 if true is None else 2
    if axes is None:
        fig, axes = plt.subplots(n_rows, len(motifs), figsize=(2.6 * len(motifs), 2.6 * n_rows),
                                 squeeze=False)
    else:
        axes = np.asarray(axes).reshape(n_rows, len(motifs))
        fig = axes.flat[0].figure
    d = learned.shape[2]
    scale = 1.0 if bin_size is None else bin_size * 1e3
    extent = (-0.5 * scale, (d - 0.5) * scale, learned.shape[1] - 0.5, -0.5)
    for col, m in enumerate(motifs):
        for row, (kern, name) in enumerate([(learned, "learned"), (true, "true")][:n_rows]):
            k = np.asarray(kern, dtype=float)[m]
            lim = np.abs(k).max() or 1.0
            ax = axes[row, col]
            ax.imshow(k, aspect="auto", cmap=cmap, vmin=-lim, vmax=lim, extent=extent,
                      interpolation="nearest")
            ax.set_title(f"motif {m} ({name})", fontsize=9)
            ax.set_xlabel("delay (ms)" if bin_size else "delay (bins)")
            if col == 0:
                ax.set_ylabel("unit")
    fig.tight_layout()
    return fig


def plot_motif_detections(spikes, scores=None, detections=None, labels=None, *, start=None,
                          stop=None, ax=None):
    """Raster of a time window with detected and true onsets, and the scores below.

    Parameters
    ----------
    spikes : xr.DataArray ("time", "unit")
    scores : xr.DataArray ("time", "motif"), optional
        ``decision_function`` output, drawn under the raster.
    detections, labels : xr.DataArray ("time", "motif"), optional
        Detected (triangles) and true (vertical lines) onsets.
    start, stop : float, optional
        Window in seconds (default: the first 2 s).
    ax : Axes, optional
        Axes for the raster (the scores then share them on a twin axis).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if getattr(spikes, "dims", None) != ("time", "unit"):
        raise ValueError("`spikes` must be a ('time', 'unit') DataArray")
    t = spikes["time"].values
    start = t[0] if start is None else start
    stop = min(t[-1], start + 2.0) if stop is None else stop
    sel = (t >= start) & (t <= stop)
    if ax is None:
        n = 2 if scores is not None else 1
        fig, axs = plt.subplots(n, 1, figsize=(9, 4 + 1.5 * (n - 1)), sharex=True,
                                squeeze=False, gridspec_kw={"height_ratios": [3, 1][:n]})
        ax, ax_s = axs[0, 0], (axs[1, 0] if n == 2 else None)
    else:
        fig, ax_s = ax.figure, (ax.twinx() if scores is not None else None)
    ti, ui = np.nonzero(spikes.values[sel])
    ax.scatter(t[sel][ti], ui, s=2, c="k", marker="|")
    colors = plt.get_cmap("tab10")
    for arr, kind in ((labels, "true"), (detections, "detected")):
        if arr is None:
            continue
        v = np.asarray(arr.values)[sel]
        for m in range(v.shape[1]):
            times = t[sel][v[:, m] > 0]
            if kind == "true":
                for x in times:
                    ax.axvline(x, color=colors(m % 10), alpha=0.4, lw=1)
            else:
                ax.scatter(times, np.full(len(times), -2), marker="^", color=colors(m % 10),
                           s=30, label=f"motif {m}")
    ax.set_ylabel("unit")
    if detections is not None:
        ax.legend(loc="upper right", fontsize=7, ncol=4)
    if ax_s is not None:
        sv = np.asarray(scores.values)[sel]
        for m in range(sv.shape[1]):
            ax_s.plot(t[sel], sv[:, m], color=colors(m % 10), lw=0.8)
        ax_s.set_ylabel("log-odds")
        ax_s.set_xlabel("time (s)")
    else:
        ax.set_xlabel("time (s)")
    return fig


def plot_pruning_curve(curve, *, ax=None, metric: str = "f1", reference: float | None = None):
    """Detection quality against the number of synapses kept.

    Parameters
    ----------
    curve : DataFrame
        :func:`neurodecode.models.motifs.pruning.pruning_curve` output.
    metric : str
        Column to plot (``"f1"`` or ``"auc"``).
    reference : float, optional
        Horizontal line, e.g. the oracle's F1.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if metric not in curve or "n_synapses" not in curve:
        raise ValueError(f"`curve` needs columns 'n_synapses' and {metric!r}; got "
                         f"{list(curve.columns)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
    else:
        fig = ax.figure
    ax.plot(curve["n_synapses"], curve[metric], "o-")
    ax.set_xscale("log")
    ax.set_xlabel("synapses kept")
    ax.set_ylabel(metric)
    if reference is not None:
        ax.axhline(reference, color="gray", ls="--", lw=1, label="oracle")
        ax.legend()
    fig.tight_layout()
    return fig
