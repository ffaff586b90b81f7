"""Stimuli for the simulated visual cortex: a natural movie and natural scenes from photographs.

The photographs are the ones bundled with scikit-image (``skimage.data``), so no
download is needed. The movie is a sequence of "shots": each shot shows one
photograph through a window that pans and zooms smoothly (like a camera moving
over the scene), then cuts to the next photograph, at 30 frames per second, as
the Allen Brain Observatory's natural movies are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PHOTOGRAPHS", "load_photographs", "make_natural_movie", "make_natural_scenes",
           "crop_resample"]

#: Natural photographs bundled with scikit-image (no network needed).
PHOTOGRAPHS = ("camera", "astronaut", "coffee", "chelsea", "rocket", "coins", "moon", "grass",
               "gravel", "brick", "clock", "hubble_deep_field")


def load_photographs(names=PHOTOGRAPHS) -> dict[str, np.ndarray]:
    """Grey-level photographs in ``[0, 1]`` (float64, ``(y, x)``) keyed by ``skimage.data`` name.

    Examples
    --------
    >>> photos = load_photographs(["camera", "coffee"])
    >>> photos["coffee"].shape, float(photos["camera"].max()) <= 1.0
    ((400, 600), True)
    """
    import skimage.data
    from skimage.color import rgb2gray

    out = {}
    for name in names:
        loader = getattr(skimage.data, name, None)
        if loader is None:
            raise ValueError(f"load_photographs: skimage.data has no image {name!r}; "
                             f"choose from {PHOTOGRAPHS}.")
        image = np.asarray(loader())
        if image.ndim == 3:
            image = rgb2gray(image[..., :3])
        else:
            image = image.astype(np.float64) / (255.0 if image.dtype == np.uint8 else 1.0)
        out[name] = np.asarray(image, dtype=np.float64)
    return out


def crop_resample(image: np.ndarray, center, height: float, shape) -> np.ndarray:
    """A window of ``image`` (centre ``(y, x)`` and height in image pixels) resampled to ``shape``.

    The window's aspect ratio is that of ``shape``; bilinear interpolation.

    Examples
    --------
    >>> img = np.arange(100.0).reshape(10, 10)
    >>> crop_resample(img, (4.5, 4.5), 10.0, (10, 10)).round(6)[0, :3].tolist()
    [0.0, 1.0, 2.0]
    """
    from scipy.ndimage import map_coordinates

    rows, cols = shape
    width = height * cols / rows
    ys = center[0] + (np.arange(rows) - (rows - 1) / 2.0) * (height / rows)
    xs = center[1] + (np.arange(cols) - (cols - 1) / 2.0) * (width / cols)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    return map_coordinates(image, [yy, xx], order=1, mode="reflect")


def _window_limits(image_shape, shape, zoom):
    """Window height and the allowed range of its centre for a zoom in (0, 1]."""
    h_img, w_img = image_shape
    rows, cols = shape
    full = min(h_img, w_img * rows / cols)  # the largest window that fits
    height = zoom * full
    width = height * cols / rows
    return height, (height / 2, h_img - height / 2), (width / 2, w_img - width / 2)


def _to_uint8(frames: np.ndarray) -> np.ndarray:
    return np.clip(np.round(frames * 255.0), 0, 255).astype(np.uint8)


def make_natural_movie(n_frames: int = 300, shape=(48, 80), *, fps: float = 30.0,
                       shot_duration=(1.5, 3.5), zoom=(0.35, 1.0), photographs=None,
                       random_state=0) -> tuple[np.ndarray, pd.DataFrame]:
    """A natural movie: photographs panned and zoomed, cut every few seconds.

    Parameters
    ----------
    n_frames : int
        Number of frames.
    shape : (int, int)
        Frame size ``(rows, columns)`` in pixels.
    fps : float
        Frames per second (sets how many frames a shot lasts).
    shot_duration : (float, float)
        Range of shot lengths, s (uniform).
    zoom : (float, float)
        Range of window sizes as a fraction of the largest window that fits the
        photograph; each shot moves from one random zoom/position to another.
    photographs : dict, optional
        ``{name: grey image in [0, 1]}``; default :func:`load_photographs`.
    random_state : int or Generator

    Returns
    -------
    frames : ndarray of uint8, shape (n_frames, rows, columns)
    shots : pandas.DataFrame
        One row per shot: ``first_frame``, ``last_frame``, ``photograph``.

    Examples
    --------
    >>> frames, shots = make_natural_movie(60, (24, 40), random_state=0)
    >>> frames.shape, frames.dtype.name, int(shots["last_frame"].iloc[-1])
    ((60, 24, 40), 'uint8', 59)
    """
    if n_frames < 1:
        raise ValueError(f"make_natural_movie: `n_frames` must be >= 1, got {n_frames}.")
    rng = np.random.default_rng(random_state)
    photos = load_photographs() if photographs is None else photographs
    names = list(photos)
    order = [names[i] for i in rng.permutation(len(names))]
    frames = np.empty((n_frames,) + tuple(shape), dtype=np.float64)
    shots, start, k = [], 0, 0
    while start < n_frames:
        length = max(2, int(round(rng.uniform(*shot_duration) * fps)))
        stop = min(n_frames, start + length)
        name = order[k % len(order)]
        image = photos[name]
        k += 1
        z0, z1 = rng.uniform(*zoom, size=2)
        ends = []
        for z in (z0, z1):
            height, (ylo, yhi), (xlo, xhi) = _window_limits(image.shape, shape, z)
            ends.append((height, rng.uniform(ylo, yhi), rng.uniform(xlo, xhi)))
        for j, t in enumerate(np.linspace(0.0, 1.0, stop - start)):
            s = 0.5 - 0.5 * np.cos(np.pi * t)  # ease in and out, as a camera move
            height, cy, cx = (a + s * (b - a) for a, b in zip(ends[0], ends[1], strict=True))
            frames[start + j] = crop_resample(image, (cy, cx), height, shape)
        shots.append((start, stop - 1, name))
        start = stop
    table = pd.DataFrame(shots, columns=["first_frame", "last_frame", "photograph"])
    return _to_uint8(frames), table


def make_natural_scenes(n_scenes: int = 20, shape=(48, 80), *, zoom=(0.3, 1.0),
                        photographs=None, random_state=0) -> tuple[np.ndarray, list[str]]:
    """Still natural scenes: random windows of the photographs, ``(n_scenes, rows, columns)`` uint8.

    Returns the stack and, per scene, the photograph it was cut from.

    Examples
    --------
    >>> scenes, source = make_natural_scenes(5, (24, 40), random_state=1)
    >>> scenes.shape, len(source)
    ((5, 24, 40), 5)
    """
    if n_scenes < 1:
        raise ValueError(f"make_natural_scenes: `n_scenes` must be >= 1, got {n_scenes}.")
    rng = np.random.default_rng(random_state)
    photos = load_photographs() if photographs is None else photographs
    names = list(photos)
    out = np.empty((n_scenes,) + tuple(shape), dtype=np.float64)
    source = []
    for i in range(n_scenes):
        name = names[(i + int(rng.integers(len(names)))) % len(names)]
        image = photos[name]
        height, (ylo, yhi), (xlo, xhi) = _window_limits(image.shape, shape, rng.uniform(*zoom))
        out[i] = crop_resample(image, (rng.uniform(ylo, yhi), rng.uniform(xlo, xhi)), height,
                               shape)
        source.append(name)
    return _to_uint8(out), source
