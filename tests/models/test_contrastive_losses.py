"""InfoNCE against a direct numpy computation, and the temperature module."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodecode.models.contrastive.losses import (
    Temperature,
    infonce,
    paired_similarity,
    pairwise_similarity,
)


def numpy_infonce(ref, pos, neg, tau, metric):
    """Loop-by-loop InfoNCE: -s(r,p)/tau + log sum_j exp(s(r,n_j)/tau), averaged."""

    def sim(a, b):
        if metric == "cosine":
            return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        return -float(np.sum((a - b) ** 2))

    align, unif = [], []
    for i in range(len(ref)):
        align.append(-sim(ref[i], pos[i]) / tau)
        unif.append(np.log(sum(np.exp(sim(ref[i], n) / tau) for n in neg)))
    return np.mean(align) + np.mean(unif), np.mean(align), np.mean(unif)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("tau", [1.0, 0.1])
def test_infonce_matches_numpy(metric, tau, rng):
    ref, pos = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    neg = rng.normal(size=(11, 3))
    expected = numpy_infonce(ref, pos, neg, tau, metric)
    got = infonce(*(torch.as_tensor(a) for a in (ref, pos, neg)), temperature=tau,
                  metric=metric)
    np.testing.assert_allclose([float(g) for g in got], expected, rtol=1e-10, atol=1e-10)


def test_similarities_match_numpy(rng):
    a, b = rng.normal(size=(4, 5)), rng.normal(size=(6, 5))
    ta, tb = torch.as_tensor(a), torch.as_tensor(b)
    cos = (a / np.linalg.norm(a, axis=1, keepdims=True)) @ (
        b / np.linalg.norm(b, axis=1, keepdims=True)).T
    np.testing.assert_allclose(pairwise_similarity(ta, tb, "cosine").numpy(), cos, atol=1e-12)
    sq = ((a[:, None] - b[None]) ** 2).sum(-1)
    np.testing.assert_allclose(pairwise_similarity(ta, tb, "euclidean").numpy(), -sq,
                               atol=1e-10)
    np.testing.assert_allclose(paired_similarity(ta, ta, "euclidean").numpy(), 0.0)


def test_perfect_alignment_lowers_the_loss(rng):
    ref = torch.as_tensor(rng.normal(size=(32, 4)))
    neg = torch.as_tensor(rng.normal(size=(32, 4)))
    aligned = infonce(ref, ref, neg)[0]
    shuffled = infonce(ref, ref[torch.randperm(32)], neg)[0]
    assert aligned < shuffled


def test_unknown_metric_is_named():
    with pytest.raises(ValueError, match="distance"):
        infonce(torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(2, 2), metric="manhattan")


def test_learned_temperature_gets_gradient_and_floor():
    t = Temperature(1.0, learn=True, min_temperature=0.5)
    ref = torch.randn(16, 3)
    loss = infonce(ref, ref, torch.randn(16, 3), temperature=t())[0]
    loss.backward()
    assert t.log_tau.grad is not None and float(t.log_tau.grad) != 0.0
    with torch.no_grad():
        t.log_tau.fill_(np.log(0.01))
    assert float(t().detach()) == pytest.approx(0.5)
    fixed = Temperature(0.3)
    assert list(fixed.parameters()) == [] and float(fixed()) == pytest.approx(0.3)


def test_bad_temperature_is_named():
    with pytest.raises(ValueError, match="temperature"):
        Temperature(0.0)
    with pytest.raises(ValueError, match="min_temperature"):
        Temperature(0.2, learn=True, min_temperature=0.5)


def test_reference_negatives_leave_out_self(rng):
    """``exclude_offset``: references double as negatives, each without its own row."""
    ref, pos = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    other = rng.normal(size=(4, 3))
    neg = np.concatenate([other, ref])  # references sit at rows 4..9
    got = infonce(*(torch.as_tensor(a) for a in (ref, pos, neg)), exclude_offset=4)
    expected = []
    for i in range(6):
        keep = [j for j in range(10) if j != 4 + i]
        expected.append(numpy_infonce(ref[i:i + 1], pos[i:i + 1], neg[keep], 1.0, "cosine")[0])
    assert float(got[0]) == pytest.approx(np.mean(expected), abs=1e-10)


def test_unit_norm_shortcut_equals_cosine(rng):
    """Embeddings of a normalising encoder: dot products are the cosine similarities."""
    z = torch.nn.functional.normalize(torch.as_tensor(rng.normal(size=(30, 4))), dim=-1)
    z.requires_grad_(True)
    full = infonce(z[:10], z[10:20], z[20:], 0.5, "cosine")
    grad_full = torch.autograd.grad(full[0], z)[0]
    short = infonce(z[:10], z[10:20], z[20:], 0.5, "cosine", unit_norm=True)
    grad_short = torch.autograd.grad(short[0], z)[0]
    for a, b in zip(full, short, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    # gradients differ only by the radial part, which the encoder's projection removes
    def tangential(g):
        return g - (g * z).sum(-1, keepdim=True) * z

    torch.testing.assert_close(tangential(grad_full), tangential(grad_short), rtol=1e-10,
                               atol=1e-12)
