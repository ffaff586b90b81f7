"""Whole-state merge/split moves (:mod:`neurodecode.models.biclustering.state_merge`)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import invwishart, matrix_normal, multivariate_normal

from neurodecode.models.biclustering.labels import DynamicsPrior
from neurodecode.models.biclustering.mniw import regression_stats
from neurodecode.models.biclustering.state_merge import (
    hmm_log_marginal,
    merge_split_log_target,
    mniw_log_evidence,
    split_log_prob,
    state_merge_moves,
)


def _prior(d=2):
    return DynamicsPrior(d, M0=0.1 * np.arange(d * (d + 1)).reshape(d, d + 1) / d,
                         V0=np.eye(d + 1) * 0.7 + 0.1, Psi0=np.eye(d) * 0.3 + 0.05, nu0=d + 3.0)


def test_mniw_log_evidence_matches_bayes_identity():
    """``log p(Y) = log p(Y | W, Q) + log p(W, Q) - log p(W, Q | Y)`` at any (W, Q)."""
    rng = np.random.default_rng(0)
    d, n = 2, 7
    pr = _prior(d)
    U = np.concatenate([rng.standard_normal((n, d)), np.ones((n, 1))], 1)
    Y = rng.standard_normal((n, d))
    Sxx, Syx, Syy = U.T @ U, Y.T @ U, Y.T @ Y
    got = float(mniw_log_evidence(Sxx, Syx, Syy, float(n), pr.M0, pr.V0, pr.Psi0, pr.nu0))
    from neurodecode.models.biclustering.mniw import mniw_posterior

    Mn, Vn, Psin, nun = mniw_posterior(Sxx, Syx, Syy, float(n), pr.M0, pr.V0, pr.Psi0, pr.nu0)
    for _ in range(3):
        Q = invwishart(df=pr.nu0, scale=pr.Psi0).rvs(random_state=rng)
        W = matrix_normal(pr.M0, Q, pr.V0).rvs(random_state=rng)
        lik = sum(multivariate_normal(W @ u, Q).logpdf(y) for u, y in zip(U, Y, strict=True))
        log_prior = (invwishart(df=pr.nu0, scale=pr.Psi0).logpdf(Q)
                     + matrix_normal(pr.M0, Q, pr.V0).logpdf(W))
        log_post = (invwishart(df=float(nun), scale=Psin).logpdf(Q)
                    + matrix_normal(Mn, Q, Vn).logpdf(W))
        np.testing.assert_allclose(got, lik + log_prior - log_post, rtol=1e-9)


def test_hmm_log_marginal_matches_monte_carlo():
    """Dirichlet rows integrated: the closed form equals the average of ``p(ξ | π)``."""
    rng = np.random.default_rng(1)
    beta = np.array([0.5, 0.3, 0.2])
    alpha, kappa = 2.0, 3.0
    states = np.array([0, 0, 1, 2, 2, 0])
    n = 400000
    conc = alpha * beta[None, :] + kappa * np.eye(3)
    pis = np.stack([rng.dirichlet(c, n) for c in conc], 1)  # (n, 3, 3)
    prob = np.prod([pis[:, a, b] for a, b in zip(states[:-1], states[1:], strict=True)], 0) / 3
    want = np.log(prob.mean())
    np.testing.assert_allclose(hmm_log_marginal(states, beta, alpha, kappa), want, atol=0.01)


def _setup(seed, K=1, T=5, L=3, d=2):
    rng = np.random.default_rng(seed)
    x = 0.6 * rng.standard_normal((K, T, d)).cumsum(1)
    beta = rng.dirichlet(np.ones(L))
    return x, beta, 1.5, 2.0, _prior(d)


def _enumerated(x, beta, alpha, kappa, prior, L):
    T = x.shape[1]
    seqs = np.array(list(itertools.product(range(L), repeat=T)))
    logp = np.array([merge_split_log_target(s, x, beta, alpha, kappa, prior) for s in seqs])
    p = np.exp(logp - logp.max())
    return seqs, p / p.sum()


def test_log_target_evidence_matches_regression_stats():
    """The per-state evidence uses the same steps as the sampler's MNIW statistics."""
    x, beta, alpha, kappa, pr = _setup(2, K=2, T=8)
    states = np.array([1, 0, 0, 2, 2, 2, 0, 1])
    Sxx, Syx, Syy, n = regression_stats(x, states, 3)
    ev = mniw_log_evidence(Sxx, Syx, Syy, n[None, :], pr.M0, pr.V0, pr.Psi0, pr.nu0).sum()
    np.testing.assert_allclose(merge_split_log_target(states, x, beta, alpha, kappa, pr),
                               ev + hmm_log_marginal(states, beta, alpha, kappa), rtol=1e-12)


