"""Invariance of the extra moves of :mod:`neurodecode.models.biclustering.moves`.

If ``(θ, y)`` is drawn from the joint (prior, then data) and ``θ'`` from a kernel that
leaves ``p(θ | y)`` invariant, then ``(θ', y)`` is again a joint draw: every statistic of
``θ'`` has the prior's distribution. Each test draws many independent ``(θ, y)``,
applies the move once (several steps), and compares moments with the prior's.
"""

from __future__ import annotations

import numpy as np

from neurodecode.models.biclustering.moves import cluster_offset_move, dispersion_baseline_move


def _z(after, before):
    se = np.sqrt(after.var() / len(after) + before.var() / len(before))
    return abs(after.mean() - before.mean()) / se


SHAPE, RATE, M0, V0 = 3.0, 0.5, -1.0, 0.5


def _nb_joint_draws(seed, n=20000, T=6):
    """``n`` independent draws of (r, δ) from their priors and NB counts given them."""
    rng = np.random.default_rng(seed)
    r = rng.gamma(SHAPE, 1.0 / RATE, n)
    delta = M0 + np.sqrt(V0) * rng.standard_normal(n)
    psi = delta[:, None] + 0.4 * rng.standard_normal((n, T))
    y = rng.poisson(rng.gamma(r[:, None], np.exp(psi))).astype(float)
    return rng, y, psi, delta, r


def test_dispersion_baseline_move_keeps_posterior():
    rng, y, psi, delta, r = _nb_joint_draws(0)
    shape, rate, m0, v0 = SHAPE, RATE, M0, V0
    d2, r2, acc = dispersion_baseline_move(y, psi, delta, r, shape, rate, m0, v0, rng, step=0.5,
                                           n_steps=5)
    assert 0.2 < acc.mean() / 5 < 0.95  # it moves
    assert np.mean(np.abs(np.log(r2) - np.log(r)) > 1e-12) > 0.5
    # the NB mean is kept
    np.testing.assert_allclose(np.log(r2) + d2, np.log(r) + delta, atol=1e-10)
    for f in (lambda a, b: np.log(b), lambda a, b: b, lambda a, b: a, lambda a, b: a**2,
              lambda a, b: a * np.log(b)):
        assert _z(f(d2, r2), f(delta, r)) < 4.0


def test_dispersion_baseline_move_wrong_jacobian_would_fail():
    """Power check: the same comparison detects a kernel that drops the Jacobian."""
    rng, y, psi, delta, r = _nb_joint_draws(1)
    shape, rate, m0, v0 = SHAPE, RATE, M0, V0
    # target with an extra factor 1/r is what omitting the Jacobian e^u samples
    d2, r2, _ = dispersion_baseline_move(y, psi, delta, r, shape - 1.0, rate, m0, v0, rng,
                                         step=0.5, n_steps=20)
    assert _z(np.log(r2), np.log(r)) > 4.0


def _offset_setup(rng, n):
    K, S, T, d = n, 2, 6, 2
    A = np.stack([np.stack([np.array([[0.7, 0.2], [0.1, 0.5]]), np.array([[0.9, -0.3],
                                                                          [0.2, 0.4]])])] * K)
    b = np.broadcast_to(np.array([[0.1, -0.2], [0.0, 0.3]]), (K, S, d)).copy()
    Q = np.broadcast_to(np.array([[[0.3, 0.1], [0.1, 0.2]], [[0.5, 0.0], [0.0, 0.1]]]),
                        (K, S, d, d)).copy()
    P0 = np.array([[2.0, 0.3], [0.3, 1.0]])
    states = np.array([0, 0, 1, 1, 0, 1])
    x = np.empty((K, T, d))
    x[:, 0] = rng.standard_normal((K, d)) @ np.linalg.cholesky(np.linalg.inv(P0)).T
    for t in range(1, T):
        s = states[t]
        x[:, t] = x[:, t - 1] @ A[0, s].T + b[0, s] + rng.standard_normal((K, d)) @ \
            np.linalg.cholesky(Q[0, s]).T
    return x, A, b, Q, P0, states


def test_cluster_offset_move_keeps_prior():
    """With no data the posterior is the prior: the move must leave it invariant."""
    rng = np.random.default_rng(2)
    n = 20000                     # independent replicate clusters, handled as one batch
    x, A, b, Q, P0, states = _offset_setup(rng, n)
    m0, v0 = 0.5, 0.8
    labels = np.repeat(np.arange(n), 2)   # two neurons per cluster
    delta = m0 + np.sqrt(v0) * rng.standard_normal(2 * n)
    x2, d2, shift = cluster_offset_move(x, labels, delta, states, A, b, Q, P0, m0, v0, rng)
    assert shift.std() > 0.1
    np.testing.assert_allclose(x2[:, :, 0] + d2[::2, None], x[:, :, 0] + delta[::2, None])
    for stat in (lambda xx, dd: xx[:, 0, 0], lambda xx, dd: xx[:, 3, 0] ** 2,
                 lambda xx, dd: xx[:, 5, 0] * xx[:, 4, 1], lambda xx, dd: dd[::2],
                 lambda xx, dd: dd[1::2] ** 2, lambda xx, dd: xx[:, 2, 0] * dd[::2]):
        assert _z(stat(x2, d2), stat(x, delta)) < 4.0
