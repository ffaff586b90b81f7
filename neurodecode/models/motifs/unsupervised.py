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


def pairwise_lag_counts(spikes: np.ndarray, n_delays: int) -> np.ndarray:
    """Cross-correlogram of every pair of units at lags ``0 .. n_delays - 1``.

    ``C[a, a', ℓ] = Σ_trials Σ_t X(t, a) X(t + ℓ, a')``, computed as one sparse
    product, O(n_spikes × spikes within the window). Negative lags are
    ``C[a', a, ℓ]``.

    Parameters
    ----------
    spikes : ndarray (n_trials, n_time, n_units)

    Returns
    -------
    ndarray (n_units, n_units, n_delays)
    """
    from scipy import sparse

    n_trials, n_time, n_units = spikes.shape
    r, t, a = np.nonzero(spikes)
    c = spikes[r, t, a].astype(np.float64)
    rows = r * (n_time + n_delays) + t  # gap between trials: no cross-trial lags
    n_rows = n_trials * (n_time + n_delays)
    X = sparse.csr_matrix((c, (rows, a)), shape=(n_rows, n_units))
    d = np.arange(n_delays)
    sr = (rows[:, None] - d[None, :]).ravel()
    sc = (a[:, None] * n_delays + d[None, :]).ravel()
    ok = sr >= 0
    S = sparse.csr_matrix((np.repeat(c, n_delays)[ok], (sr[ok], sc[ok])),
                          shape=(n_rows, n_units * n_delays))
    return np.asarray((X.T @ S).todense()).reshape(n_units, n_units, n_delays)


def lag_affinity(spikes: np.ndarray, n_delays: int, min_z: float = 5.0):
    """Affinity of unit pairs from sharp cross-correlogram peaks, and the peak lags.

    Units of one motif fire at fixed relative lags, so their correlogram has a
    sharp excess at ``d_a' - d_a``. The excess over ±1 lag is z-scored against
    the count expected from the units' rates.

    Returns
    -------
    affinity : ndarray (n_units, n_units)
        Peak z-score, symmetric, 0 below ``min_z`` and on the diagonal.
    best_lag : ndarray (n_units, n_units) of int
        ``best_lag[a, a'] ≈ d_a' - d_a``.
    """
    n_trials, n_time, n_units = spikes.shape
    C = pairwise_lag_counts(spikes, n_delays)
    full = np.concatenate([np.transpose(C, (1, 0, 2))[..., :0:-1], C], axis=2)  # lags -D+1..D-1
    lags = np.arange(-(n_delays - 1), n_delays)
    rates = spikes.sum(axis=(0, 1)) / (n_trials * n_time)
    expected = np.outer(rates, rates)[..., None] * n_trials * n_time
    pad = np.pad(full, ((0, 0), (0, 0), (1, 1)))
    smooth = pad[..., :-2] + pad[..., 1:-1] + pad[..., 2:]
    z = (smooth - 3 * expected) / np.sqrt(3 * expected + 1)
    idx = np.arange(n_units)
    z[idx, idx] = 0
    best_lag = lags[z.argmax(axis=2)]
    affinity = np.clip(z.max(axis=2), 0, None)
    affinity = np.maximum(affinity, affinity.T)
    affinity[affinity < min_z] = 0
    return affinity, best_lag


def seed_motif(affinity: np.ndarray, best_lag: np.ndarray, n_delays: int) -> np.ndarray | None:
    """Delays (NaN = not a member) of one motif seeded from a strong, specific pair.

    The seed pair maximises affinity / sqrt(degree_i · degree_j) among links
    at least half as strong as the strongest (strong link, few partners).
    Every unit linked to both ends ``(i, j)`` at lags consistent with the
    pair's own lag (±2 bins) joins, at its lag to ``i``.
    Returns None when no pair is left.
    """
    if affinity.max() <= 0:
        return None
    # prefer pairs of units with few partners: a unit shared by two motifs links to
    # both, and seeding from it would merge them
    degree = (affinity > 0).sum(axis=1).astype(np.float64)
    score = affinity / np.sqrt(np.maximum(np.outer(degree, degree), 1.0))
    score[affinity < 0.5 * affinity.max()] = 0  # among the strong links only
    i, j = np.unravel_index(int(score.argmax()), score.shape)
    both = (affinity[i] > 0) & (affinity[j] > 0)
    consistent = np.abs(best_lag[i] - best_lag[j] - best_lag[i, j]) <= 2
    members = np.flatnonzero(both & consistent)
    keep = np.r_[i, j, members[(members != i) & (members != j)]]
    d = np.r_[0, best_lag[i, j], best_lag[i, keep[2:]]].astype(np.float64)
    d -= d.min()
    delays = np.full(affinity.shape[0], np.nan)
    ok = d < n_delays
    delays[keep[ok]] = d[ok]
    return delays


