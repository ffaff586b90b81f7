"""Collapsed state moves (:mod:`neurodecode.models.biclustering.collapsed`)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from neurodecode.models.biclustering.collapsed import (
    collapsed_log_marginal,
    collapsed_state_moves,
    hmm_log_prior,
    interval_log_prob,
    propose_interval,
    state_runs,
)


def _model(rng, K=2, S=3, T=6, d=2):
    A = 0.6 * rng.standard_normal((K, S, d, d))
    b = 0.3 * rng.standard_normal((K, S, d))
    G = rng.standard_normal((K, S, d, d))
    Q = G @ np.swapaxes(G, -1, -2) + 0.3 * np.eye(d)
    P0 = np.array([[1.5, 0.2], [0.2, 0.8]])[:d, :d]
    H = rng.standard_normal((K, T, d, d))
    P = 0.5 * H @ np.swapaxes(H, -1, -2)
    h = rng.standard_normal((K, T, d))
    return A, b, Q, P0, P, h


def _dense_log_marginal(states, A, b, Q, P0, P, h):
    """The same integral from the dense prior mean and covariance of x = B⁻¹ (e + b)."""
    K, S, d, _ = A.shape
    T = len(states)
    total = 0.0
    for k in range(K):
        Bm = np.eye(T * d)
        D = np.zeros((T * d, T * d))
        bvec = np.zeros(T * d)
        D[:d, :d] = np.linalg.inv(P0)
        for t in range(1, T):
            s = states[t]
            Bm[t * d:(t + 1) * d, (t - 1) * d:t * d] = -A[k, s]
            D[t * d:(t + 1) * d, t * d:(t + 1) * d] = Q[k, s]
            bvec[t * d:(t + 1) * d] = b[k, s]
        Binv = np.linalg.inv(Bm)
        m = Binv @ bvec
        C = Binv @ D @ Binv.T
        Pd = np.zeros((T * d, T * d))
        for t in range(T):
            Pd[t * d:(t + 1) * d, t * d:(t + 1) * d] = P[k, t]
        hv = h[k].reshape(-1)
        # ∫ N(x; m, C) exp(-½ xᵀ P x + hᵀ x) dx, via the Gaussian identity
        Ci = np.linalg.inv(C)
        M = Ci + Pd
        v = Ci @ m + hv
        total += (-0.5 * np.linalg.slogdet(C)[1] - 0.5 * np.linalg.slogdet(M)[1]
                  + 0.5 * v @ np.linalg.solve(M, v) - 0.5 * m @ Ci @ m)
    return total


def test_collapsed_log_marginal_matches_dense():
    rng = np.random.default_rng(0)
    A, b, Q, P0, P, h = _model(rng)
    for states in (np.array([0, 0, 1, 1, 2, 0]), np.array([2, 1, 1, 1, 1, 1]),
                   np.array([1, 0, 2, 0, 2, 1])):
        got = collapsed_log_marginal(states, A, b, Q, P0, P, h)
        want = _dense_log_marginal(states, A, b, Q, P0, P, h)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_collapsed_log_marginal_tiny_variances():
    """Innovation variances 1e-6 next to 1 (the equilibrated factorisation stays exact)."""
    rng = np.random.default_rng(1)
    A, b, Q, P0, P, h = _model(rng, K=1, S=2, T=5)
    Q[0, 1] = 1e-6 * np.eye(2)
    states = np.array([0, 1, 1, 0, 1])
    np.testing.assert_allclose(collapsed_log_marginal(states, A, b, Q, P0, P, h),
                               _dense_log_marginal(states, A, b, Q, P0, P, h), rtol=1e-7)


def test_interval_proposal_probabilities_match_sampler():
    """``interval_log_prob`` is the exact law of ``propose_interval`` (and sums to one)."""
    states = np.array([0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2, 0])
    rng = np.random.default_rng(2)
    max_edge, max_interior = 2, 3
    n = 60000
    counts: dict = {}
    none = 0
    for _ in range(n):
        iv = propose_interval(states, rng, max_edge, max_interior)
        if iv is None:
            none += 1
        else:
            counts[iv] = counts.get(iv, 0) + 1
    starts, ends = state_runs(states)
    total = 0.0
    for s, e in zip(starts, ends, strict=True):
        for a in range(s, e + 1):
            for bb in range(a, e + 1):
                p = np.exp(interval_log_prob(states, a, bb, max_edge, max_interior))
                total += p
                got = counts.get((a, bb), 0)
                if p == 0:
                    assert got == 0, (a, bb)
                else:
                    assert abs(got - n * p) < 5 * np.sqrt(n * p * (1 - p)) + 1, (a, bb, got, n * p)
    assert set(counts) <= {(a, bb) for s, e in zip(starts, ends, strict=True)
                           for a in range(s, e + 1) for bb in range(a, e + 1)}
    np.testing.assert_allclose(total + none / n, 1.0, atol=0.01)
    # intervals crossing a run boundary are impossible
    assert interval_log_prob(states, 4, 5, max_edge, max_interior) == -np.inf


def _enumerated_target(T, S, A, b, Q, P0, P, h, log_trans):
    seqs = np.array(list(itertools.product(range(S), repeat=T)))
    logp = np.array([collapsed_log_marginal(s, A, b, Q, P0, P, h) + hmm_log_prior(s, log_trans)
                     for s in seqs])
    p = np.exp(logp - logp.max())
    return seqs, p / p.sum()


def test_collapsed_moves_sample_the_enumerated_posterior():
    """A long run of the move alone visits every ξ with its exact collapsed posterior mass."""
    rng = np.random.default_rng(3)
    T, S = 5, 2
    A, b, Q, P0, P, h = _model(rng, K=2, S=S, T=T)
    P *= 4.0
    log_trans = np.log(np.array([[0.8, 0.2], [0.3, 0.7]]))
    seqs, target = _enumerated_target(T, S, A, b, Q, P0, P, h, log_trans)
    index = {tuple(s): i for i, s in enumerate(seqs)}
    state = np.zeros(T, dtype=np.int64)
    visits = np.zeros(len(seqs))
    n_steps, n_acc = 40000, 0
    for _ in range(n_steps):
        state, acc = collapsed_state_moves(state, A, b, Q, P0, P, h, log_trans,
                                           np.array([0.6, 0.4]), 1, rng, max_edge=2,
                                           max_interior=2)
        n_acc += acc
        visits[index[tuple(state)]] += 1
    freq = visits / n_steps
    assert n_acc / n_steps > 0.1
    tv = 0.5 * np.abs(freq - target).sum()
    assert tv < 0.03, tv
    # power check: the same comparison separates the collapsed target from p(ξ | π) alone
    prior_only = np.exp([hmm_log_prior(s, log_trans) for s in seqs])
    prior_only /= prior_only.sum()
    assert 0.5 * np.abs(target - prior_only).sum() > 0.1


def test_collapsed_moves_three_states_exact_kernel():
    """The exact one-proposal kernel, enumerated with S = 3, keeps the target invariant."""
    rng = np.random.default_rng(4)
    T, S = 4, 3
    max_edge, max_interior = 1, 1
    A, b, Q, P0, P, h = _model(rng, K=1, S=S, T=T)
    log_trans = np.log(np.array([[0.7, 0.2, 0.1], [0.25, 0.5, 0.25], [0.1, 0.3, 0.6]]))
    seqs, target = _enumerated_target(T, S, A, b, Q, P0, P, h, log_trans)
    weights = np.array([0.5, 0.3, 0.2])
    log_w = np.log(weights)
    index = {tuple(s): i for i, s in enumerate(seqs)}
    log_pi = np.log(target)
    n = len(seqs)
    kern = np.zeros((n, n))
    for i, s in enumerate(seqs):
        starts, ends = state_runs(s)
        for st, en in zip(starts, ends, strict=True):
            for a in range(st, en + 1):
                for bb in range(a, en + 1):
                    lq_iv = interval_log_prob(s, a, bb, max_edge, max_interior)
                    if lq_iv == -np.inf:
                        continue
                    old = s[a]
                    for new in range(S):
                        if new == old:
                            continue
                        prop = s.copy()
                        prop[a:bb + 1] = new
                        j = index[tuple(prop)]
                        lq_f = lq_iv + log_w[new] - np.log1p(-weights[old])
                        lq_r = interval_log_prob(prop, a, bb, max_edge, max_interior) + \
                            log_w[old] - np.log1p(-weights[new])
                        kern[i, j] += np.exp(lq_f) * min(1.0, np.exp(log_pi[j] - log_pi[i]
                                                                     + lq_r - lq_f))
        kern[i, i] = 1.0 - kern[i].sum()
    assert kern.min() >= -1e-12
    np.testing.assert_allclose(target @ kern, target, atol=1e-12)


@pytest.mark.parametrize("n_proposals", [0, 3])
def test_collapsed_moves_returns_copy(n_proposals):
    rng = np.random.default_rng(5)
    A, b, Q, P0, P, h = _model(rng, K=1, S=2, T=6)
    states = np.array([0, 0, 1, 1, 1, 0])
    out, acc = collapsed_state_moves(states, A, b, Q, P0, P, h, np.log(np.full((2, 2), 0.5)),
                                     np.ones(2), n_proposals, rng)
    assert out is not states and out.shape == states.shape and 0 <= acc <= n_proposals
    np.testing.assert_array_equal(states, [0, 0, 1, 1, 1, 0])


def test_cache_window_log_marginal_matches_full():
    """The O(window) evaluation equals the full factorisation for every kind of window."""
    from neurodecode.models.biclustering.collapsed import CollapsedCache

    rng = np.random.default_rng(6)
    T, S, K, d = 12, 3, 2, 2
    A, b, Q, P0, P, h = _model(rng, K=K, S=S, T=T, d=d)
    Q[0, 2] *= 1e-4  # a tiny innovation variance (equilibration must stay exact)
    states = rng.integers(S, size=T)
    cache = CollapsedCache(states, A, b, Q, P0, P, h)
    np.testing.assert_allclose(cache.value, collapsed_log_marginal(states, A, b, Q, P0, P, h),
                               rtol=1e-10)
    for a, e in [(0, 0), (0, 3), (1, 1), (1, 5), (4, 8), (6, 11), (11, 11), (0, 11), (3, 3)]:
        for new in range(S):
            prop = states.copy()
            prop[a:e + 1] = new
            want = collapsed_log_marginal(prop, A, b, Q, P0, P, h)
            got = cache.log_marginal(prop, max(a - 1, 0), e)
            np.testing.assert_allclose(got, want, rtol=1e-9, err_msg=str((a, e, new)))