def test_split_allocation_probabilities_sum_to_one_and_match_draws():
    """The restricted FFBS scores every allocation with its exact sampling probability."""
    x, beta, alpha, kappa, pr = _setup(3, T=7, L=3)
    merged = np.array([0, 0, 1, 0, 0, 0, 1])
    i, j, t1, t2 = 0, 2, 1, 4
    bins = np.flatnonzero(merged == i)
    free = [t for t in bins if t not in (t1, t2)]
    probs = {}
    for lab in itertools.product((i, j), repeat=len(free)):
        tgt = merged.copy()
        tgt[t2] = j
        tgt[free] = lab
        probs[tuple(tgt)] = np.exp(split_log_prob(merged, x, i, j, t1, t2, tgt, beta, alpha,
                                                  kappa, pr, window=2))
    np.testing.assert_allclose(sum(probs.values()), 1.0, rtol=1e-10)
    # sampling: draws of the split proposal given these anchors
    from neurodecode.models.biclustering.hmm import emission_loglik
    from neurodecode.models.biclustering.state_merge import (
        _pilots,
        _proposal_log_trans,
        _restricted_ffbs,
    )

    rng = np.random.default_rng(4)
    A, b, Q = _pilots(x, bins, (t1, t2), 2, pr)
    emis = emission_loglik(x, A, b, Q)
    lp = _proposal_log_trans(beta, alpha, kappa)
    n = 20000
    counts: dict = {}
    for _ in range(n):
        out, lq = _restricted_ffbs(merged, bins, i, j, emis, lp, {t1: 0, t2: 1}, rng)
        counts[tuple(out)] = counts.get(tuple(out), 0) + 1
        np.testing.assert_allclose(np.exp(lq), probs[tuple(out)], rtol=1e-9)
    for key, p in probs.items():
        assert abs(counts.get(key, 0) - n * p) < 5 * np.sqrt(n * p * (1 - p)) + 1


def _exact_kernel(seqs, target, x, beta, alpha, kappa, pr, L, window, wrong=False):
    """One proposal of :func:`state_merge_moves`, enumerated: (n, n) transition matrix.

    ``wrong``: the acceptance ratio leaves out the split's allocation probability (the
    proposal itself unchanged), a plausible bug the invariance check must catch."""
    index = {tuple(s): k for k, s in enumerate(seqs)}
    log_pi = np.log(target)
    n = len(seqs)
    kern = np.zeros((n, n))
    for a, s in enumerate(seqs):
        occ = np.bincount(s, minlength=L)
        occupied = np.flatnonzero(occ)
        m = len(occupied)
        # merges: ordered pair, anchors in each
        if m >= 2:
            for i, j in itertools.permutations(occupied, 2):
                prop = s.copy()
                prop[prop == j] = i
                bb = index[tuple(prop)]
                n_ij = occ[i] + occ[j]
                for t1 in np.flatnonzero(s == i):
                    for t2 in np.flatnonzero(s == j):
                        lq_f = np.log(0.5) - np.log(m * (m - 1) * occ[i] * occ[j])
                        lq_r = np.log(0.5) - np.log((m - 1) * n_ij * (n_ij - 1) * (L - m + 1))
                        if not wrong:
                            lq_r += split_log_prob(prop, x, i, j, t1, t2, s, beta, alpha,
                                                   kappa, pr, window)
                        kern[a, bb] += np.exp(lq_f) * min(1.0, np.exp(log_pi[bb] - log_pi[a]
                                                                      + lq_r - lq_f))
        # splits: state, ordered anchors, empty label, every allocation
        if m < L:
            for i in occupied:
                bins = np.flatnonzero(s == i)
                if len(bins) < 2:
                    continue
                for t1, t2 in itertools.permutations(bins, 2):
                    free = [t for t in bins if t not in (t1, t2)]
                    for j in np.flatnonzero(occ == 0):
                        for lab in itertools.product((i, j), repeat=len(free)):
                            prop = s.copy()
                            prop[t2] = j
                            prop[free] = lab
                            bb = index[tuple(prop)]
                            n_i, n_j = (prop == i).sum(), (prop == j).sum()
                            lq_sel = np.log(0.5) - np.log(m * len(bins) * (len(bins) - 1)
                                                          * (L - m))
                            lq_f = lq_sel + split_log_prob(s, x, i, j, t1, t2, prop, beta,
                                                           alpha, kappa, pr, window)
                            lq_r = np.log(0.5) - np.log((m + 1) * m * n_i * n_j)
                            lq_used = lq_sel if wrong else lq_f
                            kern[a, bb] += np.exp(lq_f) * min(
                                1.0, np.exp(log_pi[bb] - log_pi[a] + lq_r - lq_used))
        kern[a, a] = 1.0 - kern[a].sum()
    return kern


