"""Bayesian bi-clustering of neurons and time bins (Wei, ICLR 2024), sampled by MCMC.

The estimator is :class:`BayesianBiclustering`; each sampler step is a pure
function in its own module (``polya_gamma``, ``latents``, ``hmm``, ``mniw``,
``loadings``, ``dispersion``, ``labels``), wired together in ``sampler``.
"""

from __future__ import annotations

from .estimator import BayesianBiclustering

__all__ = ["BayesianBiclustering"]
