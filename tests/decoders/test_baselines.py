"""Baseline decoders: ground-truth recovery on simulated place cells, maths, API contract."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.stats import poisson
from sklearn.dummy import DummyRegressor

from neurodecode.datasets.place_cells import make_place_cell_session
from neurodecode.decoders.baselines import (
    KNNDecoder,
    PoissonBayesClassifier,
    PoissonBayesDecoder,
    RidgeDecoder,
    occupancy_tuning_curves,
    poisson_log_posterior,
)
from neurodecode.decoders.cv import (
    ContiguousKFold,
    HeldOutGroups,
    cross_val_predict,
    fold_scores,
)
from neurodecode.errors import SpikeTensorError
from neurodecode.metrics.decoding import median_absolute_error


@pytest.fixture(scope="module")
def sim():
    return make_place_cell_session(n_units=40, duration=300.0, random_state=11)


@pytest.fixture(scope="module")
def running(sim):
    X = sim.session.bin(0.2, behavior=True)
    return X.sel(time=(X["speed"] > 5).values)


# ------------------------------------------------------------------ recovery
def test_bayes_decoder_recovers_position_held_out(running):
    """40 units, 5 min: held-out median error < 5 cm in every fold (chance ~40 cm).

    Measured (seed 11): about 2-3 cm per fold.
    """
    cv = ContiguousKFold(5, gap=5)
    pred, folds = cross_val_predict(PoissonBayesDecoder(), running, "position", cv=cv)
    chance, _ = cross_val_predict(DummyRegressor(), running.values,
                                  running["position"].values, cv=cv)
    y = running["position"].values
    err = fold_scores(median_absolute_error, y, pred.values, folds)
    chance_err = fold_scores(median_absolute_error, y, chance, folds)
    assert np.all(err < 5.0), err
    assert np.all(chance_err > 30.0), chance_err
    assert np.all(err < 0.15 * chance_err)


def test_bayes_decoder_with_whole_laps_held_out(sim, running):
    """Holding out whole laps (5 folds of consecutive laps) gives the same accuracy."""
    laps = sim.session.intervals["laps"]
    lap = np.searchsorted(laps["start_time"].to_numpy(), running["time"].values) - 1
    pred, folds = cross_val_predict(PoissonBayesDecoder(), running, "position",
                                    cv=HeldOutGroups(5), groups=lap)
    err = fold_scores(median_absolute_error, running["position"].values, pred.values, folds)
    assert err.shape == (5,) and np.all(err < 5.0), err


def test_knn_and_ridge_beat_chance_but_not_bayes(running):
    """On Poisson place cells the Bayesian decoder is best; kNN close; ridge is linear
    in counts and so coarser (measured about 3-5 / 10-15 cm), all far below chance."""
    y = running["position"].values
    errs = {}
    for est in (PoissonBayesDecoder(), KNNDecoder(), RidgeDecoder()):
        pred, _ = cross_val_predict(est, running, "position", cv=5)
        errs[type(est).__name__] = median_absolute_error(y, pred.values)
    assert errs["PoissonBayesDecoder"] < errs["KNNDecoder"] < 10.0
    assert errs["RidgeDecoder"] < 20.0


def test_field_centres_recovered(sim):
    """Fitted tuning-curve peaks match the true field centres: median |error| < 2.5 cm
    (measured 1.9), every tuned unit with peak rate >= 8 Hz within 6 cm (1.5 cm grid)."""
    X = sim.session.bin(0.2, behavior=["position"])
    dec = PoissonBayesDecoder(n_bins=100, value_range=(0, 150)).fit(X, "position")
    tr = sim.truth
    tuned = tr["tuned"].values
    err = np.abs(dec.preferred_values_ - tr["field_center"].values)
    assert np.median(err[tuned]) < 2.5
    strong = tuned & (tr["peak_rate"].values >= 8)
    assert np.all(err[strong] < 6.0), err[strong]
    # Fitted rates (Hz) at the peak are close to the true peak rates of strong fields.
    peak_hz = dec.tuning_curves_.max(axis=1) / dec.bin_size_
    ratio = peak_hz[strong] / tr["peak_rate"].values[strong]
    assert 0.6 < np.median(ratio) < 1.2


# --------------------------------------------------------------------- maths
def test_poisson_log_posterior_matches_scipy():
    rng = np.random.default_rng(0)
    tuning = rng.uniform(0.1, 4, size=(7, 5))
    counts = rng.poisson(2, size=(11, 5))
    prior = np.log(rng.dirichlet(np.ones(7)))
    logp = poisson_log_posterior(counts, tuning, prior)
    direct = poisson.logpmf(counts[:, None, :], tuning[None]).sum(-1) + prior
    direct -= np.logaddexp.reduce(direct, axis=1, keepdims=True)
    np.testing.assert_allclose(logp, direct, atol=1e-10)


def test_tuning_curves_are_occupancy_normalised():
    rng = np.random.default_rng(1)
    y = rng.uniform(0, 10, 20000)
    rate = np.c_[0.5 + y / 5, np.full(y.size, 1.5)]
    counts = rng.poisson(rate)
    tuning, occupancy = occupancy_tuning_curves(counts, y, np.linspace(0, 10, 11),
                                                pseudocount=0.0)
    assert occupancy.sum() == y.size
    np.testing.assert_allclose(tuning[:, 0], 0.5 + np.arange(0.5, 10, 1) / 5, atol=0.06)
    np.testing.assert_allclose(tuning[:, 1], 1.5, atol=0.06)


def test_pseudocount_pulls_unvisited_bins_to_the_mean():
    counts = np.array([[4.0], [4.0], [0.0], [0.0]])
    tuning, occ = occupancy_tuning_curves(counts, [0.5, 0.5, 1.5, 1.5], [0, 1, 2, 3],
                                          pseudocount=1.0)
    assert occ.tolist() == [2.0, 2.0, 0.0]
    np.testing.assert_allclose(tuning[:, 0], [(8 + 2) / 3, 2 / 3, 2.0])


# ----------------------------------------------------------------- contract
def test_dataarray_in_dataarray_out(running):
    dec = PoissonBayesDecoder(n_bins=30).fit(running, "position")
    pred = dec.predict(running)
    assert isinstance(pred, xr.DataArray) and pred.dims == ("time",)
    np.testing.assert_array_equal(pred["time"].values, running["time"].values)
    assert "position" in pred.coords  # sample coords are carried over
    post = dec.predict_proba(running)
    assert post.dims == ("time", "grid") and post.sizes["grid"] == 30
    np.testing.assert_allclose(post.sum("grid").values, 1.0)
    # numpy in → numpy out, same numbers.
    np.testing.assert_allclose(dec.predict(running.values), pred.values)
    # MAP sits on grid centres.
    dec_map = PoissonBayesDecoder(n_bins=30, estimate="map").fit(running, "position")
    assert np.isin(dec_map.predict(running.values), dec_map.centers_).all()


def test_trial_tensor_and_nan_targets():
    rng = np.random.default_rng(2)
    y = rng.uniform(0, 1, size=(20, 30))
    X = rng.poisson(np.stack([10 * y, 10 * (1 - y)], axis=-1) + 0.2)
    Xda = xr.DataArray(X, dims=("trial", "time", "unit"),
                       coords={"trial": np.arange(20), "time": np.arange(30) * 0.1,
                               "unit": [5, 6]}, attrs={"bin_size": 0.1})
    y_nan = y.copy()
    y_nan[0, :5] = np.nan
    for est in (PoissonBayesDecoder(n_bins=20), KNNDecoder(), RidgeDecoder()):
        pred = est.fit(Xda, y_nan).predict(Xda)
        assert pred.dims == ("trial", "time")
        assert median_absolute_error(y.ravel(), pred.values.ravel()) < 0.2


def test_save_load_round_trip(tmp_path, running):
    for est in (PoissonBayesDecoder(n_bins=25, prior="occupancy"), KNNDecoder(n_neighbors=7),
                RidgeDecoder(alpha=3.0)):
        est.fit(running, "position")
        path = est.save(tmp_path / f"{type(est).__name__}.zip")
        back = type(est).load(path)
        assert back.get_params() == est.get_params()
        np.testing.assert_allclose(back.predict(running.values), est.predict(running.values))
    labels = np.where(running["position"].values > 75, "far", "near")
    clf = RidgeDecoder(task="classification").fit(running, labels)
    back = RidgeDecoder.load(clf.save(tmp_path / "clf.zip"))
    assert (back.predict(running.values) == clf.predict(running.values)).all()
    for clf in (PoissonBayesClassifier(prior="empirical"), KNNDecoder(task="classification")):
        clf.fit(running, labels)
        back = type(clf).load(clf.save(tmp_path / f"{type(clf).__name__}_clf.zip"))
        assert (back.predict(running.values) == clf.predict(running.values)).all()
        np.testing.assert_allclose(back.predict_proba(running.values),
                                   clf.predict_proba(running.values))


def test_classification(running):
    labels = np.digitize(running["position"].values, [50, 100])  # three track thirds
    for est in (PoissonBayesClassifier(), KNNDecoder(task="classification"),
                RidgeDecoder(task="classification")):
        pred, _ = cross_val_predict(est, running, labels, cv=5)
        assert np.mean(pred.values == labels) > 0.85, type(est).__name__
    proba = PoissonBayesClassifier().fit(running, labels).predict_proba(running)
    assert proba.dims == ("time", "class") and proba["class"].values.tolist() == [0, 1, 2]
    names = np.array(["start", "middle", "end"])[labels]
    pred = KNNDecoder(task="classification").fit(running.values, names).predict(running.values)
    assert set(pred) <= set(names)


def test_clear_errors(running):
    dec = PoissonBayesDecoder()
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        dec.predict(running)
    with pytest.raises(SpikeTensorError, match="expecting 40 features"):
        dec.fit(running, "position").predict(running.values[:, :3])
    with pytest.raises(ValueError, match="names no coord"):
        PoissonBayesDecoder().fit(running, "head_direction")
    with pytest.raises(ValueError, match="one value"):
        RidgeDecoder().fit(running.values, np.zeros(3))
    with pytest.raises(ValueError, match="prior"):
        PoissonBayesDecoder(prior="uniform").fit(running, "position")
    with pytest.raises(ValueError, match="task"):
        KNNDecoder(task="ranking").fit(running, "position")
    with pytest.raises(SpikeTensorError):
        PoissonBayesDecoder().fit(running.transpose("unit", "time"), "position")
    with pytest.raises(SpikeTensorError, match="Negative values"):
        PoissonBayesDecoder().fit(-running.values.astype(float), running["position"].values)


def test_posterior_agrees_with_pynapple_decode_bayes():
    """Same tuning curves, same counts: our posterior equals pynapple's (Zhang et al. 1998)
    (max difference measured 2e-11)."""
    nap = pytest.importorskip("pynapple")
    sim = make_place_cell_session(n_units=20, duration=120.0, random_state=5)
    s = sim.session
    group = s.to_pynapple()
    pos = nap.Tsd(t=s.behavior["position_time"].values, d=s.behavior["position"].values)
    # Floor the rates so that both sides see no zero rate (each floors zeros its own way).
    tc = np.maximum(nap.compute_tuning_curves(group, pos, bins=30, range=(0, 150)), 0.01)
    decoded, post = nap.decode_bayes(tc, group, epochs=nap.IntervalSet(10, 110), bin_size=0.2)
    X = s.bin(0.2, start=10, stop=110)
    ours = np.exp(poisson_log_posterior(X.values, tc.values.T * 0.2))
    np.testing.assert_allclose(ours, post.values, atol=1e-8)
    centres = tc.coords[tc.dims[1]].values
    np.testing.assert_array_equal(centres[ours.argmax(axis=1)], decoded.values)


def test_recovery_with_gamma_spiking_and_directional_fields():
    """Inhomogeneous-gamma spiking (shape 3) and half the fields one-directional: held-out
    median error still < 5 cm in every fold (measured about 2 cm)."""
    sim = make_place_cell_session(n_units=40, duration=300.0, spiking="gamma",
                                  fraction_directional=0.5, random_state=4)
    X = sim.session.bin(0.2, behavior=True)
    X = X.sel(time=(X["speed"] > 5).values)
    pred, folds = cross_val_predict(PoissonBayesDecoder(), X, "position",
                                    cv=ContiguousKFold(5, gap=5))
    err = fold_scores(median_absolute_error, X["position"].values, pred.values, folds)
    assert np.all(err < 5.0), err


@pytest.mark.parametrize("est", [PoissonBayesDecoder(), KNNDecoder(), RidgeDecoder()])
def test_all_nan_target_is_a_clear_error(est):
    with pytest.raises(ValueError, match="no finite value"):
        est.fit(np.ones((5, 2)), np.full(5, np.nan))
