"""Real data: decode a rat's position on a linear track from 31 hippocampal units.

The recording (nelpy example data, see shared_data/README.md) has 31 units and LED
position in camera pixels; the track runs along x (about 133-554 px). The README's
known baseline: a Poisson naive-Bayes decoder with 200-ms bins, running bins only and
5-fold contiguous cross-validation reaches a median error of roughly 31-59 px in most
folds, against 110-177 px for predicting the mean.

Here, running bins are those whose mean speed (x smoothed with a 0.1-s Gaussian)
exceeds 20 px/s. Measured: decoder 35.6, 30.7, 35.2, 34.5, 45.4 px; predicting the
training mean 124.7, 95.4, 84.8, 76.0, 84.0 px; kNN (k=20) 81.1, 57.4, 52.9, 59.3,
64.2 px. Our mean-prediction errors are lower than the README's because our running
criterion drops the track ends, where the rat pauses. Thresholds: every fold < 60 px
and < 0.6 x that fold's mean-prediction error (kNN: < 0.85 x).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from sklearn.dummy import DummyRegressor

from neurodecode.decoders.baselines import KNNDecoder, PoissonBayesDecoder
from neurodecode.decoders.cv import ContiguousKFold, cross_val_predict, fold_scores
from neurodecode.metrics.decoding import median_absolute_error

BIN_SIZE = 0.2
MIN_SPEED = 20.0  # px/s


@pytest.fixture(scope="module")
def running_bins(shared_data):
    from scipy.ndimage import gaussian_filter1d

    from neurodecode.io import read_nwb

    session = read_nwb(shared_data / "hippocampus_linear_track"
                       / "linear_track_units_position.nwb")
    assert session.n_units == 31
    led = session.behavior["led_xy"]
    t = led["led_xy_time"].values
    x = led.sel(led_xy_axis="x").values
    step = np.median(np.diff(t))  # 60 Hz; some timestamps repeat, so differentiate per sample
    smooth_x = gaussian_filter1d(x, 0.1 / step)
    speed = np.abs(np.gradient(smooth_x)) / step
    session.behavior = session.behavior.assign(
        x=xr.DataArray(x, dims="x_time", coords={"x_time": t}),
        speed=xr.DataArray(speed, dims="speed_time", coords={"speed_time": t}))
    X = session.bin(BIN_SIZE, start=t[0], stop=t[-1], behavior=["x", "speed"])
    return X.sel(time=(X["speed"] > MIN_SPEED).values)


def test_bayes_decoder_matches_known_baseline(running_bins):
    X = running_bins
    y = X["x"].values
    assert 133 <= y.min() and y.max() <= 554
    cv = ContiguousKFold(5)
    pred, folds = cross_val_predict(PoissonBayesDecoder(n_bins=30), X, "x", cv=cv)
    mean_pred, _ = cross_val_predict(DummyRegressor(), X.values, y, cv=cv)
    err = fold_scores(median_absolute_error, y, pred.values, folds)
    chance = fold_scores(median_absolute_error, y, mean_pred, folds)
    print("decoder px per fold", err.round(1), "mean predictor", chance.round(1))
    assert np.all(err < 60.0), err
    assert np.all(err < 0.6 * chance), (err, chance)


def test_knn_also_beats_the_mean(running_bins):
    X = running_bins
    y = X["x"].values
    pred, folds = cross_val_predict(KNNDecoder(n_neighbors=20), X, "x", cv=5)
    mean_pred, _ = cross_val_predict(DummyRegressor(), X.values, y, cv=5)
    err = fold_scores(median_absolute_error, y, pred.values, folds)
    chance = fold_scores(median_absolute_error, y, mean_pred, folds)
    print("kNN px per fold", err.round(1))
    assert np.all(err < 0.85 * chance), (err, chance)
