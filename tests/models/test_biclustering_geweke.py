"""Geweke (2004) joint-distribution test of the whole bi-clustering sampler on a tiny model.

Marginal-conditional: independent draws of (parameters, counts) from the prior.
Successive-conditional: alternate one sampler iteration with a fresh draw of the
counts given the parameters. Both simulate the same joint distribution only if
every conditional (labels, dispersion, Pólya-Gamma, latents, loadings, states,
β/π, dynamics) is exact, so test statistics must agree.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neurodecode.models.biclustering.sampler import (
    SamplerConfig,
    gibbs_step,
    sample_counts,
    sample_prior,
)

CFG = SamplerConfig(latent_dim=1, intercept=True, n_states=2, hdp_alpha=2.0, hdp_gamma=2.0,
                    sticky_kappa=2.0, mfm_gamma=1.0, cluster_geometric_p=0.4, baseline_var=0.5,
                    loading_var=0.5, dispersion_shape=4.0, dispersion_rate=1.0,
                    noise_scale=0.1)
N, T = 3, 5


def _stats(state, y, sticky=False, dynamics=False):
    extra = [np.log(state.sticky.sum()), state.sticky[1] / state.sticky.sum()] if sticky else []
    if dynamics:  # stacked (coupled) dynamics: per-coordinate summaries, comparable across K
        Q = state.Q[0]
        extra += [np.mean(np.diagonal(Q, axis1=-2, axis2=-1)), np.mean(state.A[0] ** 2),
                  np.mean(state.b[0] ** 2), np.log(np.linalg.det(Q)).mean() / Q.shape[-1]]
    return np.array(extra + [
        state.x.shape[0],                       # number of clusters
        float(len(np.unique(state.states)) == 1),
        state.delta.mean(),
        (state.loadings**2).mean(),
        np.log(state.r).mean(),
        (state.x[..., 1] ** 2).mean(),
        state.x[..., 0].mean(),
        float(np.mean(state.states[1:] == state.states[:-1])),
        np.log1p(y).mean(),
    ])


def _batch_se(values, n_batches=50):
    batches = np.array_split(values, n_batches)
    means = np.array([b.mean(0) for b in batches])
    return means.std(0, ddof=1) / np.sqrt(n_batches)


def _geweke_z(cfg, seed=20240101):
    rng = np.random.default_rng(seed)
    log_v = cfg.log_v(N)
    sticky, dyn = cfg.resample_sticky, cfg.dynamics == "coupled"
    forward = np.array([_stats(*sample_prior(N, T, cfg, rng), sticky, dyn)
                        for _ in range(6000)])
    state, y = sample_prior(N, T, cfg, rng)
    chain = []
    for _ in range(12000):
        state = gibbs_step(state, y, cfg, log_v, rng)
        y = sample_counts(state, cfg, rng)
        chain.append(_stats(state, y, sticky, dyn))
    chain = np.array(chain)
    se = np.sqrt(forward.var(0) / len(forward) + _batch_se(chain) ** 2)
    z = (chain.mean(0) - forward.mean(0)) / se
    return z, forward, chain


@pytest.mark.slow
def test_geweke_joint_distribution():
    z, forward, chain = _geweke_z(CFG)
    assert np.all(np.abs(z) < 4.0), np.round(np.c_[forward.mean(0), chain.mean(0), z], 3)


@pytest.mark.slow
def test_geweke_joint_distribution_with_split_merge():
    """The same test with split–merge proposals on the neuron partition switched on."""
    z, forward, chain = _geweke_z(dataclasses.replace(CFG, split_merge_proposals=2))
    assert np.all(np.abs(z) < 4.0), np.round(np.c_[forward.mean(0), chain.mean(0), z], 3)


@pytest.mark.slow
def test_geweke_joint_distribution_with_state_moves():
    """With collapsed state moves and the sticky hyper-parameters resampled."""
    cfg = dataclasses.replace(CFG, state_moves=3, resample_sticky=True, sticky_conc_shape=2.0,
                              sticky_rho_a=2.0, sticky_rho_b=2.0)
    z, forward, chain = _geweke_z(cfg)
    assert np.all(np.abs(z) < 4.0), np.round(np.c_[forward.mean(0), chain.mean(0), z], 3)


@pytest.mark.slow
def test_geweke_joint_distribution_coupled_dynamics():
    """Coupled dynamics over the stacked latents: births and deaths of clusters are a
    reversible jump between systems of different dimension, tested here as a whole (with
    collapsed state moves on the stacked system)."""
    z, forward, chain = _geweke_z(dataclasses.replace(CFG, dynamics="coupled", state_moves=3))
    assert np.all(np.abs(z) < 4.0), np.round(np.c_[forward.mean(0), chain.mean(0), z], 3)
