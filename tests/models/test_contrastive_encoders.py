"""Offset encoders: receptive fields, causal windows, residual conv maths, normalisation."""

from __future__ import annotations

import pytest
import torch

from neurodecode.models.contrastive.encoders import (
    ARCHITECTURES,
    OffsetEncoder,
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
