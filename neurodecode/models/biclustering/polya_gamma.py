"""Pólya-Gamma augmentation of the negative-binomial likelihood (Polson, Scott & Windle 2013).

With ``p = sigmoid(psi)``, ``NB(y; r, p) ∝ exp(psi)^y / (1 + exp(psi))^(y + r)``;
given ``omega ~ PG(y + r, psi)`` the likelihood in ``psi`` is Gaussian with
precision ``omega`` and information ``kappa = (y - r) / 2``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sample_polya_gamma", "polya_gamma_mean", "nb_kappa"]


def sample_polya_gamma(h, z, rng: np.random.Generator) -> np.ndarray:
    """Draw ``omega ~ PG(h, z)`` elementwise (``h > 0``), with the ``polyagamma`` package.

    Examples
    --------
    >>> omega = sample_polya_gamma(np.full(3, 2.0), np.zeros(3), np.random.default_rng(0))
    >>> omega.shape, bool(np.all(omega > 0))
    ((3,), True)
    """
    from polyagamma import random_polyagamma

    h = np.asarray(h, dtype=float)
    z = np.broadcast_to(np.asarray(z, dtype=float), h.shape)
    return np.asarray(random_polyagamma(h, z, random_state=rng), dtype=float).reshape(h.shape)


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