def discover_motifs(spikes: np.ndarray, n_motifs: int, n_delays: int, *, n_rounds: int = 5,
                    min_z: float = 5.0, member_fraction: float = 0.3, rng=None,
                    device="cpu", **refine_kwargs) -> dict:
    """Find motifs without labels: seed from correlogram lags, refine, explain away, repeat.

    For each motif: seed from the strongest remaining unit pair
    (:func:`seed_motif`), refine it by alternating detection and kernel
    re-estimation (:func:`refine_motifs`), take as members the units whose
    template peak exceeds ``member_fraction`` of the largest, and remove the
    affinities among them. All motifs are then refined together.

    Returns
    -------
    dict
        As :func:`refine_motifs`, plus ``seeds`` (n_motifs, n_units) delays.
    """
    rng = np.random.default_rng(rng)
    affinity, best_lag = lag_affinity(spikes, n_delays, min_z)
    n_units = spikes.shape[2]
    seeds = np.full((n_motifs, n_units), np.nan)
    found, templates = [], []
    for _ in range(4 * n_motifs):
        if len(found) == n_motifs:
            break
        delays = seed_motif(affinity, best_lag, n_delays)
        if delays is None:
            break
        one = refine_motifs(spikes, delays[None], n_delays, n_rounds=n_rounds, rng=rng,
                            device=device, **refine_kwargs)
        w = one["W"][0]
        peak = w.max(axis=1)
        members = np.flatnonzero(peak >= member_fraction * peak.max()) if peak.max() > 0 \
            else np.flatnonzero(np.isfinite(delays))
        members = np.union1d(members, np.flatnonzero(np.isfinite(delays)))
        affinity[np.ix_(members, members)] = 0
        # a seed that refines into a motif already found is explained away, not kept
        flat = w.ravel() - w.mean()
        duplicate = any(
            np.dot(flat, t) / (np.linalg.norm(flat) * np.linalg.norm(t) + 1e-12) > 0.5
            for t in templates)
        if duplicate or peak.max() <= 0:
            continue
        seeds[len(found)] = delays
        templates.append(flat)
        found.append(np.where(peak >= member_fraction * peak.max(), w.argmax(axis=1), np.nan))
    start = np.full((n_motifs, n_units), np.nan)
    for m, delays in enumerate(found):
        start[m] = delays
    result = refine_motifs(spikes, start, n_delays, n_rounds=n_rounds, rng=rng, device=device,
                           **refine_kwargs)
    result["seeds"] = seeds
    return result


def refine_motifs(spikes: np.ndarray, delays: np.ndarray, n_delays: int, *, n_rounds: int = 5,
                  jitter_bins: float = 1.5, dither: int = 10, alpha: float = 1e-4,
                  min_distance: int = 4, rng=None, device="cpu") -> dict:
    """Alternate detection with fixed kernels and kernel re-estimation from the detections.

    Each round: matched-filter kernels ``K = log(1 + W / λ₀)`` (``W``: expected
    motif spikes per (unit, delay), ``λ₀``: background spikes per bin) scan the
    raster; peaks above the ``1 - alpha`` quantile of scores on a dithered
    surrogate are taken as onsets; ``W`` becomes the onset-triggered average
    minus ``λ₀``, clipped at 0. The first ``W`` comes from seed delays with a
    Gaussian of width ``jitter_bins``.

    Returns
    -------
    dict
        ``W`` (n_motifs, n_units, n_delays) expected motif spikes, ``kernels``,
        ``bias``, ``background`` (n_units,), ``onsets`` (list of (trial, time)
        arrays per motif), ``threshold`` (n_motifs,).
    """
    from neurodecode.models.motifs.baselines import expected_spike_kernels
    from neurodecode.models.motifs.detection import SpikeIndex
    from neurodecode.models.motifs.surrogates import dither_spikes

    rng = np.random.default_rng(rng)
    n_trials, n_time, n_units = spikes.shape
    lam0 = np.maximum(spikes.sum(axis=(0, 1)) / (n_trials * n_time), 1e-6)
    W = expected_spike_kernels(delays, n_delays, dropout=0.2, jitter_bins=jitter_bins)
    index = SpikeIndex(spikes, n_delays, device)
    null_index = SpikeIndex(dither_spikes(spikes, dither, rng), n_delays, device)
    from neurodecode.metrics.events import local_maxima

    onsets = []
    threshold = np.zeros(len(W))
    for _ in range(max(int(n_rounds), 1)):
        kernels = np.log1p(W / lam0[None, :, None])
        bias = -W.sum(axis=(1, 2))
        k_t = torch.as_tensor(kernels, dtype=torch.float32, device=device)
        b_t = torch.as_tensor(bias, dtype=torch.float32, device=device)
        with torch.no_grad():
            score = index.logits(k_t, b_t).cpu().numpy().transpose(0, 2, 1)
            null = null_index.logits(k_t, b_t).cpu().numpy().transpose(0, 2, 1)
        threshold = np.quantile(null.reshape(-1, len(W)), 1 - alpha, axis=0)
        peaks = local_maxima(score, -np.inf, min_distance) & (score >= threshold)
        onsets, new_W = [], np.zeros_like(W)
        for m in range(len(W)):
            r, t = np.nonzero(peaks[..., m])
            onsets.append((r, t))
            if len(t) == 0:
                new_W[m] = W[m]
                continue
            idx = t[:, None] + np.arange(n_delays)[None, :]
            inside = idx < n_time
            win = spikes[r[:, None], np.minimum(idx, n_time - 1)] * inside[..., None]
            sta = win.sum(0).T / len(t)  # (n_units, n_delays)
            new_W[m] = np.clip(sta - lam0[:, None], 0, None)
        W = new_W
    kernels = np.log1p(W / lam0[None, :, None])
    return {"W": W, "kernels": kernels, "bias": -W.sum(axis=(1, 2)), "background": lam0,
            "onsets": onsets, "threshold": threshold}
