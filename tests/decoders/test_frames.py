"""Frame features: PCA of downsampled frames recovers the movie's low-dimensional structure."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodecode.decoders.frames import frame_features


def test_recovers_the_generating_factors(rng):
    # Frames = two smooth latent time courses times two fixed images, plus pixel noise:
    # the first two features must span the latents (R^2 of a linear map near 1).
    t = np.linspace(0, 4 * np.pi, 200)
    latents = np.c_[np.sin(t), np.cos(0.5 * t)]
    images = rng.normal(size=(2, 24, 32))
    movie = 128 + 40 * np.einsum("tk,kyx->tyx", latents, images) + rng.normal(0, 5, (200, 24, 32))
    F = frame_features(movie, 2, downsample=4)
    assert F.shape == (200, 2)
    assert F[:, 0].std() == pytest.approx(1.0)
    design = np.c_[F, np.ones(200)]
    coef, *_ = np.linalg.lstsq(design, latents, rcond=None)
    resid = latents - design @ coef
    r2 = 1 - (resid ** 2).sum(0) / ((latents - latents.mean(0)) ** 2).sum(0)
    assert np.all(r2 > 0.99), r2


def test_dataarray_and_downsampling_agree(rng):
    movie = rng.uniform(0, 255, (30, 8, 12)).astype(np.uint8)
    da = xr.DataArray(movie, dims=("frame", "y", "x"))
    np.testing.assert_allclose(frame_features(da, 3, downsample=1),
                               frame_features(movie, 3, downsample=1))
    # 2x2 blocks of identical pixels: downsampling by 2 changes nothing
    big = np.repeat(np.repeat(movie, 2, axis=1), 2, axis=2)
    np.testing.assert_allclose(np.abs(frame_features(big, 3, downsample=2)),
                               np.abs(frame_features(movie, 3, downsample=1)), atol=1e-8)


@pytest.mark.parametrize("movie, kwargs, match", [
    (np.zeros((10, 8)), {}, "n_frames, height, width"),
    (np.zeros((10, 8, 8)), {"downsample": 0}, "downsample"),
    (np.zeros((10, 8, 8)), {"downsample": 16}, "larger than the frames"),
    (np.zeros((10, 8, 8)), {"n_components": 11, "downsample": 1}, "n_components"),
    (np.full((10, 8, 8), np.nan), {}, "NaN"),
    (np.full((10, 8, 8), "a"), {}, "numbers"),
])
def test_bad_input_names_the_argument(movie, kwargs, match):
    with pytest.raises(ValueError, match=match):
        frame_features(movie, **kwargs)
