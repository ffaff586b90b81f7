"""Features of movie frames, used as continuous labels for frame-guided models and decoders.

CEBRA's natural-movie experiments (Schneider, Lee & Mathis, Nature 2023) give the
contrastive model a per-frame feature vector (DINO features of each movie image)
as a continuous behaviour label, so that bins showing similar images are pulled
together. :func:`frame_features` makes a small, dependency-free stand-in: the
leading principal components of the downsampled, pixel-standardised frames.
Index the result by the frame shown in each time bin to get per-bin labels.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["frame_features"]


def frame_features(movie, n_components: int = 8, *, downsample: int = 4,
                   random_state: int | None = 0) -> np.ndarray:
    """Principal components of the downsampled movie frames, one row per frame.

    Each frame is block-averaged over ``downsample x downsample`` pixels
    (trailing rows/columns that do not fill a block are dropped), every pixel
    is standardised over frames, and the frames are projected on their first
    ``n_components`` principal axes. The scores are divided by the standard
    deviation of the first component, so the leading feature has unit spread
    (convenient for the ``delta`` of a behaviour-contrastive model).

    Parameters
    ----------
    movie : ndarray or DataArray, shape (n_frames, height, width)
        Grey-level frames (any numeric dtype), frames first.
    n_components : int
        Features per frame (1 <= n_components <= min(n_frames, pixels)).
    downsample : int
        Block size in pixels (1: keep the full resolution).
    random_state : int or None
        Seed of the PCA solver (randomised for large inputs).

    Returns
    -------
    ndarray, shape (n_frames, n_components), float64
        Feature ``k`` of frame ``f`` in row ``f``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> movie = rng.uniform(0, 255, (50, 16, 24)).astype(np.uint8)
    >>> F = frame_features(movie, 4, downsample=2)
    >>> F.shape, round(float(F[:, 0].std()), 6)
    ((50, 4), 1.0)
    """
    from sklearn.decomposition import PCA

    values = np.asarray(movie.values if isinstance(movie, xr.DataArray) else movie)
    if values.ndim != 3:
        raise ValueError(f"`movie` must be (n_frames, height, width); got shape {values.shape}.")
    if values.dtype.kind not in "uif":
        raise ValueError(f"`movie` must hold numbers (grey levels); got dtype {values.dtype}.")
    values = values.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("`movie` contains NaN or infinite values.")
    step = int(downsample)
    if step < 1:
        raise ValueError(f"`downsample` must be a positive integer, got {downsample!r}.")
    n, h, w = values.shape
    if h < step or w < step:
        raise ValueError(f"`downsample`={step} is larger than the frames ({h} x {w} pixels).")
    hb, wb = h // step, w // step
    blocks = values[:, :hb * step, :wb * step].reshape(n, hb, step, wb, step).mean(axis=(2, 4))
    pixels = blocks.reshape(n, -1)
    k = int(n_components)
    if not 1 <= k <= min(n, pixels.shape[1]):
        raise ValueError(f"`n_components` must be between 1 and {min(n, pixels.shape[1])} "
                         f"(frames, downsampled pixels); got {n_components!r}.")
    scale = pixels.std(axis=0)
    scale[scale == 0] = 1.0
    scores = PCA(k, random_state=random_state).fit_transform((pixels - pixels.mean(0)) / scale)
    first = scores[:, 0].std()
    return scores / (first if first > 0 else 1.0)
