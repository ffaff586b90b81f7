"""Offset encoders: receptive fields, causal windows, residual conv maths, normalisation,
and the fused training pass (dense and sparse first layer) against autograd."""

from __future__ import annotations

import pytest
import torch

from neurodecode.models.contrastive.encoders import (
    ARCHITECTURES,
    OffsetEncoder,
    SparseRows,
    TimeConv,
    receptive_field,
    window_offsets,
)


@pytest.mark.parametrize("kernel", [1, 2, 3])
def test_timeconv_equals_conv1d(kernel):
    torch.manual_seed(0)
    conv = TimeConv(5, 4, kernel)
    x = torch.randn(3, 9, 5)
    ref = torch.nn.functional.conv1d(x.transpose(1, 2), conv.weight, conv.bias).transpose(1, 2)
    torch.testing.assert_close(conv(x), ref, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_receptive_field_is_exact(name):
    """Output t depends on inputs t..t+rf-1 of the window and on nothing else."""
    torch.manual_seed(0)
    rf = receptive_field(name)
    assert rf == int(name.split("-")[0].removeprefix("offset"))
    enc = OffsetEncoder(6, 16, 3, name).double()
    x = torch.randn(1, rf + 4, 6, dtype=torch.float64, requires_grad=True)
    out = enc(x)
    assert out.shape == (1, 5, 3)
    out[0, 2].sum().backward()
    touched = (x.grad[0].abs().sum(-1) > 0).nonzero().ravel().tolist()
    assert touched == list(range(2, 2 + rf))


def test_window_offsets_centred_and_causal():
    for name in ARCHITECTURES:
        rf = receptive_field(name)
        left, right = window_offsets(name)
        assert left + right + 1 == rf and left - right in (0, 1)
        assert window_offsets(name, causal=True) == (rf - 1, 0)


def test_hypersphere_option():
    torch.manual_seed(0)
    x = torch.randn(8, 10, 4)
    z = OffsetEncoder(4, 8, 5, "offset10-model", normalize=True)(x)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(8, 1))
    z = OffsetEncoder(4, 8, 5, "offset10-model", normalize=False)(x)
    assert not torch.allclose(z.norm(dim=-1), torch.ones(8, 1))


def test_per_session_input_layers_share_the_trunk():
    enc = OffsetEncoder([4, 7], 8, 3, "offset5-model")
    assert enc(torch.randn(2, 5, 4), 0).shape == enc(torch.randn(2, 5, 7), 1).shape
    new = enc.add_session(11)
    assert new == 2 and enc(torch.randn(2, 5, 11), new).shape == (2, 1, 3)
    assert enc.inputs[0].weight.shape[1] == 4 and enc.inputs[2].weight.shape[1] == 11


def test_unknown_architecture_is_named():
    with pytest.raises(ValueError, match="model_architecture"):
        OffsetEncoder(3, 8, 2, "offset7-model")


def _spikes(n_time, n_units, rate, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.poisson(torch.rand(n_time, n_units, generator=g, dtype=torch.float64) * rate)


def test_sparse_rows_gather_matches_dense_rows():
    values = _spikes(50, 6, 0.4)
    rows = SparseRows(values)
    assert rows.density == pytest.approx(float((values != 0).double().mean()))
    starts = torch.tensor([3, 0, 40, 3])
    cols, vals, offsets, row_of = rows.gather(starts, 7)
    dense = torch.zeros(len(starts) * 7, 6, dtype=torch.float64)
    dense[row_of, cols] = vals
    # time-major bags: bag p * len(starts) + b is row starts[b] + p
    expected = values[(torch.arange(7)[:, None] + starts[None, :]).reshape(-1)]
    torch.testing.assert_close(dense, expected, rtol=0, atol=0)
    # every bag starts where the previous one's entries end
    assert offsets[0] == 0 and bool((torch.diff(offsets) >= 0).all())
    assert torch.equal(torch.bincount(row_of, minlength=len(starts) * 7),
                       torch.diff(torch.cat([offsets, torch.tensor([len(cols)])])))


def test_sparse_rows_only_for_sparse_recordings():
    assert SparseRows.maybe(_spikes(100, 10, 0.1)) is not None
    assert SparseRows.maybe(torch.randn(100, 10)) is None


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_forward_windows_equals_module_forward_and_autograd(name, normalize, sparse):
    """The fused pass: same embeddings and same parameter gradients as autograd."""
    torch.manual_seed(0)
    enc = OffsetEncoder([7, 5], 16, 3, name, normalize=normalize).double()
    values = _spikes(120, 5, 0.3)
    rows = SparseRows(values) if sparse else None
    rf = enc.receptive_field
    for length in (rf, rf + 3):
        starts = torch.randint(0, 120 - length, (9,))
        weights = torch.randn(9, length - rf + 1, 3, dtype=torch.float64)
        ref = enc(values[starts[:, None] + torch.arange(length)], 1)
        (ref * weights).sum().backward()
        expected = {k: p.grad.clone() for k, p in enc.named_parameters() if p.grad is not None}
        enc.zero_grad(set_to_none=True)
        out = enc.forward_windows(values, starts, length, 1, rows=rows)
        (out * weights).sum().backward()
        got = {k: p.grad.clone() for k, p in enc.named_parameters() if p.grad is not None}
        enc.zero_grad(set_to_none=True)
        torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)
        assert got.keys() == expected.keys() and not any(k.startswith("inputs.0") for k in got)
        for k in got:
            torch.testing.assert_close(got[k], expected[k], rtol=1e-10, atol=1e-12)


def test_forward_windows_skips_frozen_layers():
    """Only the input layer trains (``adapt``): its gradient is still exact."""
    torch.manual_seed(0)
    enc = OffsetEncoder(5, 8, 3, "offset10-model").double()
    for p in [*enc.trunk.parameters(), *enc.head.parameters()]:
        p.requires_grad_(False)
    values = _spikes(60, 5, 0.5)
    starts = torch.tensor([0, 7, 30])
    enc(values[starts[:, None] + torch.arange(10)]).sum().backward()
    expected = enc.inputs[0].weight.grad.clone()
    enc.zero_grad(set_to_none=True)
    enc.forward_windows(values, starts, 10).sum().backward()
    torch.testing.assert_close(enc.inputs[0].weight.grad, expected, rtol=1e-10, atol=1e-12)
    assert enc.head.weight.grad is None
