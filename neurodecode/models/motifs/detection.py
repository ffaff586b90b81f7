"""Detector maths: motif evidence as a temporal convolution of spikes with kernels.

The detector of Perrinet (ICANN 2023) inverts the generative model: the
log-odds that motif ``b`` starts at bin ``t`` is

    z(b, t) = bias_b + Σ_{a, δ} A(a, t + δ) K(b, a, δ),

a cross-correlation of the raster ``A`` with the kernel ``K`` along time
(``torch.nn.functional.conv1d``), one output channel per motif. Onsets near the
end of a raster see the zero-padded part of their window.

Learned heterogeneous delays use a sparse parametrisation: each synapse
(motif, neuron) has a few weights at continuous delay positions, spread onto
the delay grid by a normalised Gaussian (the DCLS construction of
Khalfaoui-Hassani et al., ICLR 2023/2024, re-derived here in plain torch),
whose width is annealed during training so the positions can move first and
become sharp delays at the end.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["motif_logits", "gaussian_delay_kernel", "kernel_delays", "init_positions_from_dense",
           "MotifConv", "SpikeIndex"]


def motif_logits(spikes: torch.Tensor, kernels: torch.Tensor,
                 bias: torch.Tensor | None = None) -> torch.Tensor:
    """Log-odds of a motif onset at every bin.

    Parameters
    ----------
    spikes : Tensor, shape (n_trials, n_units, n_time)
    kernels : Tensor, shape (n_motifs, n_units, n_delays)
    bias : Tensor, shape (n_motifs,), optional

    Returns
    -------
    Tensor, shape (n_trials, n_motifs, n_time)

    Examples
    --------
    >>> A = torch.zeros(1, 2, 6); A[0, 0, 1] = 1; A[0, 1, 3] = 1
    >>> K = torch.zeros(1, 2, 3); K[0, 0, 0] = 1; K[0, 1, 2] = 1
    >>> motif_logits(A, K)[0, 0].tolist()
    [0.0, 2.0, 0.0, 0.0, 0.0, 0.0]
    """
    n_delays = kernels.shape[-1]
    return F.conv1d(F.pad(spikes, (0, n_delays - 1)), kernels, bias)


def gaussian_delay_kernel(weights: torch.Tensor, positions: torch.Tensor, sigma,
                          n_delays: int) -> torch.Tensor:
    """Dense kernel from sparse synapses at continuous delays (Gaussian interpolation).

    ``K(b, a, δ) = Σ_p w(b, a, p) g(δ - d(b, a, p)) / Σ_δ' g(δ' - d(b, a, p))``
    with ``g`` a Gaussian of width ``sigma`` bins; positions are clamped to
    ``[0, n_delays - 1]``.

    Parameters
    ----------
    weights, positions : Tensor, shape (n_motifs, n_units, n_positions)
    sigma : float or Tensor, shape (n_motifs, n_units, n_positions)
        Width in bins (> 0), shared or per synapse.
    n_delays : int

    Returns
    -------
    Tensor, shape (n_motifs, n_units, n_delays)
    """
    grid = torch.arange(n_delays, dtype=weights.dtype, device=weights.device)
    pos = positions.clamp(0, n_delays - 1).unsqueeze(-1)
    if isinstance(sigma, torch.Tensor) and sigma.dim() > 0:
        sigma = sigma.unsqueeze(-1)
    g = torch.exp(-0.5 * ((grid - pos) / sigma) ** 2)
    g = g / g.sum(-1, keepdim=True)
    return (weights.unsqueeze(-1) * g).sum(-2)


def kernel_delays(kernels) -> np.ndarray:
    """Delay (bin) of each synapse's largest weight, shape (n_motifs, n_units)."""
    k = kernels.detach().cpu().numpy() if isinstance(kernels, torch.Tensor) else np.asarray(kernels)
    return k.argmax(axis=-1).astype(np.float64)


