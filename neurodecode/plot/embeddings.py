"""Embedding figures: 2-D/3-D point clouds coloured by a label, loss curves, consistency.

Functions draw on a given matplotlib ``Axes`` or make their own ``Figure``
(matplotlib is imported inside them; no pyplot) and return the ``Axes``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["plot_embedding", "plot_loss", "plot_consistency", "save_figure"]


def _figure(figsize):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def save_figure(fig, path, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` atomically (format from the suffix)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from neurodecode.utils.atomic import atomic_path

    path = Path(path)
    FigureCanvasAgg(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png")
    return path


def plot_embedding(Z, color=None, *, dims=(0, 1, 2), ax=None, cmap: str = "viridis",
                   size: float = 2.0, max_points: int | None = 20000, colorbar: bool = True,
                   label: str | None = None, random_state=0):
    """Scatter of an embedding in 2-D or 3-D, coloured by a label.

    Parameters
    ----------
    Z : array or DataArray ("time", "latent"), shape (n_samples, n_dims)
    color : array (n_samples,), optional
        Label per sample (position, time, class…); default the sample index.
    dims : tuple of 2 or 3 int
        Embedding dimensions to draw; three give a 3-D axes.
    ax : matplotlib Axes, optional
        Must be a 3-D axes for three dims.
    cmap, size : colour map and marker size
    max_points : int or None
        Draw a random subset of at most this many points (None: all).
    colorbar : bool
    label : str, optional
        Colour-bar label.
    random_state : int

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> t = np.linspace(0, 6, 200)
    >>> ax = plot_embedding(np.c_[np.cos(t), np.sin(t), t], color=t, label="time (s)")
    >>> ax.name
    '3d'
    """
    values = np.asarray(Z.values if isinstance(Z, xr.DataArray) else Z, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"`Z` must be (n_samples, n_dims); got shape {values.shape}.")
    dims = tuple(dims)
    if len(dims) not in (2, 3):
        raise ValueError(f"`dims` must name 2 or 3 embedding dimensions; got {dims}.")
    if values.shape[1] < len(dims) and len(dims) == 3 and values.shape[1] == 2:
        dims = dims[:2]
    if max(dims) >= values.shape[1]:
        raise ValueError(f"`dims` {dims} out of range for a {values.shape[1]}-D embedding.")
    c = np.arange(len(values)) if color is None else np.asarray(color).ravel()
    if len(c) != len(values):
        raise ValueError(f"`color` has {len(c)} values for {len(values)} samples.")
    keep = np.arange(len(values))
    if max_points is not None and len(values) > max_points:
        keep = np.sort(np.random.default_rng(random_state).choice(len(values), max_points,
                                                                  replace=False))
    if ax is None:
        fig = _figure((5, 4.5))
        ax = fig.add_subplot(projection="3d" if len(dims) == 3 else None)
    pts = [values[keep, d] for d in dims]
    if c.dtype.kind in "OUSb":
        codes, c = np.unique(c, return_inverse=True)
    art = ax.scatter(*pts, c=c[keep], s=size, cmap=cmap, linewidths=0)
    for setter, d in zip((ax.set_xlabel, ax.set_ylabel, getattr(ax, "set_zlabel", None)),
                         dims, strict=False):
        if setter is not None:
            setter(f"latent {d}")
    if colorbar:
        cb = ax.figure.colorbar(art, ax=ax, shrink=0.7)
        if label:
            cb.set_label(label)
    return ax


def plot_loss(history, *, validation=None, ax=None, smooth: int = 1, label: str = "train"):
    """Training loss per step, optionally with the validation loss.

    Parameters
    ----------
    history : array (n_steps,) or a fitted ContrastiveEmbedding
        Loss per step; a fitted model supplies ``loss_history_`` and
        ``validation_history_``.
    validation : array (n, 2), optional
        ``(step, loss)`` rows.
    ax : matplotlib Axes, optional
    smooth : int
        Moving-average window (steps) of the training curve.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> ax = plot_loss(np.linspace(6, 5, 100), validation=np.array([[50, 5.6], [100, 5.2]]))
    >>> len(ax.lines)
    2
    """
    if hasattr(history, "loss_history_"):
        validation = history.validation_history_ if validation is None else validation
        history = history.loss_history_
    loss = np.asarray(history, dtype=np.float64).ravel()
    if loss.size == 0:
        raise ValueError("`history` is empty: nothing to plot.")
    if smooth > 1 and loss.size >= smooth:
        loss = np.convolve(loss, np.ones(smooth) / smooth, mode="valid")
    if ax is None:
        ax = _figure((5, 3)).add_subplot()
    steps = np.arange(1, loss.size + 1) + (smooth - 1 if smooth > 1 else 0)
    ax.plot(steps, loss, lw=1, label=label)
    if validation is not None and len(validation):
        v = np.asarray(validation, dtype=np.float64).reshape(-1, 2)
        ax.plot(v[:, 0], v[:, 1], "o-", ms=3, label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("InfoNCE loss")
    ax.legend(frameon=False)
    return ax


def plot_consistency(matrix, *, ax=None, cmap: str = "magma", vmin: float = 0.0,
                     vmax: float = 1.0, annotate: bool = True):
    """Heat map of a consistency matrix (R^2 of linear maps between embeddings).

    Parameters
    ----------
    matrix : DataArray ("source", "target") or 2-D array
        As returned by :func:`neurodecode.metrics.embedding.consistency_matrix`.
    ax : matplotlib Axes, optional
    cmap, vmin, vmax : colour scale
    annotate : bool
        Write the values into the cells.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> ax = plot_consistency(np.array([[np.nan, 0.9], [0.8, np.nan]]))
    >>> [t.get_text() for t in ax.texts]
    ['0.90', '0.80']
    """
    values = np.asarray(matrix.values if isinstance(matrix, xr.DataArray) else matrix,
                        dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(f"`matrix` must be square; got shape {values.shape}.")
    names = ([str(n) for n in matrix["source"].values] if isinstance(matrix, xr.DataArray)
             and "source" in matrix.coords else [str(i) for i in range(len(values))])
    if ax is None:
        ax = _figure((4, 3.5)).add_subplot()
    im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("target")
    ax.set_ylabel("source")
    if annotate:
        for i in range(len(values)):
            for j in range(len(values)):
                if np.isfinite(values[i, j]):
                    ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center",
                            color="w" if values[i, j] < (vmin + vmax) / 2 else "k",
                            fontsize=8)
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label="R$^2$")
    return ax
