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

Training batches go through :meth:`OffsetEncoder.forward_windows`: the same
network as ``forward`` (tested equal, values and gradients) with a
hand-written backward pass (one autograd node for the whole encoder) on
time-major activations ``(position, window, channel)``, where each kernel tap
of each layer is one GEMM on a contiguous block of rows (no unfolding, no
scattered adds in the backward pass). Spike counts are mostly zeros (a few
per cent of bins hold a spike): for such recordings (:data:`SPARSE_DENSITY`)
the first layer, which holds most of the arithmetic, is computed from the
non-zero entries only (:class:`SparseRows`, an embedding-bag sum of weight
columns), exactly the same linear map.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ARCHITECTURES", "receptive_field", "window_offsets", "TimeConv", "OffsetEncoder",
           "SparseRows", "window_stack"]

#: recordings with at most this fraction of non-zero bins feed the first layer sparsely
SPARSE_DENSITY = 0.15

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


def _windows_rows(starts: torch.Tensor, length: int) -> torch.Tensor:
    """Recording rows of each window, time-major: entry ``p * B + b`` is ``starts[b] + p``."""
    return (torch.arange(length, device=starts.device)[:, None] + starts[None, :]).reshape(-1)


class SparseRows:
    """Non-zero entries of a ``(time, unit)`` recording, row by row (CSR).

    Parameters
    ----------
    values : torch.Tensor, shape (time, unit)

    Examples
    --------
    >>> import torch
    >>> rows = SparseRows(torch.tensor([[0.0, 2.0], [0.0, 0.0], [1.0, 3.0]]))
    >>> cols, vals, offsets, row_of = rows.gather(torch.tensor([0, 1]), 2)
    >>> cols.tolist(), vals.tolist(), offsets.tolist()
    ([1, 0, 1], [2.0, 1.0, 3.0], [0, 1, 1, 1])
    """

    def __init__(self, values: torch.Tensor):
        nz = values != 0
        counts = nz.sum(1)
        self.n_units = values.shape[1]
        self.indptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        r, c = nz.nonzero(as_tuple=True)
        self.cols = c
        self.vals = values[r, c]
        self.density = float(self.vals.numel()) / max(values.numel(), 1)

    @classmethod
    def maybe(cls, values: torch.Tensor, max_density: float = SPARSE_DENSITY):
        """``SparseRows(values)`` if at most ``max_density`` of its entries are non-zero."""
        if values.numel() == 0:
            return None
        density = float((values != 0).sum()) / values.numel()
        return cls(values) if density <= max_density else None

    def gather(self, starts: torch.Tensor, length: int):
        """Entries of rows ``s .. s+length-1`` of each window, time-major, bag by bag.

        Bag ``p * len(starts) + b`` is row ``starts[b] + p``. Returns ``cols, vals,
        offsets, row_of``: the unit and value of each entry, where each bag
        begins, and the bag of each entry.
        """
        rows = _windows_rows(starts, length)
        lo = self.indptr[rows]
        counts = self.indptr[rows + 1] - lo
        ends = counts.cumsum(0)
        offsets = ends - counts
        total = int(ends[-1]) if len(ends) else 0
        row_of = torch.repeat_interleave(torch.arange(len(rows), device=rows.device), counts,
                                         output_size=total)
        pos = torch.arange(total, device=rows.device) - (offsets - lo)[row_of]
        return self.cols[pos], self.vals[pos], offsets, row_of


def _sparse_first_layer(sparse, weight, bias, n_windows, length):
    """Pre-activation ``(Q, B, n_out)`` of a ``(n_out, n_in, k)`` conv on sparse rows."""
    cols, vals, offsets, _ = sparse
    n_out, n_in, k = weight.shape
    table = weight.permute(1, 2, 0).reshape(n_in, k * n_out)  # row c: every tap's column c
    y = F.embedding_bag(cols, table, offsets, mode="sum", per_sample_weights=vals)
    y = y.view(length, n_windows, k, n_out)
    q = length - k + 1
    a = y[:q, :, 0] + bias
    for j in range(1, k):
        a += y[j:j + q, :, j]
    return a


