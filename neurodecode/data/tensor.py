"""The spike-tensor contract: build, validate and convert ``xr.DataArray`` spike counts.

A spike tensor is an ``xarray.DataArray`` of counts with sample dims first and
``unit`` last: ``("time", "unit")`` for continuous data, ``("trial", "time",
"unit")`` for event-aligned data. ``time`` holds bin centres in seconds (relative
to the event when aligned), ``unit`` the unit ids; ``attrs`` carry ``bin_size``,
``session_id`` and ``source``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from neurodecode.errors import SpikeTensorError

__all__ = ["SPIKE_TENSOR_DIMS", "validate_spike_tensor", "spike_tensor_values", "to_pynapple",
           "unit_coords"]

SPIKE_TENSOR_DIMS = (("time", "unit"), ("trial", "time", "unit"))


def validate_spike_tensor(X, *, name: str = "X", dims=None, allow_float: bool = True,
                          min_samples: int = 1) -> xr.DataArray:
    """Check that ``X`` is a spike tensor and return it unchanged.

    Every model and decoder calls this at entry, so a malformed input fails here
    with a message that names the argument and what was expected.

    Parameters
    ----------
    X : xr.DataArray
        Candidate spike tensor.
    name : str
        Argument name used in error messages.
    dims : tuple of str or sequence of tuples, optional
        Accepted dimension orders; default ``("time", "unit")`` and
        ``("trial", "time", "unit")``.
    allow_float : bool
        Accept float values (smoothed rates, dF/F) as well as integer counts.
        Integer counts must be non-negative either way.
    min_samples : int
        Fewest entries along ``time`` (and ``trial``) accepted.

    Returns
    -------
    xr.DataArray
        ``X`` itself.

    Raises
    ------
    SpikeTensorError
        Not a DataArray, wrong dims, missing ``time``/``unit`` coords, NaN or
        infinite values, negative counts, non-positive ``bin_size``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> X = xr.DataArray(np.zeros((4, 2), np.uint8), dims=("time", "unit"),
    ...                  coords={"time": np.arange(4) * 0.1 + 0.05, "unit": [3, 4]},
    ...                  attrs={"bin_size": 0.1})
    >>> validate_spike_tensor(X) is X
    True
    """
    accepted = SPIKE_TENSOR_DIMS if dims is None else (
        (tuple(dims),) if isinstance(dims[0], str) else tuple(tuple(d) for d in dims))
    if not isinstance(X, xr.DataArray):
        raise SpikeTensorError(
            f"`{name}` must be an xarray.DataArray spike tensor with dims "
            f"{' or '.join(map(str, accepted))}; got {type(X).__name__}. "
            "Make one with Session.bin() or Session.align().")
    if tuple(X.dims) not in accepted:
        raise SpikeTensorError(
            f"`{name}` has dims {tuple(X.dims)}; expected {' or '.join(map(str, accepted))} "
            "(sample dims first, 'unit' last). Use X.transpose(..., 'unit') to reorder.")
    for dim in ("time", "unit"):
        if dim in X.dims and dim not in X.coords:
            raise SpikeTensorError(f"`{name}` has no '{dim}' coordinate; expected "
                                   f"{'bin centres in seconds' if dim == 'time' else 'unit ids'}.")
    for dim in X.dims:
        if dim != "unit" and X.sizes[dim] < min_samples:
            raise SpikeTensorError(f"`{name}` has {X.sizes[dim]} entries along '{dim}'; "
                                   f"at least {min_samples} needed.")
    if X.sizes["unit"] == 0:
        raise SpikeTensorError(f"`{name}` has no units.")
    values = X.values
    kind = values.dtype.kind
    if kind not in "uif" or (kind == "f" and not allow_float):
        raise SpikeTensorError(f"`{name}` has dtype {values.dtype}; expected "
                               f"{'numbers' if allow_float else 'integer spike counts'}.")
    if kind == "f" and not np.all(np.isfinite(values)):
        raise SpikeTensorError(f"`{name}` contains NaN or infinite values "
                               f"({int(np.sum(~np.isfinite(values)))} entries).")
    if kind == "i" and values.size and values.min() < 0:
        raise SpikeTensorError(f"`{name}` contains negative spike counts.")
    bin_size = X.attrs.get("bin_size")
    if bin_size is not None and not (np.isscalar(bin_size) and float(bin_size) > 0):
        raise SpikeTensorError(f"`{name}.attrs['bin_size']` must be a positive number of "
                               f"seconds; got {bin_size!r}.")
    return X


def spike_tensor_values(X, *, name: str = "X", dtype=np.float32, dims=None) -> np.ndarray:
    """Values of a spike tensor or array as a numpy array, checked, cast to ``dtype``.

    Accepts a DataArray (validated with :func:`validate_spike_tensor`) or an
    array-like of shape ``(n_samples, n_units)`` / ``(n_trials, n_time, n_units)``;
    ``dims`` (e.g. ``("time", "unit")``) restricts both to that one layout.
    """
    if isinstance(X, xr.DataArray):
        return validate_spike_tensor(X, name=name, dims=dims).values.astype(dtype, copy=False)
    try:
        values = np.asarray(X)
    except Exception as exc:  # pragma: no cover - exotic array-likes
        raise SpikeTensorError(f"`{name}` cannot be converted to an array: {exc}") from exc
    if dims is not None and values.ndim != len(dims):
        raise SpikeTensorError(f"`{name}` has shape {values.shape}; expected one axis per dim "
                               f"of {tuple(dims)}.")
    if values.ndim not in (2, 3):
        raise SpikeTensorError(f"`{name}` has shape {values.shape}; expected (n_samples, n_units)"
                               " or (n_trials, n_time, n_units).")
    if values.dtype.kind not in "uifb":
        raise SpikeTensorError(f"`{name}` has dtype {values.dtype}; expected numbers.")
    values = values.astype(dtype, copy=False)
    if not np.all(np.isfinite(values)):
        raise SpikeTensorError(f"`{name}` contains NaN or infinite values.")
    return values


def unit_coords(units: pd.DataFrame) -> dict:
    """Per-unit coordinates for a spike tensor from a units table (index = unit ids).

    Scalar columns (numbers, strings, booleans) become coords on ``unit``;
    ragged or array-valued columns (waveforms, electrode lists) are left out.
    """
    coords = {}
    for column in units.columns:
        values = units[column].to_numpy()
        if values.dtype == object:
            if not all(v is None or isinstance(v, (str, bytes, int, float, bool, np.generic))
                       for v in values):
                continue
            values = np.array(["" if v is None else (v.decode() if isinstance(v, bytes) else v)
                               for v in values], dtype=object)
            if all(isinstance(v, str) for v in values):
                values = values.astype(str)
        elif values.ndim != 1:
            continue
        coords[str(column)] = ("unit", values)
    return coords


def to_pynapple(X: xr.DataArray):
    """A ``("time", "unit")`` spike tensor as a ``pynapple.TsdFrame`` (columns = unit ids).

    Requires pynapple.
    """
    validate_spike_tensor(X, dims=("time", "unit"))
    try:
        import pynapple as nap
    except ImportError as exc:
        raise ImportError("to_pynapple needs pynapple: pip install pynapple") from exc
    return nap.TsdFrame(t=X["time"].values, d=X.values, columns=X["unit"].values.tolist())
