"""Motif discovery without labels: convolutive non-negative factorisation.

The raster is explained as a per-neuron baseline plus motifs placed at sparse
onsets (Smaragdis 2004; Mackevicius et al. 2019, seqNMF):

    X(a, s) ≈ c_a + Σ_{b, δ} W(b, a, δ) H(b, s - δ)

fitted by multiplicative updates of the Poisson (KL) divergence with an L1
penalty on the onsets ``H``. The update of ``H`` correlates the raster with the
kernels — the detector's own convolution — and the update of ``W`` correlates
the raster with the onsets. Each kernel is kept at unit sum (scale goes to
``H``). The learned ``W`` then gives a matched-filter detector
``K = log(1 + W·h / c)`` for scanning other sessions with fixed templates.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["conv_nmf", "templates_to_kernels"]


def _reconstruct(H, W, c, n_time):
    return F.conv_transpose1d(H, W)[..., :n_time] + c[None, :, None]


def conv_nmf(spikes: torch.Tensor, n_motifs: int, n_delays: int, *, max_iter: int = 200,
             sparsity: float = 0.1, smooth: float = 0.0, generator=None, progress=None,
             eps: float = 1e-9) -> dict:
    """Convolutive NMF of a raster with KL multiplicative updates.

    Parameters
    ----------
    spikes : Tensor, shape (n_trials, n_units, n_time), non-negative
    n_motifs, n_delays : int
    max_iter : int
    sparsity : float
        L1 penalty on the onsets ``H``.
    smooth : float
        Gaussian smoothing (bins) of the raster before factorising, which
        tolerates spike jitter; 0 disables.
    generator : torch.Generator, optional
        For the random start.
    progress : callable(step, loss), optional

    Returns
    -------
    dict
        ``W`` (n_motifs, n_units, n_delays), unit sum each; ``H`` (n_trials,
        n_motifs, n_time); ``baseline`` (n_units,); ``loss`` list.
    """
    X = spikes
    if smooth > 0:
        half = int(np.ceil(3 * smooth))
        g = torch.exp(-0.5 * (torch.arange(-half, half + 1, dtype=X.dtype) / smooth) ** 2)
        g = (g / g.sum()).to(X.device)
        n_units = X.shape[1]
        X = F.conv1d(X, g.view(1, 1, -1).expand(n_units, 1, -1).contiguous(), padding=half,
                     groups=n_units)
    n_trials, n_units, n_time = X.shape
    W = torch.rand(n_motifs, n_units, n_delays, generator=generator, dtype=X.dtype).to(X.device)
    W = W / W.sum(dim=(1, 2), keepdim=True)
    rate = X.mean()
    H = (torch.rand(n_trials, n_motifs, n_time, generator=generator, dtype=X.dtype)
         .to(X.device) * rate)
    c = X.mean(dim=(0, 2)) * 0.5 + eps
    history = []
    try:
        for step in range(max_iter):
            R = _reconstruct(H, W, c, n_time)
            Q = F.pad(X / (R + eps), (0, n_delays - 1))
            # H ← H · (Wᵀ ⋆ (X/R)) / (Wᵀ ⋆ 1 + λ); Wᵀ ⋆ 1 = Σ W = 1 away from the end
            ones = F.pad(torch.ones_like(X[:1]), (0, n_delays - 1))
            H = H * F.conv1d(Q, W) / (F.conv1d(ones, W) + sparsity + eps)
            R = _reconstruct(H, W, c, n_time)
            Q = F.pad(X / (R + eps), (0, n_delays - 1))
            # W ← W · Σ_t H(t) (X/R)(t+δ) / Σ_t H(t)
            num = F.conv1d(Q.transpose(0, 1), H.transpose(0, 1)).permute(1, 0, 2)
            den = H.sum(dim=(0, 2))[:, None, None] + eps
            W = W * num / den
            scale = W.sum(dim=(1, 2), keepdim=True) + eps
            W = W / scale
            H = H * scale.view(1, -1, 1)
            R = _reconstruct(H, W, c, n_time)
            c = c * (X / (R + eps)).sum(dim=(0, 2)) / (n_trials * n_time)
            if step % 10 == 0 or step == max_iter - 1:
                R = _reconstruct(H, W, c, n_time)
                kl = (X * torch.log((X + eps) / (R + eps)) - X + R).sum() + sparsity * H.sum()
                history.append(float(kl))
                if progress is not None:
                    progress(step, history[-1])
    except KeyboardInterrupt:
        pass
    return {"W": W, "H": H, "baseline": c, "loss": history}


def templates_to_kernels(W: torch.Tensor, H: torch.Tensor, baseline: torch.Tensor,
                         quantile: float = 0.99, eps: float = 1e-9):
    """Matched-filter kernels from discovered templates.

    The expected spikes of one occurrence are ``W · h`` with ``h`` the typical
    onset amplitude (the mean of ``H`` above its ``quantile`` per motif); the
    Poisson log-likelihood ratio gives ``K = log(1 + W·h / c)`` and bias
    ``-Σ W·h``.

    Returns
    -------
    kernels : Tensor (n_motifs, n_units, n_delays)
    bias : Tensor (n_motifs,)
    """
    flat = H.transpose(0, 1).reshape(H.shape[1], -1)
    cut = torch.quantile(flat, quantile, dim=1, keepdim=True)
    amp = torch.where(flat >= cut, flat, torch.zeros_like(flat)).sum(1) / \
        (flat >= cut).sum(1).clamp(min=1)
    expected = W * amp[:, None, None]
    kernels = torch.log1p(expected / (baseline[None, :, None] + eps))
    return kernels, -expected.sum(dim=(1, 2))
