"""Encoders of contrastive embeddings: the offset-model family and an MLP for single samples.

An encoder maps a window of ``receptive_field`` consecutive time bins of a
``(time, unit)`` array to one point of the embedding. Inputs are channels-last
``(batch, time, unit)``, as gathered from a ``(time, unit)`` recording, and a
longer window gives one output per position, so the same network embeds a whole
recording in one pass.

Architectures (``receptive_field`` in samples):

- ``"offset1-model"``: MLP on single samples (hidden, hidden, hidden/2, output).
- ``"offset5-model"``: conv(k=2), one residual conv(k=3) block, conv(k=2).
- ``"offset10-model"``: conv(k=2), three residual conv(k=3) blocks, conv(k=3).
- ``"offset36-model"``: conv(k=2), sixteen residual conv(k=3) blocks, conv(k=3).

GELU between layers; a residual block adds its input, cropped by one sample at
each end, to ``GELU(conv(input))``. Optionally the output is normalised onto the
unit hypersphere. Multi-session encoders keep one input layer per session (each
with its own number of units) in front of a shared trunk.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ARCHITECTURES", "receptive_field", "window_offsets", "TimeConv", "OffsetEncoder"]

# name -> (receptive field, number of residual blocks, last kernel)
ARCHITECTURES = {
    "offset1-model": (1, 0, 1),
    "offset5-model": (5, 1, 2),
    "offset10-model": (10, 3, 3),
    "offset36-model": (36, 16, 3),
}


def _check_architecture(name: str) -> None:
    if name not in ARCHITECTURES:
        raise ValueError(f"`model_architecture` must be one of {sorted(ARCHITECTURES)}; "
                         f"got {name!r}.")


def receptive_field(name: str) -> int:
    """Number of time bins one output of architecture ``name`` sees.

    Examples
    --------
    >>> receptive_field("offset10-model")
    10
    """
    _check_architecture(name)
    return ARCHITECTURES[name][0]


def window_offsets(name: str, causal: bool = False) -> tuple[int, int]:
    """Samples before and after the embedded time bin inside its window.

    A centred window of 10 bins for bin ``t`` spans ``t-5 .. t+4``; a causal one
    ``t-9 .. t`` (only the past and the present).

    Examples
    --------
    >>> window_offsets("offset10-model"), window_offsets("offset10-model", causal=True)
    ((5, 4), (9, 0))
    """
    rf = receptive_field(name)
    left = rf - 1 if causal else rf // 2
    return left, rf - 1 - left


class TimeConv(nn.Module):
    """1-D convolution over time on channels-last input, as one GEMM per kernel tap.

    Parameters
    ----------
    n_in, n_out : int
        Input and output channels.
    kernel : int
        Kernel length in time bins (no padding, stride 1).

    Notes
    -----
    The weight has ``torch.nn.Conv1d``'s layout ``(n_out, n_in, kernel)`` and
    initialisation; input ``(batch, time, n_in)`` gives ``(batch, time-kernel+1, n_out)``.
    """

    def __init__(self, n_in: int, n_out: int, kernel: int):
        super().__init__()
        self.kernel = kernel
        self.weight = nn.Parameter(torch.empty(n_out, n_in, kernel))
        self.bias = nn.Parameter(torch.empty(n_out))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        bound = 1.0 / math.sqrt(n_in * kernel)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel
        n_pos = x.shape[1] - k + 1
        # one GEMM per tap on shifted views: cheaper than im2col (unfold's backward
        # scatters) and than torch.nn.functional.conv1d for these short windows
        out = F.linear(x[:, :n_pos], self.weight[:, :, 0], self.bias)
        for j in range(1, k):
            out = out + F.linear(x[:, j:j + n_pos], self.weight[:, :, j])
        return out


class _Residual(nn.Module):
    def __init__(self, n_hidden: int):
        super().__init__()
        self.conv = TimeConv(n_hidden, n_hidden, 3)

    def forward(self, x):
        return x[:, 1:-1] + F.gelu(self.conv(x))


class OffsetEncoder(nn.Module):
    """Offset-model encoder (see module docstring) with per-session input layers.

    Parameters
    ----------
    n_inputs : int or sequence of int
        Units per session; one input layer is made for each.
    n_hidden : int
        Hidden channels.
    n_outputs : int
        Embedding dimension.
    architecture : str
        One of :data:`ARCHITECTURES`.
    normalize : bool
        Project outputs onto the unit hypersphere.

    Examples
    --------
    >>> import torch
    >>> enc = OffsetEncoder(20, 16, 3, "offset10-model")
    >>> enc(torch.zeros(4, 10, 20)).shape, enc(torch.zeros(1, 15, 20)).shape
    (torch.Size([4, 1, 3]), torch.Size([1, 6, 3]))
    """

    def __init__(self, n_inputs, n_hidden: int, n_outputs: int,
                 architecture: str = "offset10-model", normalize: bool = True):
        super().__init__()
        _check_architecture(architecture)
        rf, n_blocks, last_kernel = ARCHITECTURES[architecture]
        self.architecture = architecture
        self.receptive_field = rf
        self.normalize = normalize
        self.n_hidden = n_hidden
        n_inputs = [n_inputs] if isinstance(n_inputs, int) else list(n_inputs)
        if rf == 1:
            half = max(n_hidden // 2, 1)
            self.inputs = nn.ModuleList(TimeConv(n, n_hidden, 1) for n in n_inputs)
            self.trunk = nn.ModuleList([TimeConv(n_hidden, n_hidden, 1),
                                        TimeConv(n_hidden, half, 1)])
            self.head = TimeConv(half, n_outputs, 1)
        else:
            self.inputs = nn.ModuleList(TimeConv(n, n_hidden, 2) for n in n_inputs)
            self.trunk = nn.ModuleList(_Residual(n_hidden) for _ in range(n_blocks))
            self.head = TimeConv(n_hidden, n_outputs, last_kernel)

    @property
    def n_sessions(self) -> int:
        return len(self.inputs)

    def add_session(self, n_inputs: int) -> int:
        """Append an input layer for a new session; return its index."""
        kernel = self.inputs[0].kernel
        self.inputs.append(TimeConv(n_inputs, self.n_hidden, kernel).to(
            self.inputs[0].weight.device))
        return len(self.inputs) - 1

    def forward(self, x: torch.Tensor, session: int = 0) -> torch.Tensor:
        """Embed windows: ``(batch, time, unit)`` → ``(batch, time - rf + 1, n_outputs)``."""
        h = F.gelu(self.inputs[session](x))
        for layer in self.trunk:
            h = layer(h) if isinstance(layer, _Residual) else F.gelu(layer(h))
        z = self.head(h)
        return F.normalize(z, dim=-1) if self.normalize else z
