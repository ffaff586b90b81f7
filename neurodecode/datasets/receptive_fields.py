"""Spatial receptive fields and the linear stage of linear-nonlinear-Poisson visual units.

Cortical units have Gabor receptive fields (a sinusoidal carrier under a
Gaussian envelope, Jones & Palmer 1987); thalamic (LGd) units have
difference-of-Gaussians centre-surround fields. Stimuli are contrast images
``(luminance - grey) / grey`` in ``[-1, 1]`` on a screen measured in visual
degrees; the linear drive of a unit is the dot product of its field with the
image. For full-field sinusoidal gratings the drive is computed exactly from the
field's Fourier coefficient at the grating's wave vector.
"""

from __future__ import annotations

import numpy as np

__all__ = ["screen_grid", "gabor_fields", "dog_fields", "linear_drive",
           "grating_coefficients", "contrast_images"]


def screen_grid(shape, deg_per_pixel: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in degrees (azimuth ``x`` right, elevation ``y`` up), 0 at centre.

    Examples
    --------
    >>> x, y = screen_grid((2, 4), 10.0)
    >>> x[0].tolist(), y[:, 0].tolist()
    ([-15.0, -5.0, 5.0, 15.0], [5.0, -5.0])
    """
    rows, cols = shape
    x = (np.arange(cols) - (cols - 1) / 2.0) * deg_per_pixel
    y = ((rows - 1) / 2.0 - np.arange(rows)) * deg_per_pixel
    return np.meshgrid(x, y, indexing="xy")


def gabor_fields(shape, deg_per_pixel, x0, y0, sigma, orientation, spatial_frequency, phase,
                 aspect=1.0) -> np.ndarray:
    """Gabor receptive fields, ``(n_units, rows, columns)``, each with unit L2 norm.

    Parameters
    ----------
    shape : (int, int)
        Screen in pixels.
    deg_per_pixel : float
    x0, y0 : array_like, shape (n_units,)
        Field centres, degrees.
    sigma : array_like
        Envelope standard deviation across the carrier's stripes, degrees.
    orientation : array_like
        Degrees; the direction of the carrier's wave vector (0 = vertical stripes,
        luminance varying along azimuth), as a grating's ``orientation``.
    spatial_frequency : array_like
        Cycles per degree.
    phase : array_like
        Carrier phase at the centre, degrees.
    aspect : float or array_like
        Envelope length along the stripes / across them.

    Examples
    --------
    >>> f = gabor_fields((20, 30), 2.0, [0.0], [0.0], [5.0], [0.0], [0.05], [0.0])
    >>> f.shape, round(float(np.sqrt((f ** 2).sum())), 6)
    ((1, 20, 30), 1.0)
    """
    x, y = screen_grid(shape, deg_per_pixel)
    p = [np.asarray(v, dtype=np.float64)[:, None, None]
         for v in (x0, y0, sigma, orientation, spatial_frequency, phase)]
    x0, y0, sigma, theta, sf, phase = p
    aspect = np.broadcast_to(np.asarray(aspect, dtype=np.float64), x0.shape[:1])[:, None, None]
    theta = np.deg2rad(theta)
    dx, dy = x[None] - x0, y[None] - y0
    across = dx * np.cos(theta) + dy * np.sin(theta)
    along = -dx * np.sin(theta) + dy * np.cos(theta)
    envelope = np.exp(-0.5 * (across ** 2 + (along / aspect) ** 2) / sigma ** 2)
    field = envelope * np.cos(2 * np.pi * sf * across + np.deg2rad(phase))
    return _unit_norm(field)


def dog_fields(shape, deg_per_pixel, x0, y0, sigma_center, surround_ratio=3.0,
               surround_weight=0.8, sign=1.0) -> np.ndarray:
    """Difference-of-Gaussians centre-surround fields (ON: ``sign=+1``, OFF: ``-1``), unit norm.

    Examples
    --------
    >>> f = dog_fields((21, 21), 1.0, [0.0], [0.0], [2.0], sign=[-1.0])
    >>> bool(f[0, 10, 10] < 0)
    True
    """
    x, y = screen_grid(shape, deg_per_pixel)
    x0, y0, sc = (np.asarray(v, dtype=np.float64)[:, None, None] for v in (x0, y0, sigma_center))
    ratio = np.broadcast_to(np.asarray(surround_ratio, float), x0.shape[:1])[:, None, None]
    weight = np.broadcast_to(np.asarray(surround_weight, float), x0.shape[:1])[:, None, None]
    sign = np.broadcast_to(np.asarray(sign, float), x0.shape[:1])[:, None, None]
    r2 = (x[None] - x0) ** 2 + (y[None] - y0) ** 2
    ss = sc * ratio
    center = np.exp(-0.5 * r2 / sc ** 2) / sc ** 2
    surround = np.exp(-0.5 * r2 / ss ** 2) / ss ** 2
    return _unit_norm(sign * (center - weight * surround))


def _unit_norm(fields: np.ndarray) -> np.ndarray:
    norm = np.sqrt((fields ** 2).sum(axis=(1, 2), keepdims=True))
    return fields / np.where(norm > 0, norm, 1.0)


def contrast_images(frames: np.ndarray) -> np.ndarray:
    """uint8 (or [0, 1] float) frames as contrast ``(L - grey) / grey`` in ``[-1, 1]``, float64.

    Examples
    --------
    >>> contrast_images(np.array([[[0, 255]]], dtype=np.uint8)).round(3).tolist()
    [[[-1.0, 1.0]]]
    """
    frames = np.asarray(frames)
    scaled = frames / 255.0 if frames.dtype == np.uint8 else frames.astype(np.float64)
    return 2.0 * scaled - 1.0


def linear_drive(fields: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Field-image dot products, ``(n_images, n_units)``.

    ``fields``: ``(n_units, rows, columns)``; ``images``: contrast images
    ``(n_images, rows, columns)``.

    Examples
    --------
    >>> linear_drive(np.ones((2, 1, 2)), np.array([[[1.0, -0.5]]])).tolist()
    [[0.5, 0.5]]
    """
    n_units = fields.shape[0]
    return images.reshape(images.shape[0], -1) @ fields.reshape(n_units, -1).T


