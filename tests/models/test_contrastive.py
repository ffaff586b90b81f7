"""ContrastiveEmbedding: contract, reproducibility, persistence, bad input, recovery."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from neurodecode.datasets.latents import make_circle_latent, make_track_latent
from neurodecode.errors import DataFormatError, SpikeTensorError
from neurodecode.models import ContrastiveEmbedding

TINY = dict(output_dimension=3, num_hidden_units=8, batch_size=32, max_iterations=20,
            validation_fraction=0.0, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def circle():
    return make_circle_latent(n_units=30, duration=120.0, bin_size=0.05, random_state=1)


def held_out_r2(Z, target, split=0.8):
    n = len(target)
    cut = int(split * n)
    fit = LinearRegression().fit(Z[:cut], target[:cut])
    return fit.score(Z[cut:], target[cut:])


def test_dataarray_in_dataarray_out(circle):
    X, _ = circle
    model = ContrastiveEmbedding("offset10-model", **TINY).fit(X)
    Z = model.transform(X)
    assert Z.dims == ("time", "latent") and Z.shape == (X.sizes["time"], 3)
    np.testing.assert_array_equal(Z["time"].values, X["time"].values)
    assert Z.attrs["bin_size"] == X.attrs["bin_size"]
    np.testing.assert_allclose(np.linalg.norm(Z.values, axis=1), 1.0, rtol=1e-5)
    assert isinstance(model.transform(X.values), np.ndarray)
    assert model.loss_history_.shape == (20,) and model.n_iter_ == 20


def test_same_seed_same_embedding(circle):
    X, latent = circle
    a = ContrastiveEmbedding("offset5-model", **TINY).fit_transform(X, latent.values)
    b = ContrastiveEmbedding("offset5-model", **TINY).fit_transform(X, latent.values)
    np.testing.assert_array_equal(a.values, b.values)
    c = ContrastiveEmbedding("offset5-model", **{**TINY, "random_state": 1}).fit_transform(X)
    assert not np.allclose(a.values, c.values)


def test_save_load_round_trip(circle, tmp_path):
    X, latent = circle
    model = ContrastiveEmbedding("offset10-model", conditional="delta", hybrid=True,
                                 temperature_mode="auto", temperature=0.5,
                                 min_temperature=0.2, **TINY).fit(X, latent.values)
    path = model.save(tmp_path / "emb.zip")
    loaded = ContrastiveEmbedding.load(path)
    np.testing.assert_array_equal(loaded.transform(X).values, model.transform(X).values)
    assert loaded.get_params() == model.get_params()
    assert loaded.temperature_ == pytest.approx(model.temperature_)
    assert loaded.score(X, latent.values) == pytest.approx(model.score(X, latent.values))


def test_load_rejects_other_files(tmp_path, circle):
    from neurodecode.utils.persistence import save_state

    X, _ = circle
    other = save_state(tmp_path / "other.zip", kind="KNNDecoder", params={})
    with pytest.raises(DataFormatError, match="KNNDecoder"):
        ContrastiveEmbedding.load(other)
    model = ContrastiveEmbedding("offset1-model", **TINY).fit(X)
    path = model.save(tmp_path / "emb.zip")
    import zipfile

    with zipfile.ZipFile(path) as zf:
        items = {n: zf.read(n) for n in zf.namelist()}
    import json

    header = json.loads(items["header.json"])
    header["format_version"] = 99
    items["header.json"] = json.dumps(header).encode()
    bad = tmp_path / "future.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, b in items.items():
            zf.writestr(n, b)
    with pytest.raises(DataFormatError, match="format 99"):
        ContrastiveEmbedding.load(bad)
    header["format_version"] = 1
    header["params"]["num_hidden_units"] = 16  # tensors no longer fit the architecture
    items["header.json"] = json.dumps(header).encode()
    with zipfile.ZipFile(bad, "w") as zf:
        for n, b in items.items():
            zf.writestr(n, b)
    with pytest.raises(DataFormatError, match="does not match"):
        ContrastiveEmbedding.load(bad)


def test_score_is_negative_infonce_and_improves_with_training(circle):
    X, _ = circle
    untrained = ContrastiveEmbedding("offset10-model", **{**TINY, "max_iterations": 1}).fit(X)
    trained = ContrastiveEmbedding("offset10-model", **{**TINY, "max_iterations": 150}).fit(X)
    s0, s1 = untrained.score(X), trained.score(X)
    assert s1 > s0
    assert trained.score(X) == s1  # fixed-seed batches: deterministic
    assert -s1 > 0  # InfoNCE without log M is positive here


def test_bad_input_names_the_argument(circle):
    X, latent = circle
    model = ContrastiveEmbedding("offset10-model", **TINY)
    with pytest.raises(ValueError, match="`y` has 10 samples"):
        model.fit(X, latent.values[:10])
    y = latent.values.copy()
    y[3, 0] = np.nan
    with pytest.raises(ValueError, match="`y` contains NaN"):
        model.fit(X, y)
    bad = X.astype(float).copy()
    bad[2, 2] = np.nan
    with pytest.raises(SpikeTensorError, match="NaN"):
        model.fit(bad)
    with pytest.raises(ValueError, match="needs at least"):
        model.fit(X.isel(time=slice(0, 8)))
    with pytest.raises(ValueError, match="model_architecture"):
        ContrastiveEmbedding("offset11-model", **TINY).fit(X)
    with pytest.raises(ValueError, match="conditional"):
        ContrastiveEmbedding(conditional="time_delta", **TINY).fit(X)
    fitted = ContrastiveEmbedding("offset1-model", **TINY).fit(X)
    with pytest.raises(ValueError, match="expecting 30 features"):
        fitted.transform(X.values[:, :5])
    with pytest.raises(SpikeTensorError, match="dims"):
        fitted.transform(X.transpose())


def test_early_stopping_keeps_best_validation_state(circle):
    X, _ = circle
    model = ContrastiveEmbedding("offset10-model", **{
        **TINY, "validation_fraction": 0.2, "eval_every": 5, "n_iter_no_change": 2,
        "max_iterations": 2000, "learning_rate": 3e-2, "tol": 0.5})
    model.fit(X)
    hist = model.validation_history_
    assert model.n_iter_ < 2000 and len(hist) >= 2
    best_row = hist[np.argmin(hist[:, 1])]
    assert model.best_iteration_ <= best_row[0]


def test_ctrl_c_keeps_best_state(circle, monkeypatch):
    X, _ = circle
    model = ContrastiveEmbedding("offset10-model", **{
        **TINY, "validation_fraction": 0.2, "eval_every": 5, "max_iterations": 100})
    calls = {"n": 0}
    draw = ContrastiveEmbedding._draw

    def interrupting(self, sessions, generator, which="sampler"):
        if which == "sampler":
            calls["n"] += 1
            if calls["n"] == 23:
                raise KeyboardInterrupt
        return draw(self, sessions, generator, which)

    monkeypatch.setattr(ContrastiveEmbedding, "_draw", interrupting)
    with pytest.warns(UserWarning, match="interrupted"):
        model.fit(X)
    assert model.interrupted_ and model.n_iter_ == 22
    assert model.best_iteration_ in (5, 10, 15, 20)
    assert model.transform(X).shape == (X.sizes["time"], 3)


def test_causal_embedding_ignores_the_future(circle):
    X, _ = circle
    model = ContrastiveEmbedding("offset10-model", causal=True, **TINY).fit(X)
    Z = model.transform(X).values
    changed = X.copy()
    changed[500:] = 0
    Z2 = model.transform(changed).values
    np.testing.assert_array_equal(Z[:500], Z2[:500])
    assert not np.allclose(Z[500:510], Z2[500:510])
    centred = ContrastiveEmbedding("offset10-model", **TINY).fit(X)
    assert not np.array_equal(centred.transform(X).values[495:500],
                              centred.transform(changed).values[495:500])


def test_discrete_and_mixed_labels_train(circle):
    X, latent = circle
    classes = np.where(latent.values[:, 0] > 0, "right", "left")
    disc = ContrastiveEmbedding("offset5-model", **TINY).fit(X, y_discrete=classes)
    assert disc.conditional_ == "discrete" and list(disc.classes_) == ["left", "right"]
    mixed = ContrastiveEmbedding("offset5-model", **TINY).fit(X, latent.values[:, 1],
                                                              y_discrete=classes)
    assert mixed.conditional_ == "time_delta" and mixed.has_discrete_
    assert np.isfinite(mixed.score(X, latent.values[:, 1], y_discrete=classes))
    balanced = ContrastiveEmbedding("offset5-model", negatives="class",
                                    **TINY).fit(X, y_discrete=classes)
    again = ContrastiveEmbedding("offset5-model", negatives="class",
                                 **TINY).fit(X, y_discrete=classes)
    np.testing.assert_array_equal(balanced.transform(X), again.transform(X))
    with pytest.raises(ValueError, match="`negatives`='class'.*`y_discrete`"):
        ContrastiveEmbedding("offset5-model", negatives="class", **TINY).fit(X)


def test_check_estimator_tiny_config():
    """scikit-learn's estimator checks on the single-sample MLP (offset1-model).

    The convolutional models embed each bin from its neighbours by design, so
    ``check_methods_subset_invariance``/``..._sample_order_invariance`` do not
    apply to them; every other check is the same code path.
    """
    from sklearn.utils.estimator_checks import check_estimator

    est = ContrastiveEmbedding("offset1-model", output_dimension=2, num_hidden_units=4,
                               batch_size=8, max_iterations=3, validation_fraction=0.0,
                               device="cpu", random_state=0)
    results = check_estimator(est, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results
              if r["status"] == "failed"]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) >= 40


def test_recovers_circle_latent_time_contrastive():
    """Unsupervised (time-contrastive) embedding recovers a rotating angle.

    40 von Mises units, 300 s at 50 ms; trained on the first 80 % of bins only.
    Measured: held-out linear R^2 of (cos, sin) from the 3-D embedding 0.93.
    Bound: R^2 > 0.8.
    """
    X, latent = make_circle_latent(n_units=40, duration=300.0, random_state=0)
    cut = int(0.8 * X.sizes["time"])
    model = ContrastiveEmbedding("offset10-model", output_dimension=3, batch_size=256,
                                 max_iterations=500, time_offsets=10, device="cpu",
                                 random_state=0).fit(X[:cut])
    Z = model.transform(X).values
    assert held_out_r2(Z, latent.values) > 0.8


@pytest.mark.slow
def test_recovers_track_position_behaviour_contrastive():
    """Behaviour-contrastive (time_delta) embedding of sparse place fields.

    20 units at <= 4 Hz peak (mean 0.4 Hz), 25-ms bins, trained on the first 80 %;
    kNN (cosine) on the embedding decodes held-out running position.
    Bound: median error < 0.12 m on a 1-m track (chance ~0.25 m).
    """
    from sklearn.neighbors import KNeighborsRegressor

    X, beh = make_track_latent(n_units=20, duration=600.0, random_state=0)
    pos = beh["position"].values
    cut = int(0.8 * len(pos))
    model = ContrastiveEmbedding("offset10-model", output_dimension=8, batch_size=256,
                                 max_iterations=800, time_offsets=10, device="cpu",
                                 random_state=0).fit(X[:cut], pos[:cut])
    Z = model.transform(X).values
    running = beh["direction"].values != 0
    train = running & (np.arange(len(pos)) < cut)
    test = running & (np.arange(len(pos)) >= cut)
    knn = KNeighborsRegressor(20, metric="cosine").fit(Z[train], pos[train])
    err = np.median(np.abs(knn.predict(Z[test]) - pos[test]))
    chance = np.median(np.abs(pos[test] - pos[train].mean()))
    assert err < 0.12 and err < 0.5 * chance, (err, chance)


def test_batch_negatives_train_and_score(circle):
    X, latent = circle
    model = ContrastiveEmbedding("offset10-model", negatives="batch",
                                 **{**TINY, "max_iterations": 150}).fit(X, latent.values)
    untrained = ContrastiveEmbedding("offset10-model", negatives="batch",
                                     **{**TINY, "max_iterations": 1}).fit(X, latent.values)
    assert model.score(X, latent.values) > untrained.score(X, latent.values)
    with pytest.raises(ValueError, match="negatives"):
        ContrastiveEmbedding(negatives="hard", **TINY).fit(X)
