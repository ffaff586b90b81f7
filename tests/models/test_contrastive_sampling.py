"""Positive/negative sampling: every scheme against a brute-force definition."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodecode.models.contrastive.sampling import (
    ClassPool,
    NearestLabelIndex,
    PairSampler,
    empirical_deltas,
)

CPU = torch.device("cpu")


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def brute_nearest_distance(labels, targets):
    labels = labels.reshape(len(labels), -1)
    targets = targets.reshape(len(targets), -1)
    return np.sqrt(((targets[:, None] - labels[None]) ** 2).sum(-1)).min(1)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_nearest_label_matches_brute_force(dim, rng):
    labels = np.round(rng.normal(size=(500, dim)), 1)  # quantised: many exact ties
    pool = np.arange(100, 600)
    index = NearestLabelIndex(labels, pool, CPU)
    targets = rng.normal(size=(300, dim)) * 1.5
    got = index.query(torch.as_tensor(targets), gen()).numpy()
    assert np.all((got >= 100) & (got < 600))
    got_dist = np.sqrt(((labels[got - 100] - targets) ** 2).sum(-1))
    np.testing.assert_allclose(got_dist, brute_nearest_distance(labels, targets), atol=1e-12)


@pytest.mark.parametrize("quantised", [False, True])
def test_position_and_direction_labels_use_exact_sorted_lookups(quantised, rng):
    """Position + two direction indicators (CEBRA's hippocampus labels): one sorted
    lookup per direction combination, exactly the brute-force nearest label."""
    n = 2000
    pos = rng.uniform(0, 4, n)
    pos = np.round(pos, 2) if quantised else pos  # quantised: many exact ties
    direction = rng.integers(-1, 2, n)
    labels = np.c_[pos, direction > 0, direction < 0].astype(np.float64)
    pool = np.arange(50, 50 + n)
    index = NearestLabelIndex(labels, pool, CPU)
    assert index.mode == "combinations"
    deltas = labels[rng.integers(0, n, 3000)] - labels[rng.integers(0, n, 3000)]
    targets = labels[rng.integers(0, n, 3000)] + deltas
    targets[:10, 0] = [-5, 9, 0, 4, 2, 2, 2, 2, 2, 2]  # outside the range and on labels
    got = index.query(torch.as_tensor(targets), gen()).numpy() - 50
    assert np.all((got >= 0) & (got < n))
    got_dist = np.sqrt(((labels[got] - targets) ** 2).sum(-1))
    np.testing.assert_allclose(got_dist, brute_nearest_distance(labels, targets), atol=1e-12)


def test_combination_lookup_breaks_ties_uniformly_across_combinations():
    # target (0.5, 0, 0): equally near (0, 0, 0) x2, (1, 0, 0) and (0.5, 0.5, 0)
    labels = np.array([[0.0, 0, 0], [0.0, 0, 0], [1.0, 0, 0], [0.5, 0.5, 0], [3.0, 0, 1]]
                      + [[float(v), 0, 1] for v in range(5, 70)])
    index = NearestLabelIndex(labels, np.arange(len(labels)), CPU)
    assert index.mode == "combinations"
    got = index.query(torch.tensor([[0.5, 0.0, 0.0]] * 8000, dtype=torch.float64),
                      gen()).numpy()
    counts = np.bincount(got, minlength=len(labels))
    assert counts[4:].sum() == 0
    assert np.all(np.abs(counts[:4] - 2000) < 200), counts


def test_ties_are_broken_uniformly():
    labels = np.array([0.0] * 4 + [1.0] * 4)
    index = NearestLabelIndex(labels, np.arange(8), CPU)
    got = index.query(torch.full((8000, 1), 0.9, dtype=torch.float64), gen()).numpy()
    counts = np.bincount(got, minlength=8)
    assert counts[:4].sum() == 0
    assert np.all(np.abs(counts[4:] - 2000) < 200), counts  # ~ 4.5 sd of a binomial


def test_class_pool_draws_within_class_uniformly():
    classes = np.array([0, 1, 1, 2, 1, 0])
    pool = ClassPool(classes, np.arange(10, 16), CPU)
    got = pool.draw(torch.full((6000,), 1), gen()).numpy()
    assert set(got) == {11, 12, 14}
    assert np.all(np.abs(np.bincount(got - 10, minlength=6)[[1, 2, 4]] - 2000) < 200)


def test_class_balanced_references_and_negatives():
    """negatives='class': references and negatives uniform over the classes present in
    the range (then within the class), however imbalanced the classes are in time."""
    classes = np.where(np.arange(1000) < 900, 0, 2)  # 90 % class 0, 10 % class 2, no 1
    s = PairSampler(1000, 10, 990, "discrete", discrete=classes, balance_classes=True,
                    device=CPU)
    b = s.sample(8000, gen(), n_negatives=8000)
    for part in ("reference", "negative", "positive"):
        idx = b[part].numpy()
        assert idx.min() >= 10 and idx.max() < 990, part
        share = np.mean(classes[idx] == 2)
        assert abs(share - 0.5) < 0.03, (part, share)
    assert np.all(classes[b["positive"].numpy()] == classes[b["reference"].numpy()])
    # within a class, bins are uniform: class 0's 890 bins in range all appear
    ref0 = b["reference"].numpy()[classes[b["reference"].numpy()] == 0]
    assert len(np.unique(ref0)) > 850
    # time positives still fit: references stop time_offset before the end
    h = PairSampler(1000, 10, 990, "time", discrete=classes, balance_classes=True,
                    time_offset=5, device=CPU).sample(4000, gen())
    assert h["reference"].max() < 985 and bool((h["positive"] == h["reference"] + 5).all())
    with pytest.raises(ValueError, match="discrete labels"):
        PairSampler(1000, 10, 990, "time", balance_classes=True, device=CPU)


def test_empirical_deltas_are_label_changes():
    y = torch.as_tensor(np.arange(50.0) ** 2)[:, None]
    d = empirical_deltas(y, 0, 50, 2, 200, gen()).numpy().ravel()
    r = (d - 4) / 4  # (r+2)^2 - r^2 = 4 r + 4
    assert np.allclose(r, np.round(r)) and r.min() >= 0 and r.max() <= 47


def test_time_positives_and_ranges():
    s = PairSampler(1000, 5, 995, "time", time_offset=3, device=CPU)
    b = s.sample(4096, gen())
    assert torch.equal(b["positive"], b["reference"] + 3)
    for key in ("reference", "positive", "negative"):
        assert int(b[key].min()) >= 5 and int(b[key].max()) < 995


def test_time_delta_positive_is_nearest_to_shifted_label(rng):
    y = np.cumsum(rng.normal(size=2000))
    s = PairSampler(2000, 10, 1990, "time_delta", continuous=y, time_offset=5, device=CPU)
    g1, g2 = gen(3), gen(3)
    b = s.sample(512, g1)
    # replay the generator: same reference, same target
    ref = s._randint(512, g2)
    targets = s.targets(ref, g2).numpy().ravel()
    assert torch.equal(ref, b["reference"])
    pos = b["positive"].numpy()
    pool = y[10:1990]
    assert np.all((pos >= 10) & (pos < 1990))
    np.testing.assert_allclose(np.abs(y[pos] - targets), brute_nearest_distance(pool, targets),
                               atol=1e-12)


def test_delta_scheme_jitters_by_delta(rng):
    y = np.linspace(0, 100, 20000)
    s = PairSampler(20000, 0, 20000, "delta", continuous=y, delta=2.0, device=CPU)
    b = s.sample(20000, gen())
    diff = y[b["positive"].numpy()] - y[b["reference"].numpy()]
    inner = (y[b["reference"].numpy()] > 10) & (y[b["reference"].numpy()] < 90)
    assert abs(diff[inner].std() - 2.0) < 0.05 and abs(diff[inner].mean()) < 0.05


def test_discrete_positive_has_reference_class(rng):
    classes = rng.integers(0, 4, 3000)
    s = PairSampler(3000, 0, 3000, "discrete", discrete=classes, device=CPU)
    b = s.sample(2048, gen())
    assert np.array_equal(classes[b["positive"].numpy()], classes[b["reference"].numpy()])


@pytest.mark.parametrize("dim", [1, 2])
def test_mixed_positive_is_nearest_within_class(dim, rng):
    cont = rng.normal(size=(3000, dim))
    classes = rng.integers(0, 3, 3000)
    s = PairSampler(3000, 0, 3000, "delta", continuous=cont, discrete=classes, delta=0.3,
                    device=CPU)
    g = gen(1)
    ref = s._randint(256, g)
    targets = s.targets(ref, g)
    pos = s.nearest(targets, g, s.classes[ref]).numpy()
    ref = ref.numpy()
    assert np.array_equal(classes[pos], classes[ref])
    for c in range(3):
        m = classes[ref] == c
        pool = cont[classes == c]
        got = np.sqrt(((cont[pos[m]] - targets.numpy()[m]) ** 2).sum(-1))
        np.testing.assert_allclose(got, brute_nearest_distance(pool, targets.numpy()[m]),
                                   atol=1e-12)


def test_hybrid_adds_time_positive(rng):
    y = rng.normal(size=500)
    s = PairSampler(500, 0, 500, "time_delta", continuous=y, hybrid=True, time_offset=4,
                    device=CPU)
    b = s.sample(64, gen())
    assert torch.equal(b["time_positive"], b["reference"] + 4)
    assert int(b["reference"].max()) < 496


def test_same_seed_same_batch(rng):
    y = rng.normal(size=(400, 2))
    s = PairSampler(400, 0, 400, "time_delta", continuous=y, device=CPU)
    a, b = s.sample(32, gen(7)), s.sample(32, gen(7))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bad_configuration_is_named():
    with pytest.raises(ValueError, match="conditional"):
        PairSampler(100, 0, 100, "nearest", device=CPU)
    with pytest.raises(ValueError, match="continuous labels"):
        PairSampler(100, 0, 100, "time_delta", device=CPU)
    with pytest.raises(ValueError, match="time_offsets"):
        PairSampler(100, 0, 5, "time", time_offset=10, device=CPU)


def test_nearest_label_search_is_not_a_distance_matrix(rng):
    """3 million bins x 4096 targets: a brute-force distance matrix would be 98 GB."""
    labels = np.cumsum(rng.normal(size=3_000_000))
    index = NearestLabelIndex(labels, np.arange(labels.size), CPU)
    targets = rng.uniform(labels.min(), labels.max(), (4096, 1))
    got = index.query(torch.as_tensor(targets), gen()).numpy()
    order = np.sort(labels)
    at = np.clip(np.searchsorted(order, targets[:, 0]), 1, labels.size - 1)
    best = np.minimum(np.abs(order[at] - targets[:, 0]), np.abs(order[at - 1] - targets[:, 0]))
    np.testing.assert_allclose(np.abs(labels[got] - targets[:, 0]), best, atol=1e-9)