def _sparse_first_grad(sparse, da, n_in, length):
    """Weight gradient ``(n_out, n_in, k)`` of :func:`_sparse_first_layer`."""
    cols, vals, _, row_of = sparse
    q, b, n_out = da.shape
    k = length - q + 1
    dy = da.new_zeros(length, b, k, n_out)
    for j in range(k):
        dy[j:j + q, :, j] = da
    # (unit x row) sparse input times the output gradient of every row
    xt = torch.sparse_coo_tensor(torch.stack([cols, row_of]), vals, (n_in, length * b),
                                 check_invariants=False)
    table = torch.sparse.mm(xt, dy.view(length * b, k * n_out))
    return table.view(n_in, k, n_out).permute(2, 0, 1).contiguous()


def _conv_time_major(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Conv of time-major ``(P, B, C)`` → ``(P-k+1, B, n_out)``: one accumulating GEMM per tap.

    Tap ``j`` reads rows ``j .. j+Q-1``, a contiguous block in this layout, so
    nothing is copied or unfolded.
    """
    n_out, c, k = weight.shape
    q = h.shape[0] - k + 1
    taps = weight.permute(2, 1, 0)  # (k, C, n_out)
    a = torch.addmm(bias, h[:q].reshape(-1, c), taps[0])
    for j in range(1, k):
        a.addmm_(h[j:j + q].reshape(-1, c), taps[j])
    return a.view(q, h.shape[1], n_out)


class _WindowStack(torch.autograd.Function):
    """The offset-model network on a batch of windows, as one autograd node.

    Activations are time-major ``(position, window, channel)``. ``first`` is the
    first layer's input: ``(x,)``, the windows ``(length, B, n_units)``, or
    ``(cols, vals, offsets, row_of)`` from :meth:`SparseRows.gather`. ``kinds``
    names each layer (``"gelu"``: GELU(conv), ``"res"``: crop + GELU(conv),
    ``"linear"``); ``params`` are ``weight, bias`` per layer. Returns
    ``(Q_last, B, n_out)``.
    """

    @staticmethod
    def forward(ctx, n_windows, length, kinds, normalize, n_first, *tensors):
        first, params = tensors[:n_first], tensors[n_first:]
        h = first[0] if n_first == 1 else None
        inputs, pre = [], []
        for i, kind in enumerate(kinds):
            weight, bias = params[2 * i], params[2 * i + 1]
            if i == 0 and n_first == 4:
                a = _sparse_first_layer(first, weight, bias, n_windows, length)
            else:
                a = _conv_time_major(h, weight, bias)
            inputs.append(h)
            pre.append(a)
            if kind == "gelu":
                h = F.gelu(a)
            elif kind == "res":
                h = F.gelu(a).add_(h[1:-1])
            else:
                h = a
        norm = h
        if normalize:
            norm = torch.linalg.vector_norm(h, dim=-1, keepdim=True)
            h = h / norm
        ctx.kinds, ctx.normalize, ctx.n_first, ctx.length = kinds, normalize, n_first, length
        ctx.save_for_backward(h, norm, *first, *inputs[1:], *pre, *params)
        return h

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        kinds, n_first = ctx.kinds, ctx.n_first
        n = len(kinds)
        saved = ctx.saved_tensors
        z, norm = saved[0], saved[1]
        first = saved[2:2 + n_first]
        rest = saved[2 + n_first:]
        inputs = (first[0] if n_first == 1 else None,) + tuple(rest[:n - 1])
        pre, params = rest[n - 1:2 * n - 1], rest[2 * n - 1:]
        needs = ctx.needs_input_grad[5 + n_first:]
        none = (None,) * (5 + n_first)
        layer_needs = [needs[2 * i] or needs[2 * i + 1] for i in range(n)]
        if not any(layer_needs):
            return none + (None,) * len(params)
        lowest = layer_needs.index(True)
        g = grad.contiguous()
        if ctx.normalize:
            g = (g - z * (z * g).sum(-1, keepdim=True)) / norm
        grads = [None] * len(params)
        for i in range(n - 1, lowest - 1, -1):
            weight = params[2 * i]
            n_out, n_in, k = weight.shape
            a = pre[i]
            q = a.shape[0]
            da = g if kinds[i] == "linear" else torch.ops.aten.gelu_backward(g, a)
            da2 = da.reshape(-1, n_out)
            if needs[2 * i]:
                if i == 0 and n_first == 4:
                    grads[0] = _sparse_first_grad(first, da, n_in, ctx.length)
                else:
                    h = inputs[i]
                    grads[2 * i] = torch.stack([da2.T @ h[j:j + q].reshape(-1, n_in)
                                                for j in range(k)], dim=2)
            if needs[2 * i + 1]:
                grads[2 * i + 1] = da2.sum(0)
            if i == lowest:
                break
            # input gradient: tap j adds da @ W_j to rows j .. j+Q-1 (contiguous blocks)
            taps = weight.permute(2, 0, 1)  # (k, n_out, C)
            dh = da.new_empty(q + k - 1, a.shape[1], n_in)
            torch.mm(da2, taps[0], out=dh[:q].view(-1, n_in))
            dh[q:].zero_()
            for j in range(1, k):
                dh[j:j + q].view(-1, n_in).addmm_(da2, taps[j])
            if kinds[i] == "res":
                dh[1:-1] += g
            g = dh
        return none + tuple(grads)


def window_stack(first, n_windows: int, length: int, layers, normalize: bool) -> torch.Tensor:
    """Run ``layers`` (``(TimeConv, kind)`` pairs) on windows of ``length`` bins.

    Parameters
    ----------
    first : torch.Tensor or tuple
        The first layer's input: the windows, time-major ``(length, n_windows,
        n_units)``, or the tuple returned by :meth:`SparseRows.gather`.
    n_windows, length : int
    layers : list of (TimeConv, str)
        Kinds ``"gelu"``, ``"res"`` (residual block) or ``"linear"``.
    normalize : bool

    Returns
    -------
    torch.Tensor, shape (n_windows, positions, n_out)
    """
    kinds = tuple(kind for _, kind in layers)
    params = [t for conv, _ in layers for t in (conv.weight, conv.bias)]
    first = tuple(first) if isinstance(first, (tuple, list)) else (first,)
    out = _WindowStack.apply(n_windows, length, kinds, normalize, len(first), *first, *params)
    return out.transpose(0, 1)



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

    def layers(self, session: int = 0) -> list:
        """``(TimeConv, kind)`` of each layer through session ``session``'s input layer."""
        out = [(self.inputs[session], "gelu")]
        out += [(layer.conv, "res") if isinstance(layer, _Residual) else (layer, "gelu")
                for layer in self.trunk]
        return out + [(self.head, "linear")]

    def forward_windows(self, values: torch.Tensor, starts: torch.Tensor, length: int,
                        session: int = 0, rows: SparseRows | None = None) -> torch.Tensor:
        """Embed windows ``values[s : s + length]`` of a recording, one per start.

        Same result as ``self(values[starts[:, None] + arange(length)], session)``,
        computed by :func:`window_stack` (faster training steps).

        Parameters
        ----------
        values : torch.Tensor, shape (time, unit)
        starts : torch.Tensor of int, shape (B,)
        length : int
            Window length, at least the receptive field.
        session : int
        rows : SparseRows, optional
            The non-zero entries of ``values``: the first layer then costs in
            proportion to them (same result up to float rounding).

        Returns
        -------
        torch.Tensor, shape (B, length - rf + 1, n_outputs)
        """
        layers = self.layers(session)
        if rows is not None:
            first = rows.gather(starts, length)
        else:
            first = values.index_select(0, _windows_rows(starts, length)).view(
                length, starts.shape[0], values.shape[1])
        return window_stack(first, starts.shape[0], length, layers, self.normalize)

    def forward(self, x: torch.Tensor, session: int = 0) -> torch.Tensor:
        """Embed windows: ``(batch, time, unit)`` → ``(batch, time - rf + 1, n_outputs)``."""
        h = F.gelu(self.inputs[session](x))
        for layer in self.trunk:
            h = layer(h) if isinstance(layer, _Residual) else F.gelu(layer(h))
        z = self.head(h)
        return F.normalize(z, dim=-1) if self.normalize else z
