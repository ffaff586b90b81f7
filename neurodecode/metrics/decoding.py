"""Decoding metrics: errors of continuous estimates and accuracy of labels (pure functions).

Every function takes ``y_true`` and ``y_pred`` as arrays or DataArrays of the
same shape (one row per sample; a trailing output dim is allowed where noted)
and returns a float. Samples where either is NaN are dropped, and an error
says so when none is left. Circular variables (head direction, phase) take
``period=`` so that errors wrap.
"""

from __future__ import annotations

import numpy as np

__all__ = ["decoding_errors", "median_absolute_error", "mean_absolute_error", "mean_error",
           "root_mean_squared_error", "r2_score", "accuracy", "balanced_accuracy"]


def _paired(y_true, y_pred, *, numeric: bool = True) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y_true)
    b = np.asarray(y_pred)
    if a.shape != b.shape:
        raise ValueError(f"decoding metric: `y_true` has shape {a.shape} but `y_pred` has "
                         f"shape {b.shape}; expected the same shape.")
    if a.size == 0:
        raise ValueError("decoding metric: `y_true` and `y_pred` are empty.")
    if numeric:
        a = a.astype(np.float64)
        b = b.astype(np.float64)
        a = a.reshape(a.shape[0], -1) if a.ndim > 1 else a
        b = b.reshape(b.shape[0], -1) if b.ndim > 1 else b
        ok = ~(np.isnan(a) | np.isnan(b))
        if ok.ndim > 1:
            ok = ok.all(axis=1)
        if not ok.any():
            raise ValueError("decoding metric: no sample where both `y_true` and `y_pred` "
                             "are finite.")
        return a[ok], b[ok]
    return a.reshape(-1), b.reshape(-1)


def decoding_errors(y_true, y_pred, *, period: float | None = None) -> np.ndarray:
    """Signed errors ``y_pred - y_true`` per sample, wrapped into ``[-period/2, period/2)``.

    For multi-dimensional outputs (shape ``(n, d)``) the Euclidean distance is returned.

    Examples
    --------
    >>> decoding_errors([0.0, 350.0], [10.0, 5.0], period=360.0).tolist()
    [10.0, 15.0]
    """
    a, b = _paired(y_true, y_pred)
    err = b - a
    if period is not None:
        err = (err + period / 2) % period - period / 2
    if err.ndim > 1:
        return np.sqrt((err ** 2).sum(axis=1))
    return err


def median_absolute_error(y_true, y_pred, *, period: float | None = None) -> float:
    """Median of ``|y_pred - y_true|`` (Euclidean distance for vector outputs).

    Examples
    --------
    >>> median_absolute_error([0, 10, 20], [1, 13, 10])
    3.0
    """
    return float(np.median(np.abs(decoding_errors(y_true, y_pred, period=period))))


def mean_absolute_error(y_true, y_pred, *, period: float | None = None) -> float:
    """Mean of ``|y_pred - y_true|`` (Euclidean distance for vector outputs).

    Examples
    --------
    >>> mean_absolute_error([0, 10, 20], [1, 13, 10])
    4.666666666666667
    """
    return float(np.mean(np.abs(decoding_errors(y_true, y_pred, period=period))))


def mean_error(y_true, y_pred, *, period: float | None = None) -> float:
    """Mean signed error ``mean(y_pred - y_true)``: the bias of a 1-D decoder.

    Examples
    --------
    >>> mean_error([0, 10, 20], [1, 13, 10])
    -2.0
    """
    a, b = _paired(y_true, y_pred)
    if a.ndim > 1:
        raise ValueError("mean_error: needs a 1-D variable; use mean_absolute_error for vectors.")
    return float(np.mean(decoding_errors(a, b, period=period)))


def root_mean_squared_error(y_true, y_pred, *, period: float | None = None) -> float:
    """Root of the mean squared error (Euclidean for vector outputs).

    Examples
    --------
    >>> root_mean_squared_error([0, 0], [3, 4])
    3.5355339059327378
    """
    return float(np.sqrt(np.mean(decoding_errors(y_true, y_pred, period=period) ** 2)))


def r2_score(y_true, y_pred) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot``, averaged over outputs.

    Computed on held-out predictions, it can be negative (worse than the mean of
    ``y_true``). A constant ``y_true`` gives NaN.

    Examples
    --------
    >>> r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.5
    """
    a, b = _paired(y_true, y_pred)
    a = a.reshape(a.shape[0], -1)
    b = b.reshape(b.shape[0], -1)
    ss_res = ((a - b) ** 2).sum(axis=0)
    ss_tot = ((a - a.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)
    return float(np.mean(r2))


def accuracy(y_true, y_pred) -> float:
    """Fraction of samples whose predicted label equals the true one.

    Examples
    --------
    >>> accuracy(["a", "b", "b", "c"], ["a", "b", "c", "c"])
    0.75
    """
    a, b = _paired(y_true, y_pred, numeric=False)
    return float(np.mean(a == b))


def balanced_accuracy(y_true, y_pred) -> float:
    """Mean over true classes of the fraction of that class predicted correctly.

    Chance level is ``1 / n_classes`` whatever the class frequencies.

    Examples
    --------
    >>> balanced_accuracy([0, 0, 0, 1], [0, 0, 0, 0])
    0.5
    """
    a, b = _paired(y_true, y_pred, numeric=False)
    classes = np.unique(a)
    return float(np.mean([np.mean(b[a == c] == c) for c in classes]))
