"""Time-respecting cross-validation: contiguous folds, gaps, held-out groups, predictions."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from sklearn.base import BaseEstimator, RegressorMixin

from neurodecode.decoders.baselines import RidgeDecoder
from neurodecode.decoders.cv import ContiguousKFold, HeldOutGroups, cross_val_predict, fold_scores
from neurodecode.metrics.decoding import mean_absolute_error


@pytest.mark.parametrize("n, k, gap", [(10, 2, 0), (103, 5, 3), (50, 7, 1)])
def test_contiguous_folds_partition_in_time_order_with_gap(n, k, gap):
    cv = ContiguousKFold(k, gap=gap)
    tests = []
    for train, test in cv.split(np.zeros((n, 3))):
        assert np.all(np.diff(test) == 1)  # one block
        assert np.intersect1d(train, test).size == 0
        # No training sample within `gap` of the test block.
        if train.size:
            dist = np.minimum(np.abs(train[:, None] - test[None, [0, -1]]).min(axis=1), n)
            assert dist.min() > gap
        assert train.size == n - test.size - (min(gap, test[0]) + min(gap, n - 1 - test[-1]))
        tests.append(test)
    assert np.array_equal(np.concatenate(tests), np.arange(n))
    assert cv.get_n_splits() == k


def test_contiguous_errors():
    with pytest.raises(ValueError, match="n_splits"):
        list(ContiguousKFold(1).split(np.zeros(10)))
    with pytest.raises(ValueError, match="samples"):
        list(ContiguousKFold(5).split(np.zeros(3)))
    with pytest.raises(ValueError, match="no training sample"):
        list(ContiguousKFold(2, gap=10).split(np.zeros(10)))


def test_held_out_groups():
    groups = np.array(["b", "b", "a", "a", "c", "c", "a"])  # order of first appearance: b, a, c
    folds = list(HeldOutGroups().split(np.zeros(7), groups=groups))
    assert [te.tolist() for _, te in folds] == [[0, 1], [2, 3, 6], [4, 5]]
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
    two = list(HeldOutGroups(2).split(np.zeros(7), groups=groups))
    assert len(two) == 2
    assert HeldOutGroups().get_n_splits(groups=groups) == 3
    with pytest.raises(ValueError, match="groups"):
        list(HeldOutGroups().split(np.zeros(7)))
    with pytest.raises(ValueError, match="folds"):
        list(HeldOutGroups(5).split(np.zeros(7), groups=groups))


class _Recorder(BaseEstimator, RegressorMixin):
    """Predicts how many training samples it saw."""

    def fit(self, X, y):
        self.n_seen_ = len(X)
        return self

    def predict(self, X):
        return np.full(len(X), float(self.n_seen_))


def test_cross_val_predict_never_trains_on_test_samples():
    X = np.arange(40.0)[:, None]
    seen = []

    class Spy(_Recorder):
        def fit(self, X, y):
            seen.append(np.asarray(X)[:, 0].copy())
            return super().fit(X, y)

    pred, folds = cross_val_predict(Spy(), X, np.zeros(40), cv=ContiguousKFold(4, gap=2))
    for k, train in enumerate(seen):
        assert not set(train.astype(int)) & set(np.flatnonzero(folds == k))
    assert np.bincount(folds).tolist() == [10, 10, 10, 10]
    # Each fold's prediction = its training-set size: 40 - 10 - gap on the inner sides.
    assert pred.tolist() == [28.0] * 10 + [26.0] * 20 + [28.0] * 10


def test_cross_val_predict_dataarray_and_groups():
    rng = np.random.default_rng(0)
    y = np.sin(np.linspace(0, 30, 600))
    X = xr.DataArray(rng.poisson(np.c_[6 + 5 * y, 6 - 5 * y, np.full(600, 3)]),
                     dims=("time", "unit"),
                     coords={"time": np.arange(600) * 0.1, "unit": [1, 2, 3], "y": ("time", y),
                             "lap": ("time", np.repeat(np.arange(6), 100))},
                     attrs={"bin_size": 0.1})
    pred, folds = cross_val_predict(RidgeDecoder(), X, "y", cv=HeldOutGroups(), groups="lap")
    assert isinstance(pred, xr.DataArray) and pred.dims == ("time",)
    np.testing.assert_array_equal(pred["time"].values, X["time"].values)
    np.testing.assert_array_equal(pred["fold"].values, np.repeat(np.arange(6), 100))
    assert mean_absolute_error(y, pred.values) < 0.35
    scores = fold_scores(mean_absolute_error, y, pred.values, folds)
    assert scores.shape == (6,)
    # numpy input gives the same numbers as a plain array.
    pred_np, _ = cross_val_predict(RidgeDecoder(), X.values, y, cv=HeldOutGroups(),
                                   groups=X["lap"].values)
    np.testing.assert_allclose(pred_np, pred.values)
    # A splitter that tests only some samples: NaN elsewhere for arrays, an error for tensors.
    from sklearn.model_selection import TimeSeriesSplit

    partial, pfolds = cross_val_predict(RidgeDecoder(), X.values, y, cv=TimeSeriesSplit(3))
    assert np.isnan(partial[pfolds < 0]).all() and not np.isnan(partial[pfolds >= 0]).any()
    with pytest.raises(ValueError, match="every sample"):
        cross_val_predict(RidgeDecoder(), X, "y", cv=TimeSeriesSplit(3))


def test_cross_val_predict_posterior():
    from neurodecode.decoders.baselines import PoissonBayesDecoder

    rng = np.random.default_rng(1)
    y = rng.uniform(0, 10, 300)
    X = xr.DataArray(rng.poisson(np.exp(-0.5 * (y[:, None] - np.arange(0, 11, 2)) ** 2) * 4),
                     dims=("time", "unit"),
                     coords={"time": np.arange(300) * 0.1, "unit": np.arange(6)})
    post, folds = cross_val_predict(PoissonBayesDecoder(n_bins=10, value_range=(0, 10)), X, y,
                                    cv=3, method="predict_proba")
    assert post.dims == ("time", "grid") and post.sizes["grid"] == 10
    np.testing.assert_allclose(post.sum("grid").values, 1.0)
    assert np.bincount(folds).tolist() == [100, 100, 100]