def init_positions_from_dense(kernels: torch.Tensor, n_positions: int, sigma: float | None = None):
    """Weights and positions of the ``n_positions`` largest entries of each dense synapse.

    With ``sigma``, each position is where a Gaussian bump of that width best
    matches the kernel (the peak of the kernel cross-correlated with the
    bump, refined below a bin by a parabola through the peak and its
    neighbours), and the bumps are placed one after another, each on what the
    previous ones leave (matching pursuit). A noisy dense kernel of a jittered
    synapse is a broad bump with several local bumps on top: its plain argmax
    can sit bins away from the bump's centre, further than the sparse refit's
    positions move.

    Parameters
    ----------
    kernels : Tensor, shape (n_motifs, n_units, n_delays)
    n_positions : int
    sigma : float, optional
        Width (bins) of the Gaussian bump; None picks the largest entries.

    Returns
    -------
    weights, positions : Tensor, shape (n_motifs, n_units, n_positions)
        ``weights`` is the kernel's value at each position (the residual's, for
        the later ones).

    Examples
    --------
    >>> k = torch.tensor([[[0., 1., 3., 2.9, 1., 0.]]])
    >>> w, p = init_positions_from_dense(k, 1, sigma=1.0)
    >>> round(float(p), 2)
    2.48
    """
    n_delays = kernels.shape[-1]
    if sigma is None:
        k = min(n_positions, n_delays)
        values, idx = kernels.topk(k, dim=-1)
        if k < n_positions:  # D smaller than the number of positions: extra ones start silent
            pad = n_positions - k
            values = torch.cat([values, values.new_zeros(*values.shape[:-1], pad)], -1)
            idx = torch.cat([idx, idx[..., :1].expand(*idx.shape[:-1], pad)], -1)
        return values.clone(), idx.to(kernels.dtype).clone()
    sigma = float(sigma)
    if sigma <= 0:
        raise ValueError(f"`sigma` must be > 0 bins, got {sigma!r}")
    grid = torch.arange(n_delays, dtype=kernels.dtype, device=kernels.device)
    lag = torch.arange(-(n_delays - 1), n_delays, dtype=kernels.dtype, device=kernels.device)
    bump = torch.exp(-0.5 * (lag / sigma) ** 2)
    residual = kernels.detach().reshape(-1, 1, n_delays).clone()
    weights, positions = [], []
    for _ in range(int(n_positions)):
        match = F.conv1d(F.pad(residual, (n_delays - 1, n_delays - 1)), bump.view(1, 1, -1))
        idx = match.argmax(-1, keepdim=True)
        left = match.gather(-1, (idx - 1).clamp(min=0))
        mid = match.gather(-1, idx)
        right = match.gather(-1, (idx + 1).clamp(max=n_delays - 1))
        curve = left - 2 * mid + right
        shift = torch.where(curve < 0, 0.5 * (left - right) / curve.clamp(max=-1e-12),
                            torch.zeros_like(curve)).clamp(-0.5, 0.5)
        pos = (idx.to(kernels.dtype) + shift).clamp(0, n_delays - 1)
        value = residual.gather(-1, idx)
        weights.append(value[:, 0, 0])
        positions.append(pos[:, 0, 0])
        # take the placed bump (peak = value) out before placing the next one
        residual = residual - value * torch.exp(-0.5 * ((grid - pos) / sigma) ** 2)
    shape = kernels.shape[:-1] + (int(n_positions),)
    return (torch.stack(weights, -1).reshape(shape).clone(),
            torch.stack(positions, -1).reshape(shape).clone())


class MotifConv(torch.nn.Module):
    """One layer of motif detectors: bias + temporal convolution with learnable kernels.

    Parameters
    ----------
    n_motifs, n_units, n_delays : int
    parametrization : {"dense", "sparse", "rate"}
        ``dense``: a free weight per (motif, neuron, delay); ``sparse``: a few
        weights at learnable continuous delays per synapse
        (:func:`gaussian_delay_kernel`); ``rate``: one weight per (motif,
        neuron), the same at every delay (a firing-rate detector, no timing).
    n_positions : int
        Delay positions per synapse for ``sparse``.
    sigma : float
        Initial Gaussian width for ``sparse`` (changed with :meth:`set_sigma`).
    learn_width : bool
        ``sparse`` only: each synapse also learns an extra width ``w`` and uses
        ``sqrt(sigma² + w²)``, so that when the annealed ``sigma`` becomes
        small a synapse can stay as wide as the spike jitter it sees.
    offset : bool
        ``sparse`` only: each synapse also has a weight constant over delays
        (a spike of a motif neuron at the wrong time is evidence *against* the
        motif, e.g. a distractor with the same neurons).
    """

    def __init__(self, n_motifs: int, n_units: int, n_delays: int,
                 parametrization: str = "dense", n_positions: int = 1, sigma: float = 1.0,
                 learn_width: bool = False, offset: bool = False):
        super().__init__()
        self.n_delays = int(n_delays)
        self.parametrization = parametrization
        self.bias = torch.nn.Parameter(torch.zeros(n_motifs))
        if parametrization == "dense":
            self.weight = torch.nn.Parameter(torch.zeros(n_motifs, n_units, n_delays))
        elif parametrization == "rate":
            self.weight = torch.nn.Parameter(torch.zeros(n_motifs, n_units, 1))
        elif parametrization == "sparse":
            self.weight = torch.nn.Parameter(torch.zeros(n_motifs, n_units, n_positions))
            self.position = torch.nn.Parameter(
                torch.linspace(0, n_delays - 1, n_positions).expand(n_motifs, n_units,
                                                                    n_positions).clone())
            self.register_buffer("sigma", torch.tensor(float(sigma)))
            self.learn_width = bool(learn_width)
            self.offset = (torch.nn.Parameter(torch.zeros(n_motifs, n_units, 1)) if offset
                           else None)
            if self.learn_width:
                self.width = torch.nn.Parameter(torch.full((n_motifs, n_units, n_positions),
                                                           0.5))
        else:
            raise ValueError(f"`parametrization` must be 'dense', 'sparse' or 'rate'; "
                             f"got {parametrization!r}")

    def set_sigma(self, sigma: float) -> None:
        self.sigma.fill_(float(sigma))

    def kernel(self) -> torch.Tensor:
        """The dense (n_motifs, n_units, n_delays) kernel this layer applies."""
        if self.parametrization == "dense":
            return self.weight
        if self.parametrization == "rate":
            return self.weight.expand(-1, -1, self.n_delays)
        kernel = gaussian_delay_kernel(self.weight, self.position, self.widths(), self.n_delays)
        if self.offset is not None:
            kernel = kernel + self.offset
        return kernel

    def widths(self):
        """Gaussian width of each sparse synapse (a float when widths are not learned)."""
        if getattr(self, "learn_width", False):
            return torch.sqrt(self.sigma ** 2 + self.width ** 2)
        return float(self.sigma)

    def delays(self) -> np.ndarray:
        """Delay (bin) of each synapse's strongest weight, shape (n_motifs, n_units)."""
        if self.parametrization == "sparse":
            best = self.weight.detach().argmax(-1, keepdim=True)
            pos = self.position.detach().clamp(0, self.n_delays - 1).gather(-1, best)[..., 0]
            return pos.cpu().numpy().astype(np.float64)
        return kernel_delays(self.kernel())

    def forward(self, spikes) -> torch.Tensor:
        """Onset log-odds (n_trials, n_motifs, n_time) from a (n_trials, n_units, n_time)
        tensor or a :class:`SpikeIndex`."""
        if isinstance(spikes, SpikeIndex):
            return spikes.logits(self.kernel(), self.bias)
        return motif_logits(spikes, self.kernel(), self.bias)


