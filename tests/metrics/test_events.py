"""Event metrics against brute-force versions on random inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from neurodecode.metrics.events import (
    delay_accuracy,
    event_average_precision,
    event_f1,
    kernel_correlation,
    local_maxima,
    match_events,
    onset_auc,
    throughput,
)


def brute_peaks(s, md, th):
    out = np.zeros(len(s), bool)
    for t in range(len(s)):
        left = s[max(t - md, 0):t]
        right = s[t + 1:t + md + 1]
        out[t] = s[t] >= th and np.all(s[t] > left) and np.all(s[t] >= right)
    return out


def brute_max_matching(t, p, tol):
    if len(t) == 0 or len(p) == 0:
        return 0
    adj = csr_matrix((np.abs(np.subtract.outer(t, p)) <= tol).astype(int))
    return int((maximum_bipartite_matching(adj, perm_type="column") >= 0).sum())


def test_local_maxima_matches_brute_force(rng):
    for _ in range(30):
        s = rng.integers(0, 5, 40).astype(float)  # many ties
        md = int(rng.integers(1, 4))
        th = float(rng.integers(0, 4))
        np.testing.assert_array_equal(local_maxima(s, th, md), brute_peaks(s, md, th))
    s2 = rng.random((50, 3))
    got = local_maxima(s2, 0.2, 2)
    for m in range(3):
        np.testing.assert_array_equal(got[:, m], brute_peaks(s2[:, m], 2, 0.2))


def test_match_events_is_maximum_and_one_to_one(rng):
    for _ in range(200):
        t = np.unique(rng.integers(0, 60, rng.integers(0, 12)))
        p = rng.integers(0, 60, rng.integers(0, 12))
        tol = int(rng.integers(0, 4))
        ti, pi = match_events(t, p, tol)
        assert len(set(ti)) == len(ti) and len(set(pi)) == len(pi)
        assert np.all(np.abs(t[ti] - p[pi]) <= tol)
        assert len(ti) == brute_max_matching(t, p, tol)


def test_event_f1_counts(rng):
    y = np.zeros((100, 2))
    p = np.zeros((100, 2))
    y[[10, 50], 0] = 1
    p[[12, 13, 70], 0] = 1  # one hit within 2, two false alarms
    y[[20], 1] = 1
    p[[20], 1] = 1
    assert event_f1(y, p, tolerance=2) == pytest.approx(2 * 2 / (3 + 4))
    np.testing.assert_allclose(event_f1(y, p, 2, average=None), [2 * 1 / 5, 1.0])
    assert event_f1(y, p, 2, average="macro") == pytest.approx((0.4 + 1) / 2)
    # trials are scored independently
    assert event_f1(np.stack([y, y]), np.stack([p, p]), 2) == pytest.approx(4 / 7)


def test_onset_auc_against_pairwise(rng):
    s = rng.random((300, 2))
    on = np.zeros((300, 2))
    di = np.zeros((300, 2))
    on[rng.choice(300, 15, replace=False), 0] = 1
    di[rng.choice(300, 12, replace=False), 0] = 1
    on[rng.choice(300, 10, replace=False), 1] = 1
    di[rng.choice(300, 9, replace=False), 1] = 1
    for tol in (0, 2):
        per = onset_auc(s, on, di, tolerance=tol, average=None)
        for m in range(2):
            ev = [max(s[max(t - tol, 0):t + tol + 1, m]) for t in np.flatnonzero(on[:, m])]
            dv = [max(s[max(t - tol, 0):t + tol + 1, m]) for t in np.flatnonzero(di[:, m])]
            pairs = [(a > b) + 0.5 * (a == b) for a, b in itertools.product(ev, dv)]
            assert per[m] == pytest.approx(np.mean(pairs))


def brute_ap(s, y, tol, md):
    """AP by sweeping every threshold and re-running the greedy assignment."""
    peaks = brute_peaks(s, md, -np.inf)
    pidx = np.flatnonzero(peaks)
    tt = np.flatnonzero(y)
    values = np.sort(np.unique(s[pidx]))[::-1]
    prev_recall, ap = 0.0, 0.0
    for th in values:
        sel = pidx[s[pidx] >= th]
        order = sel[np.argsort(-s[sel], kind="stable")]
        claimed = set()
        tp = 0
        for k in order:
            cands = [j for j in range(len(tt)) if j not in claimed and abs(tt[j] - k) <= tol]
            if cands:
                j = min(cands, key=lambda j: (abs(tt[j] - k), j))
                claimed.add(j)
                tp += 1
        recall = tp / len(tt)
        ap += (recall - prev_recall) * tp / len(sel)
        prev_recall = recall
    return ap


def test_average_precision_against_brute_force(rng):
    for _ in range(10):
        s = np.round(rng.random(120), 2)
        y = np.zeros(120)
        y[rng.choice(120, 8, replace=False)] = 1
        got = event_average_precision(s[:, None], y[:, None], tolerance=2, min_distance=2)
        assert got == pytest.approx(brute_ap(s, y, 2, 2))


def test_perfect_scores_give_ap_one():
    y = np.zeros((200, 1))
    y[[20, 90, 150], 0] = 1
    s = y * 5 + 0.01
    assert event_average_precision(s, y, tolerance=1) == pytest.approx(1.0)


def test_kernel_correlation_hungarian_and_shift(rng):
    true = rng.random((3, 5, 10)) * (rng.random((3, 5, 10)) < 0.3)
    learned = true[[2, 0, 1]]
    res = kernel_correlation(true, learned)
    np.testing.assert_array_equal(res["assignment"], [1, 2, 0])
    np.testing.assert_allclose(res["correlation"], 1.0)
    shifted = np.zeros_like(true)
    shifted[..., 2:] = true[..., :-2]
    res = kernel_correlation(true, shifted, match=False, max_shift=3)
    assert np.all(res["shift"] == -2)
    # brute-force correlation for one pair
    a, b = true[0].ravel(), shifted[1].ravel()
    r = kernel_correlation(true, shifted, match=False)["matrix"][0, 1]
    assert r == pytest.approx(np.corrcoef(a, b)[0, 1])
    rows, cols = linear_sum_assignment(-res["matrix"])
    assert res["matrix"][rows, cols].sum() >= res["correlation"].sum() - 1e-12


def test_delay_accuracy_and_errors():
    true = np.array([[0, 5, np.nan], [np.nan, 3, 9]])
    learned = np.array([[1, 7, 0], [0, 3, 20]])
    assert delay_accuracy(true, learned) == pytest.approx(2 / 4)
    assert delay_accuracy(true, learned[::-1], assignment=[1, 0]) == pytest.approx(2 / 4)
    assert delay_accuracy(true, learned, shift=[-1, 0]) == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="no finite"):
        delay_accuracy(np.full((1, 2), np.nan), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="positive"):
        throughput(10, 0)
    assert throughput(10, 2) == 5.0
    with pytest.raises(ValueError, match="same shape"):
        event_f1(np.zeros((5, 1)), np.zeros((6, 1)))
