"""Embedding metrics: consistency (held-out linear R^2), label binning, frame identification."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.metrics.embedding import (
    consistency_matrix,
    frame_identification_score,
    knn_embedding_decoder,
    label_binned_means,
    linear_consistency,
)


def test_linear_consistency_recovers_affine_maps_and_rejects_noise(rng):
    a = rng.normal(size=(400, 3))
    b = a @ rng.normal(size=(3, 4)) + 2.0
    assert linear_consistency(a, b) == pytest.approx(1.0, abs=1e-9)
    noisy = b + rng.normal(size=b.shape) * b.std(0)  # half the variance is noise
    assert linear_consistency(a, noisy) == pytest.approx(0.5, abs=0.08)
    assert linear_consistency(a, rng.normal(size=(400, 3))) < 0.05


def test_consistency_is_held_out_not_in_sample(rng):
    """With as many dims as samples/2, an in-sample fit is perfect; held-out is not."""
    a, b = rng.normal(size=(60, 25)), rng.normal(size=(60, 2))
    assert linear_consistency(a, b) < 0.2


def test_label_binned_means_matches_loop(rng):
    Z = rng.normal(size=(500, 2))
    y = rng.uniform(0, 10, 500)
    edges = np.linspace(0, 10, 6)
    got = label_binned_means(Z, y, edges)
    for k in range(5):
        m = (y >= edges[k]) & (y < edges[k + 1])
        np.testing.assert_allclose(got[k], Z[m].mean(0))


def test_consistency_matrix_across_sessions_via_labels(rng):
    """Two 'sessions' embed the same 1-D label through different rotations."""
    def session(n, rot):
        y = rng.uniform(0, 1, n)
        Z = np.c_[np.cos(3 * y), np.sin(3 * y)] @ rot + rng.normal(size=(n, 2)) * 0.05
        return Z, y

    r = np.array([[0, 1], [-1, 0]])
    (za, ya), (zb, yb) = session(3000, np.eye(2)), session(2000, r)
    zc, yc = rng.normal(size=(2500, 2)), rng.uniform(0, 1, 2500)
    m = consistency_matrix([za, zb, zc], labels=[ya, yb, yc], n_bins=40,
                           names=["a", "b", "noise"])
    assert m.dims == ("source", "target") and np.isnan(m.sel(source="a", target="a"))
    assert float(m.sel(source="a", target="b")) > 0.95
    assert float(m.sel(source="a", target="noise")) < 0.3
    with pytest.raises(ValueError, match="at least two"):
        consistency_matrix([za])
    with pytest.raises(ValueError, match="labels"):
        consistency_matrix([za, zb], labels=[ya])


def test_frame_identification_exact_and_within_tolerance(rng):
    frames = np.tile(np.arange(300), 3)
    t = frames / 300 * 2 * np.pi
    Z = np.c_[np.cos(t), np.sin(t)] + rng.normal(size=(900, 2)) * 0.01
    test_frames = np.arange(300)
    Zt = np.c_[np.cos(test_frames / 300 * 2 * np.pi), np.sin(test_frames / 300 * 2 * np.pi)]
    s = frame_identification_score(Z, frames, Zt + rng.normal(size=Zt.shape) * 0.01,
                                   test_frames, frame_rate=30.0, tolerance=1.0)
    assert s["within"] > 0.99 and s["exact"] < s["within"]
    # uniform guessing, averaged over true frames: 61 frames in reach except near the ends
    reach = np.minimum(np.arange(300) + 30, 299) - np.maximum(np.arange(300) - 30, 0) + 1
    assert s["chance_within"] == pytest.approx(np.mean(reach / 300))
    shuffled = frame_identification_score(Z, frames, rng.normal(size=(300, 2)), test_frames,
                                          frame_rate=30.0)
    assert shuffled["within"] < 0.4


def test_knn_embedding_decoder_uses_cosine(rng):
    angle = rng.uniform(0, 2 * np.pi, 600)
    radius = rng.uniform(0.5, 3, 600)  # cosine ignores the radius
    Z = np.c_[np.cos(angle), np.sin(angle)] * radius[:, None]
    dec = knn_embedding_decoder("regression", n_neighbors=5).fit(Z[:500], np.cos(angle[:500]))
    err = np.abs(np.asarray(dec.predict(Z[500:])) - np.cos(angle[500:]))
    assert np.median(err) < 0.05


def test_knn_embedding_decoder_takes_a_transform_output_dataarray(rng):
    """The output of a model's ``transform`` is ("time", "latent"): decoders take it as is."""
    import xarray as xr

    from neurodecode.errors import SpikeTensorError

    angle = rng.uniform(0, 2 * np.pi, 600)
    time = np.arange(600) * 0.1
    Z = xr.DataArray(np.c_[np.cos(angle), np.sin(angle)], dims=("time", "latent"),
                     coords={"time": time})
    dec = knn_embedding_decoder("regression", n_neighbors=5).fit(Z[:500], np.cos(angle[:500]))
    pred = dec.predict(Z[500:])
    assert pred.dims == ("time",)
    np.testing.assert_array_equal(pred["time"].values, time[500:])
    assert float(np.median(np.abs(pred.values - np.cos(angle[500:])))) < 0.05
    # a count model still refuses an embedding, naming what it expected
    from neurodecode.decoders import PoissonBayesDecoder

    with pytest.raises(SpikeTensorError, match="'unit'"):
        PoissonBayesDecoder().fit(Z[:500], angle[:500])
