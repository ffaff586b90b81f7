"""Behaviour series resampled onto spike-tensor bins (pure functions)."""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["resample_series", "series_time_dim"]


def series_time_dim(var: xr.DataArray, name: str) -> str:
    """The time dim of a behaviour variable: its first dim, which must carry seconds."""
    if var.ndim == 0:
        raise ValueError(f"behaviour variable {name!r} is a scalar; expected a time series.")
    dim = var.dims[0]
    if dim not in var.coords:
        raise ValueError(f"behaviour variable {name!r}: its first dim {dim!r} has no coordinate; "
                         "expected sample times in seconds.")
    return dim


def resample_series(times, values, centres, bin_size: float, method: str = "mean") -> np.ndarray:
    """Resample a sampled series onto bins given by their centres.

    Parameters
    ----------
    times : ndarray of float, shape (n_samples,)
        Sample times in seconds, ascending.
    values : ndarray of float, shape (n_samples, ...)
        Samples; NaNs are treated as missing.
    centres : ndarray of float, any shape ``S``
        Bin centres in seconds; bins are ``[c - bin_size/2, c + bin_size/2)`` and may
        overlap or come in any order.
    bin_size : float
    method : {"mean", "interp", "nearest"}
        ``"mean"`` averages the samples inside each bin and falls back to linear
        interpolation at the centre for bins with no sample (coarse sampling);
        ``"interp"`` interpolates linearly at the centre; ``"nearest"`` takes the
        closest sample (for labels).

    Returns
    -------
    ndarray of float64, shape ``S + values.shape[1:]``
        NaN where the bin centre lies outside ``[times[0], times[-1]]``.

    Examples
    --------
    >>> resample_series(np.array([0., 1., 2., 3.]), np.array([0., 10., 20., 30.]),
    ...                 np.array([0.75, 2.5]), bin_size=1.0).tolist()
    [10.0, 20.0]
    """
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    if times.ndim != 1 or values.shape[0] != times.size:
        raise ValueError("resample_series: `values` must have one row per entry of `times`.")
    if times.size and np.any(np.diff(times) < 0):
        raise ValueError("resample_series: behaviour sample times must be ascending.")
    if method not in ("mean", "interp", "nearest"):
        raise ValueError(f"resample method must be 'mean', 'interp' or 'nearest', not {method!r}")
    flat_c = centres.reshape(-1)
    trailing = values.shape[1:]
    vals = values.reshape(times.size, -1)
    out = np.full((flat_c.size, vals.shape[1]), np.nan)
    if times.size == 0:
        return out.reshape(centres.shape + trailing)
    inside = (flat_c >= times[0]) & (flat_c <= times[-1])
    if method == "nearest":
        right = np.clip(np.searchsorted(times, flat_c), 1, max(times.size - 1, 1))
        left = right - 1
        pick = np.where(np.abs(times[right] - flat_c) < np.abs(flat_c - times[left]), right, left)
        pick = np.clip(pick, 0, times.size - 1)
        out[inside] = vals[pick[inside]]
        return out.reshape(centres.shape + trailing)
    for j in range(vals.shape[1]):
        ok = ~np.isnan(vals[:, j])
        if ok.sum() == 0:
            continue
        t_ok, v_ok = times[ok], vals[ok, j]
        col = np.interp(flat_c, t_ok, v_ok)
        if method == "mean":
            csum = np.concatenate([[0.0], np.cumsum(v_ok)])
            lo = np.searchsorted(t_ok, flat_c - bin_size / 2, side="left")
            hi = np.searchsorted(t_ok, flat_c + bin_size / 2, side="left")
            n = hi - lo
            has = n > 0
            col[has] = (csum[hi[has]] - csum[lo[has]]) / n[has]
        out[:, j] = col
    out[~inside] = np.nan
    return out.reshape(centres.shape + trailing)