@pytest.mark.parametrize("K", [1, 2])
def test_state_merge_exact_kernel_keeps_target(K):
    """The exact one-proposal kernel, enumerated (T = 4, L = 3), leaves p(ξ | X, β) invariant."""
    L, T, window = 3, 4, 1
    x, beta, alpha, kappa, pr = _setup(5 + K, K=K, T=T, L=L)
    seqs, target = _enumerated(x, beta, alpha, kappa, pr, L)
    kern = _exact_kernel(seqs, target, x, beta, alpha, kappa, pr, L, window)
    assert kern.min() >= -1e-12
    np.testing.assert_allclose(target @ kern, target, atol=1e-12)
    # the move does something: a good share of the mass moves in one proposal
    assert (target * (1 - np.diag(kern))).sum() > 0.05
    # power check: the same check fails when the allocation probability is left out of the
    # acceptance ratio
    bad = _exact_kernel(seqs, target, x, beta, alpha, kappa, pr, L, window, wrong=True)
    assert 0.5 * np.abs(target @ bad - target).sum() > 1e-3


def test_state_merge_moves_sample_the_enumerated_posterior():
    """A long run of the move alone visits every ξ with its exact posterior mass (TV check)."""
    L, T = 3, 5
    x, beta, alpha, kappa, pr = _setup(9, K=1, T=T, L=L)
    seqs, target = _enumerated(x, beta, alpha, kappa, pr, L)
    index = {tuple(s): k for k, s in enumerate(seqs)}
    rng = np.random.default_rng(10)
    # the move alone is not irreducible (it cannot move a bin between two occupied states):
    # alternate it with a single-site Gibbs update of p(ξ | X, β) so the chain is ergodic
    state = np.zeros(T, dtype=np.int64)
    visits = np.zeros(len(seqs))
    n_steps, stats_total = 10000, dict(merge_accepted=0, split_accepted=0)
    for _ in range(n_steps):
        t = int(rng.integers(T))
        lp = []
        for v in range(L):
            s2 = state.copy()
            s2[t] = v
            lp.append(merge_split_log_target(s2, x, beta, alpha, kappa, pr))
        lp = np.array(lp)
        p = np.exp(lp - lp.max())
        state[t] = rng.choice(L, p=p / p.sum())
        state, st = state_merge_moves(state, x, beta, alpha, kappa, pr, 1, rng, window=2)
        for k in stats_total:
            stats_total[k] += st[k]
        visits[index[tuple(state)]] += 1
    freq = visits / n_steps
    assert stats_total["merge_accepted"] > 100 and stats_total["split_accepted"] > 100
    tv = 0.5 * np.abs(freq - target).sum()
    assert tv < 0.06, tv
    # power check: the same comparison separates the target from the HMM prior alone
    prior_only = np.exp([hmm_log_marginal(s, beta, alpha, kappa) for s in seqs])
    prior_only /= prior_only.sum()
    assert 0.5 * np.abs(target - prior_only).sum() > 0.1


def test_state_merge_moves_returns_copy():
    x, beta, alpha, kappa, pr = _setup(11, K=1, T=6, L=3)
    states = np.array([0, 0, 1, 1, 1, 0])
    out, st = state_merge_moves(states, x, beta, alpha, kappa, pr, 5, np.random.default_rng(0))
    assert out is not states and out.shape == states.shape
    assert st["merge_proposed"] + st["split_proposed"] <= 5
    np.testing.assert_array_equal(states, [0, 0, 1, 1, 1, 0])


@pytest.mark.slow
@pytest.mark.parametrize("dynamics", ["block", "coupled"])
def test_geweke_joint_distribution_with_state_merge(dynamics):
    """The whole sampler's Geweke test (:mod:`test_biclustering_geweke`) with the whole-state
    merge/split move switched on, the sticky hyper-parameters resampled; with coupled
    dynamics the move acts on the stacked latents under the stacked MNIW prior."""
    import dataclasses
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "_biclustering_geweke", Path(__file__).with_name("test_biclustering_geweke.py"))
    geweke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(geweke)
    cfg = dataclasses.replace(geweke.CFG, n_states=3, state_moves=2, resample_sticky=True,
                              sticky_conc_shape=2.0, sticky_rho_a=2.0, sticky_rho_b=2.0,
                              state_merge_moves=2, dynamics=dynamics)
    z, forward, chain = geweke._geweke_z(cfg)
    assert np.all(np.abs(z) < 4.0), np.round(np.c_[forward.mean(0), chain.mean(0), z], 3)
