"""Figures for bi-clustering: MCMC trace plots and the bi-cluster raster.

matplotlib is imported inside each function, so importing this module is cheap.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_traces", "plot_bicluster_raster"]


def plot_traces(trace: dict, names=None, burn_in: int | None = None, axes=None):
    """Trace plots of scalar MCMC quantities, one panel per quantity, one line per chain.

    Parameters
    ----------
    trace : dict of ndarray, shape (n_chains, n_iter)
        E.g. ``BayesianBiclustering.trace_`` (``n_clusters``, ``n_states``, ``loglik``).
    names : list of str, optional
        Which entries to draw; default all.
    burn_in : int, optional
        Draw a vertical line at the end of burn-in.
    axes : array of matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_traces({"loglik": np.random.default_rng(0).normal(size=(2, 50))}, burn_in=25)
    >>> len(fig.axes)
    1
    """
    import matplotlib.pyplot as plt

    names = list(trace) if names is None else list(names)
    missing = [n for n in names if n not in trace]
    if missing:
        raise KeyError(f"`trace` has no entries {missing}; it has {sorted(trace)}.")
    if axes is None:
        fig, axes = plt.subplots(len(names), 1, figsize=(8, 2.2 * len(names)), sharex=True,
                                 squeeze=False)
        axes = axes[:, 0]
    else:
        axes = np.atleast_1d(axes)
        fig = axes[0].figure
    for ax, name in zip(axes, names, strict=False):
        values = np.atleast_2d(np.asarray(trace[name], float))
        for c, chain in enumerate(values):
            ax.plot(chain, lw=0.8, label=f"chain {c}")
        if burn_in is not None:
            ax.axvline(burn_in, color="k", ls="--", lw=0.8)
        ax.set_ylabel(name)
    axes[-1].set_xlabel("iteration")
    if len(np.atleast_2d(np.asarray(trace[names[0]]))) > 1:
        axes[0].legend(loc="upper right", fontsize="small", ncol=4)
    return fig


def plot_bicluster_raster(counts, neuron_labels, time_states, time=None, ax=None,
                          cmap: str = "Greys", state_cmap: str = "tab10"):
    """Spike counts with neurons sorted by cluster, and a strip of time bins coloured by state.

    Parameters
    ----------
    counts : xr.DataArray ("time", "unit") or ndarray (n_time, n_units)
    neuron_labels : array of int, shape (n_units,)
        Neuron clusters (e.g. ``model.labels_``).
    time_states : array of int, shape (n_time,)
        State of each bin (e.g. ``model.states_``).
    time : array, shape (n_time,), optional
        Bin times for the x axis; default the ``time`` coord or bin index.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> ax = plot_bicluster_raster(np.eye(4, 3, dtype=int), [1, 0, 1], [0, 0, 1, 1])
    >>> ax.get_ylabel()
    'neuron (sorted by cluster)'
    """
    import matplotlib.pyplot as plt

    values = np.asarray(counts)
    if time is None and hasattr(counts, "coords") and "time" in counts.coords:
        time = counts["time"].values
    labels = np.asarray(neuron_labels)
    states = np.asarray(time_states)
    if values.ndim != 2 or values.shape != (len(states), len(labels)):
        raise ValueError(f"`counts` has shape {values.shape}; expected (n_time, n_units) = "
                         f"({len(states)}, {len(labels)}) to match `time_states` and "
                         "`neuron_labels`.")
    time = np.arange(len(states)) if time is None else np.asarray(time, float)
    order = np.argsort(labels, kind="stable")
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
    step = np.median(np.diff(time)) if len(time) > 1 else 1.0
    edges = np.append(time - step / 2, time[-1] + step / 2)
    from matplotlib.patches import Patch, Rectangle

    colors = plt.get_cmap(state_cmap)
    # the states as a coloured strip above the neurons (a background under the counts
    # would be hidden by them); one patch per run of equal states
    strip = max(1.0, len(labels) / 12)
    change = np.flatnonzero(np.diff(states)) + 1
    starts, stops = np.r_[0, change], np.r_[change, len(states)]
    for a, b in zip(starts, stops, strict=True):
        ax.add_patch(Rectangle((edges[a], -strip), edges[b] - edges[a], strip, lw=0,
                               color=colors(int(states[a]) % colors.N)))
    # colour scale clipped at the 99th percentile: a few bursts would otherwise wash it out
    vmax = max(float(np.percentile(values, 99)), 1.0) if values.size else 1.0
    ax.pcolormesh(edges, np.arange(len(labels) + 1), values[:, order].T, cmap=cmap,
                  shading="flat", vmin=0.0, vmax=vmax)
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    for y in bounds:
        ax.axhline(y, color="tab:red", lw=1.0)
    ax.legend(handles=[Patch(color=colors(int(k) % colors.N), label=f"state {k}")
                       for k in np.unique(states)],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("time (s)" if hasattr(counts, "coords") else "time bin")
    ax.set_ylabel("neuron (sorted by cluster)")
    ax.set_ylim(len(labels), -strip)
    return ax
