"""Pólya-Gamma augmentation of the negative-binomial likelihood (Polson, Scott & Windle 2013).

With ``p = sigmoid(psi)``, ``NB(y; r, p) ∝ exp(psi)^y / (1 + exp(psi))^(y + r)``;
given ``omega ~ PG(y + r, psi)`` the likelihood in ``psi`` is Gaussian with
precision ``omega`` and information ``kappa = (y - r) / 2``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sample_polya_gamma", "polya_gamma_mean", "nb_kappa", "SADDLE_FROM"]


#: from this shape on, draws use the saddle-point sampler; below it, Devroye's sampler
SADDLE_FROM = 8.0


def sample_polya_gamma(h, z, rng: np.random.Generator) -> np.ndarray:
    """Draw ``omega ~ PG(h, z)`` elementwise (``h > 0``) with the ``polyagamma`` package.

    The package's default "hybrid" method is not exact where this model needs
    it: it replaces draws with ``h > 50`` by a normal approximation (zero
    skewness), and its ``alternate`` sampler, used for non-integer ``h < 8``, is
    biased (mean about 1 % and variance about 5 % too high near ``z = 0``;
    polyagamma issue #133, measured here for 2.0.2). So the method is chosen
    here: for ``h >= SADDLE_FROM`` the saddle-point accept-reject sampler
    (its mean and variance agree with the closed forms to < 3e-4 at 4e6 draws);
    below, ``PG(h) = PG(⌊h⌋) + PG(h - ⌊h⌋)`` with Devroye's exact sampler for
    the integer part and ``alternate`` only for the fractional part
    (``E[PG(f, z)] <= f / 4``, so its ~1 % bias is < 0.0025 in absolute terms).
    The groups are drawn from ``rng`` in a fixed order, so a seed fixes the result.

    Parameters
    ----------
    h : array_like, shape (...)
        Shapes, all > 0.
    z : array_like
        Tilts, broadcast to the shape of ``h``.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape of ``h``

    Examples
    --------
    >>> omega = sample_polya_gamma(np.full(3, 2.0), np.zeros(3), np.random.default_rng(0))
    >>> omega.shape, bool(np.all(omega > 0))
    ((3,), True)
    """
    from polyagamma import random_polyagamma

    def draw(shape, tilt, method):
        return random_polyagamma(shape, tilt, method=method, disable_checks=True,
                                 random_state=rng)

    h = np.asarray(h, dtype=float)
    z = np.broadcast_to(np.asarray(z, dtype=float), h.shape)
    if not np.all(h > 0) or not np.all(np.isfinite(h)):
        raise ValueError("sample_polya_gamma: h must be > 0 and finite everywhere")
    out = np.empty(h.shape)
    large = h >= SADDLE_FROM
    if large.all():
        return draw(np.ascontiguousarray(h), np.ascontiguousarray(z), "saddle").reshape(h.shape)
    if large.any():
        out[large] = draw(h[large], z[large], "saddle")
    small = ~large
    h_small, z_small = h[small], z[small]
    whole = np.floor(h_small)
    frac = h_small - whole
    part = np.zeros(h_small.shape)
    has_whole = whole > 0
    if has_whole.any():
        part[has_whole] = draw(whole[has_whole], z_small[has_whole], "devroye")
    has_frac = frac > 0
    if has_frac.any():
        part[has_frac] += draw(frac[has_frac], z_small[has_frac], "alternate")
    out[small] = part
    return out


def polya_gamma_mean(h, z) -> np.ndarray:
    """Closed-form ``E[PG(h, z)] = h / (2 z) tanh(z / 2)`` (``h / 4`` at ``z = 0``).

    Examples
    --------
    >>> float(polya_gamma_mean(1.0, 0.0))
    0.25
    """
    h, z = np.asarray(h, float), np.asarray(z, float)
    small = np.abs(z) < 1e-6
    safe = np.where(small, 1.0, z)
    return np.where(small, h / 4.0 * (1 - z**2 / 12), h / (2 * safe) * np.tanh(safe / 2))


def nb_kappa(y, r) -> np.ndarray:
    """``kappa = (y - r) / 2``, the Gaussian information per unit of ``psi``."""
    return (np.asarray(y, float) - np.asarray(r, float)) / 2.0