def grating_coefficients(fields: np.ndarray, deg_per_pixel: float, orientation,
                         spatial_frequency) -> np.ndarray:
    """Complex Fourier coefficients of fields at grating wave vectors, ``(n_units, n_gratings)``.

    A full-field grating of contrast ``c``, ``orientation`` theta, spatial
    frequency ``f`` and phase ``phi`` drives a field ``F`` by
    ``c * Re(C * exp(-1j * phi))`` with ``C = sum_x F(x) exp(2j pi f (x cos theta +
    y sin theta))``; a drifting grating has ``phi = 2 pi tf t``.

    Examples
    --------
    >>> f = gabor_fields((40, 40), 1.0, [0.0], [0.0], [6.0], [90.0], [0.1], [0.0])
    >>> c = grating_coefficients(f, 1.0, [0.0, 90.0], [0.1, 0.1])
    >>> bool(abs(c[0, 1]) > 10 * abs(c[0, 0]))
    True
    """
    shape = fields.shape[1:]
    x, y = screen_grid(shape, deg_per_pixel)
    theta = np.deg2rad(np.asarray(orientation, dtype=np.float64))
    sf = np.asarray(spatial_frequency, dtype=np.float64)
    k_dot_x = 2 * np.pi * sf[:, None] * (x.reshape(1, -1) * np.cos(theta)[:, None]
                                         + y.reshape(1, -1) * np.sin(theta)[:, None])
    return fields.reshape(fields.shape[0], -1) @ np.exp(1j * k_dot_x).T
