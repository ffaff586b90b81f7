"""Decoding metrics against scikit-learn and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics as skm
import xarray as xr

from neurodecode.metrics.decoding import (
    accuracy,
    balanced_accuracy,
    decoding_errors,
    mean_absolute_error,
    mean_error,
    median_absolute_error,
    r2_score,
    root_mean_squared_error,
)


@pytest.fixture
def pair(rng):
    y = rng.normal(size=200)
    return y, y + rng.normal(scale=0.5, size=200)


def test_against_sklearn(pair):
    y, p = pair
    assert median_absolute_error(y, p) == pytest.approx(skm.median_absolute_error(y, p))
    assert mean_absolute_error(y, p) == pytest.approx(skm.mean_absolute_error(y, p))
    assert root_mean_squared_error(y, p) == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert r2_score(y, p) == pytest.approx(skm.r2_score(y, p))
    assert mean_error(y, p) == pytest.approx(np.mean(p - y))
    Y, P = np.c_[y, 2 * y], np.c_[p, 2 * p + 1]
    assert r2_score(Y, P) == pytest.approx(skm.r2_score(Y, P))


def test_labels_against_sklearn(rng):
    y = rng.integers(0, 4, 300)
    p = np.where(rng.uniform(size=300) < 0.6, y, rng.integers(0, 4, 300))
    assert accuracy(y, p) == pytest.approx(skm.accuracy_score(y, p))
    assert balanced_accuracy(y, p) == pytest.approx(skm.balanced_accuracy_score(y, p))
    assert accuracy(np.array(["a", "b"]), np.array(["a", "a"])) == 0.5


def test_vector_outputs_use_euclidean_distance():
    y = np.zeros((2, 2))
    p = np.array([[3.0, 4.0], [6.0, 8.0]])
    assert decoding_errors(y, p).tolist() == [5.0, 10.0]
    assert median_absolute_error(y, p) == 7.5
    with pytest.raises(ValueError, match="1-D"):
        mean_error(y, p)


def test_circular_errors_wrap():
    assert mean_absolute_error([350.0, 10.0], [10.0, 350.0], period=360.0) == 20.0
    assert mean_error([350.0], [10.0], period=360.0) == 20.0
    assert median_absolute_error([0.1], [2 * np.pi - 0.1], period=2 * np.pi) == pytest.approx(0.2)


def test_nan_samples_dropped_and_dataarrays_accepted():
    y = xr.DataArray([0.0, 1.0, np.nan, 3.0], dims="time")
    p = xr.DataArray([1.0, 1.0, 5.0, np.nan], dims="time")
    assert mean_absolute_error(y, p) == 0.5
    with pytest.raises(ValueError, match="no sample"):
        mean_absolute_error([np.nan], [1.0])


def test_r2_is_negative_when_worse_than_the_mean_and_nan_for_constant_truth():
    assert r2_score([0.0, 1.0, 2.0], [2.0, 1.0, 0.0]) == pytest.approx(-3.0)
    assert np.isnan(r2_score([1.0, 1.0], [1.0, 2.0]))


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match="shape"):
        median_absolute_error([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])
