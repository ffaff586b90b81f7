"""Multi-session embeddings: shared trunk, per-session input layers, adapting to a new session."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsRegressor

from neurodecode.datasets.latents import make_track_latent
from neurodecode.metrics.embedding import consistency_matrix
from neurodecode.models import ContrastiveEmbedding


@pytest.fixture(scope="module")
def sessions():
    """Three simulated animals on the same track: 30, 40 and 25 units, own behaviour."""
    return [make_track_latent(n_units=n, duration=300.0, bin_size=0.05, peak_rate=8.0,
                              random_state=i) for i, n in enumerate([30, 40, 25])]


@pytest.fixture(scope="module")
def fitted(sessions):
    Xs = [s[0] for s in sessions[:2]]
    ys = [s[1]["position"].values for s in sessions[:2]]
    model = ContrastiveEmbedding("offset10-model", output_dimension=4, batch_size=256,
                                 max_iterations=400, time_offsets=10, device="cpu",
                                 random_state=0)
    return model.fit(Xs, ys)


def _running(session):
    return session[1]["direction"].values != 0


def test_sessions_share_one_space(sessions, fitted):
    """kNN fitted on session 0's embedding decodes session 1's position.

    Measured: median error 0.026 m (track 1 m; predicting the mean 0.35 m);
    label-binned consistency 0.995. Bounds: < 0.08 m and > 0.9.
    """
    Z = fitted.transform([s[0] for s in sessions[:2]])
    assert isinstance(Z, list) and Z[0].shape[0] == sessions[0][0].sizes["time"]
    assert fitted.n_units_ == [30, 40] and fitted.encoder_.n_sessions == 2
    pos = [s[1]["position"].values for s in sessions[:2]]
    run = [_running(s) for s in sessions[:2]]
    knn = KNeighborsRegressor(20, metric="cosine").fit(Z[0].values[run[0]], pos[0][run[0]])
    err = np.median(np.abs(knn.predict(Z[1].values[run[1]]) - pos[1][run[1]]))
    assert err < 0.08
    m = consistency_matrix([z.values for z in Z], labels=pos, n_bins=30)
    assert float(m[0, 1]) > 0.9 and float(m[1, 0]) > 0.9


def test_adapt_new_session_with_other_unit_count(sessions, fitted, tmp_path):
    """A third animal (25 units) joins through a new input layer; the trunk stays fixed.

    Measured: cross-session median error 0.042 m. Bound: < 0.1 m.
    """
    import copy

    model = copy.deepcopy(fitted)
    trunk_before = [p.detach().clone() for p in model.encoder_.trunk.parameters()]
    X2, beh2 = sessions[2]
    model.adapt(X2, beh2["position"].values, max_iterations=300)
    assert model.n_sessions_ == 3 and model.n_units_ == [30, 40, 25]
    for before, after in zip(trunk_before, model.encoder_.trunk.parameters(), strict=True):
        assert np.array_equal(before.numpy(), after.detach().numpy())
    Z0 = model.transform(sessions[0][0], session=0).values
    Z2 = model.transform(X2, session=2).values
    run0, run2 = _running(sessions[0]), _running(sessions[2])
    pos0 = sessions[0][1]["position"].values
    pos2 = beh2["position"].values
    knn = KNeighborsRegressor(20, metric="cosine").fit(Z0[run0], pos0[run0])
    err = np.median(np.abs(knn.predict(Z2[run2]) - pos2[run2]))
    assert err < 0.1, err
    loaded = ContrastiveEmbedding.load(model.save(tmp_path / "multi.zip"))
    np.testing.assert_array_equal(loaded.transform(X2, session=2).values, Z2)
    with pytest.raises(ValueError, match="session"):
        model.transform(X2, session=5)
    with pytest.raises(ValueError, match="expecting 25 features"):
        model.transform(sessions[0][0], session=2)


def test_multisession_bad_labels_are_named(sessions):
    Xs = [s[0] for s in sessions[:2]]
    model = ContrastiveEmbedding(max_iterations=2, device="cpu")
    with pytest.raises(ValueError, match="list of 2"):
        model.fit(Xs, sessions[0][1]["position"].values)
    with pytest.raises(ValueError, match=r"`y\[1\]` has 10 samples"):
        model.fit(Xs, [sessions[0][1]["position"].values, np.zeros(10)])
