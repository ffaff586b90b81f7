"""Cross-validation that respects time: contiguous folds with a gap, held-out groups.

Neighbouring time bins are correlated (behaviour is smooth, firing rates too), so
shuffled K-fold leaks the test set into training and flatters every decoder.
:class:`ContiguousKFold` cuts the samples into blocks in time order and can drop
a ``gap`` of samples on each side of the test block; :class:`HeldOutGroups`
holds out whole groups (trials, laps, stimulus repeats). Both are scikit-learn
splitters. :func:`cross_val_predict` returns every sample's held-out prediction.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from sklearn.base import clone

__all__ = ["ContiguousKFold", "HeldOutGroups", "cross_val_predict", "fold_scores"]


def _n_samples(X) -> int:
    if isinstance(X, xr.DataArray):
        return int(X.sizes[X.dims[0]])
    return int(np.shape(X)[0])


class ContiguousKFold:
    """K folds of consecutive samples, in time order, with an optional gap.

    Fold ``k`` tests on the ``k``-th block of consecutive samples and trains on the
    rest, minus ``gap`` samples on each side of the test block.

    Parameters
    ----------
    n_splits : int
        Number of folds (>= 2).
    gap : int
        Samples dropped from training on each side of the test block, so that
        training bins never touch test bins (use about the autocorrelation time of
        the decoded variable, in bins).

    Examples
    --------
    >>> cv = ContiguousKFold(3, gap=1)
    >>> [(tr.tolist(), te.tolist()) for tr, te in cv.split(np.zeros((6, 2)))]
    [([3, 4, 5], [0, 1]), ([0, 5], [2, 3]), ([0, 1, 2], [4, 5])]
    """

    def __init__(self, n_splits: int = 5, *, gap: int = 0):
        self.n_splits = n_splits
        self.gap = gap

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return int(self.n_splits)

    def split(self, X, y=None, groups=None):
        """Yield ``(train_index, test_index)`` over the first dim of ``X``."""
        n_splits, gap = int(self.n_splits), int(self.gap)
        if n_splits < 2:
            raise ValueError(f"ContiguousKFold: `n_splits` must be >= 2, got {self.n_splits}.")
        if gap < 0:
            raise ValueError(f"ContiguousKFold: `gap` must be >= 0, got {self.gap}.")
        n = _n_samples(X)
        if n < n_splits:
            raise ValueError(f"ContiguousKFold: {n} samples cannot make {n_splits} folds.")
        bounds = np.linspace(0, n, n_splits + 1).round().astype(np.int64)
        index = np.arange(n)
        for k in range(n_splits):
            lo, hi = bounds[k], bounds[k + 1]
            train = index[(index < lo - gap) | (index >= hi + gap)]
            if train.size == 0:
                raise ValueError(f"ContiguousKFold: fold {k} has no training sample left "
                                 f"(gap={gap} with {n} samples).")
            yield train, index[lo:hi]

    def __repr__(self) -> str:
        return f"ContiguousKFold(n_splits={self.n_splits}, gap={self.gap})"


class HeldOutGroups:
    """Hold out whole groups: leave-one-group-out, or K folds of consecutive groups.

    Groups are taken in order of first appearance (time order for laps, trials or
    stimulus repeats). With ``n_splits=None`` every group is one test fold.

    Parameters
    ----------
    n_splits : int, optional
        Number of folds; each holds out a run of consecutive groups.

    Examples
    --------
    >>> groups = [0, 0, 1, 1, 2, 2]
    >>> [te.tolist() for _, te in HeldOutGroups().split(np.zeros(6), groups=groups)]
    [[0, 1], [2, 3], [4, 5]]
    """

    def __init__(self, n_splits: int | None = None):
        self.n_splits = n_splits

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        if self.n_splits is not None:
            return int(self.n_splits)
        if groups is None:
            raise ValueError("HeldOutGroups: `groups` is needed to count the folds.")
        return int(np.unique(np.asarray(groups)).size)

    def split(self, X, y=None, groups=None):
        """Yield ``(train_index, test_index)``; ``groups`` has one label per sample."""
        if groups is None:
            raise ValueError("HeldOutGroups: pass `groups` (one label per sample, e.g. the "
                             "lap or repeat of each bin).")
        groups = np.asarray(groups).reshape(-1)
        if groups.size != _n_samples(X):
            raise ValueError(f"HeldOutGroups: `groups` has {groups.size} labels for "
                             f"{_n_samples(X)} samples.")
        labels, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
        rank = np.empty(labels.size, dtype=np.int64)
        rank[np.argsort(first)] = np.arange(labels.size)
        order = rank[inverse]  # each sample's group, numbered by first appearance
        n_groups = labels.size
        n_splits = n_groups if self.n_splits is None else int(self.n_splits)
        if not 2 <= n_splits <= n_groups:
            raise ValueError(f"HeldOutGroups: {n_groups} groups cannot make {n_splits} folds "
                             "(need 2 <= n_splits <= number of groups).")
        bounds = np.linspace(0, n_groups, n_splits + 1).round().astype(np.int64)
        for k in range(n_splits):
            test = (order >= bounds[k]) & (order < bounds[k + 1])
            yield np.flatnonzero(~test), np.flatnonzero(test)

    def __repr__(self) -> str:
        return f"HeldOutGroups(n_splits={self.n_splits})"


def _take(data, index):
    if isinstance(data, xr.DataArray):
        return data.isel({data.dims[0]: index})
    if isinstance(data, str) or data is None:
        return data
    return np.asarray(data)[index]


def cross_val_predict(estimator, X, y, *, cv=5, groups=None, method: str = "predict"):
    """Held-out predictions for every sample: fit on the other folds, predict this one.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Cloned for each fold.
    X : DataArray or ndarray, shape (n_samples, ...)
        Folds split the first dim (``time``, or ``trial`` for aligned tensors).
    y : ndarray, DataArray or str
        Targets, or the name of a coord of ``X``.
    cv : int or splitter
        An int means :class:`ContiguousKFold` with that many folds (never shuffled).
    groups : array_like or str, optional
        Group labels for group splitters, or the name of a coord of ``X``.
    method : str
        Estimator method to call on each test fold (``"predict"``,
        ``"predict_proba"``).

    Returns
    -------
    predictions : ndarray or DataArray
        Same sample layout as ``X``; a DataArray (with a ``fold`` coord on the first
        dim) when ``X`` is one, otherwise an ndarray.
    folds : ndarray of int, shape (n_samples,)
        Test fold of each sample (-1 where a splitter tests it in no fold; those
        predictions are NaN).

    Examples
    --------
    >>> from neurodecode.decoders.baselines import RidgeDecoder
    >>> rng = np.random.default_rng(0)
    >>> y = np.sin(np.linspace(0, 20, 400))
    >>> X = rng.poisson(np.c_[5 + 4 * y, 5 - 4 * y])
    >>> pred, folds = cross_val_predict(RidgeDecoder(), X, y, cv=4)
    >>> pred.shape, np.bincount(folds).tolist()
    ((400,), [100, 100, 100, 100])
    """
    splitter = ContiguousKFold(int(cv)) if isinstance(cv, (int, np.integer)) else cv
    if isinstance(groups, str):
        if not isinstance(X, xr.DataArray) or groups not in X.coords:
            raise ValueError(f"`groups`={groups!r} names no coord of `X`.")
        groups = X.coords[groups].values
    if isinstance(y, str):
        if not isinstance(X, xr.DataArray) or y not in X.coords:
            raise ValueError(f"`y`={y!r} names no coord of `X`.")
        y = X.coords[y]
    n = _n_samples(X)
    folds = np.full(n, -1, dtype=np.int64)
    pieces = {}
    for k, (train, test) in enumerate(splitter.split(X, y, groups)):
        model = clone(estimator).fit(_take(X, train), _take(y, train))
        pieces[k] = (test, getattr(model, method)(_take(X, test)))
        folds[test] = k
    if not pieces:
        raise ValueError("cross_val_predict: the splitter produced no fold.")
    first = next(iter(pieces.values()))[1]
    if isinstance(first, xr.DataArray):
        if (folds < 0).any():
            raise ValueError("cross_val_predict: the splitter tests only some samples; with a "
                             "DataArray `X` every sample must be in one test fold (pass "
                             "X.values to get NaN for the untested ones).")
        dim = first.dims[0]
        order = np.argsort(np.concatenate([t for t, _ in pieces.values()]), kind="stable")
        out = xr.concat([p for _, p in pieces.values()], dim=dim).isel({dim: order})
        return out.assign_coords(fold=(dim, folds)), folds
    first = np.asarray(first)
    fill = np.nan if first.dtype.kind in "fc" else None
    out = np.empty((n,) + first.shape[1:], dtype=first.dtype if fill is None else np.float64)
    if fill is not None:
        out[:] = np.nan
    elif (folds < 0).any():
        out = out.astype(object)
    for test, pred in pieces.values():
        out[test] = np.asarray(pred)
    return out, folds


def fold_scores(metric, y_true, y_pred, folds) -> np.ndarray:
    """``metric(y_true, y_pred)`` on each fold's samples, shape (n_folds,).

    Examples
    --------
    >>> from neurodecode.metrics.decoding import median_absolute_error
    >>> fold_scores(median_absolute_error, [0, 0, 1, 1], [1, 1, 1, 3], [0, 0, 1, 1]).tolist()
    [1.0, 1.0]
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    folds = np.asarray(folds).reshape(-1)
    if y_true.shape[0] != folds.size or y_pred.shape[0] != folds.size:
        raise ValueError("fold_scores: `y_true`, `y_pred` and `folds` need one entry per sample.")
    return np.array([metric(y_true[folds == k], y_pred[folds == k])
                     for k in np.unique(folds[folds >= 0])])