class SpikeIndex:
    """A sparse raster laid out for spike-driven convolution.

    For sparse rasters (a few % of bins hold a spike) the detector's
    convolution is cheaper driven by spikes: a spike of neuron ``a`` at bin
    ``s`` adds ``K(b, a, δ)`` to the onset log-odds at ``t = s - δ``. This is a
    sparse matrix ``S`` of shape (n_trials · n_time, n_units · n_delays), so the
    log-odds are ``S @ K_flatᵀ`` (and the kernel gradient ``Sᵀ @ grad``), at a
    cost O(n_spikes · n_delays · n_motifs) instead of O(n_bins · n_units ·
    n_delays · n_motifs), with the same result as :func:`motif_logits`.

    Parameters
    ----------
    spikes : ndarray, shape (n_trials, n_time, n_units)
    n_delays : int
    device : torch.device
    """

    def __init__(self, spikes: np.ndarray, n_delays: int, device="cpu"):
        import warnings

        from scipy import sparse

        r, s, a = np.nonzero(spikes)
        count = spikes[r, s, a].astype(np.float32)
        n_trials, n_time, n_units = spikes.shape
        d = np.arange(n_delays)
        t = s[:, None] - d[None, :]
        ok = t >= 0
        rows = (np.broadcast_to(r[:, None], t.shape) * n_time + t)[ok]
        cols = (np.broadcast_to(a[:, None], t.shape) * n_delays + d[None, :])[ok]
        vals = np.broadcast_to(count[:, None], t.shape)[ok]
        shape = (n_trials * n_time, n_units * n_delays)
        mat = sparse.csr_matrix((vals, (rows, cols)), shape=shape)
        mat_t = mat.T.tocsr()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            self.matrix = _to_torch_csr(mat, device)
            self.matrix_t = _to_torch_csr(mat_t, device)
        self.n_trials, self.n_time, self.n_units, self.n_delays = (n_trials, n_time, n_units,
                                                                   n_delays)

    def logits(self, kernels: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """Same as :func:`motif_logits`, shape (n_trials, n_motifs, n_time)."""
        if kernels.shape[1:] != (self.n_units, self.n_delays):
            raise ValueError(f"kernels {tuple(kernels.shape)} do not match the index "
                             f"({self.n_units} units, {self.n_delays} delays)")
        flat = kernels.reshape(kernels.shape[0], -1).T  # (N·D, M)
        out = _SparseMatmul.apply(flat, self.matrix, self.matrix_t)  # (R·T, M)
        if bias is not None:
            out = out + bias
        return out.T.reshape(-1, self.n_trials, self.n_time).transpose(0, 1)


def _to_torch_csr(mat, device):
    return torch.sparse_csr_tensor(torch.as_tensor(mat.indptr, dtype=torch.int64),
                                   torch.as_tensor(mat.indices, dtype=torch.int64),
                                   torch.as_tensor(mat.data, dtype=torch.float32),
                                   size=mat.shape, device=device)


class _SparseMatmul(torch.autograd.Function):
    """``S @ W`` with the gradient ``Sᵀ @ grad`` through a stored transpose (fast on CPU)."""

    @staticmethod
    def forward(ctx, weight, matrix, matrix_t):
        ctx.matrix_t = matrix_t
        return matrix @ weight

    @staticmethod
    def backward(ctx, grad):
        return ctx.matrix_t @ grad.contiguous(), None, None
