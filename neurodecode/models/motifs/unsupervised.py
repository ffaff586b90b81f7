"""Motif discovery without labels: correlogram-lag seeds refined by detection, or cNMF.

``discover_motifs`` (``SpikingMotifDetector(discovery="lags")``, the default):

1. every unit pair's cross-correlogram is scored for a *sharp* excess over its
   own local level (``lag_zscores``: the prediction of spike dithering, so
   co-varying rates and rate-matched distractors score nothing);
2. a motif is grown from a strong pair of low-degree units, adding the unit
   and delay best supported by all members at their implied lags
   (``seed_motif``); the correlogram excess at the motif's own lags is then
   removed (``explain_away``) — only those lags, so a unit shared with another
   motif keeps its other peak;
3. each seed is refined by alternating detection with a matched filter and
   re-estimation of the template as the triggered average (``refine_motifs``,
   with window realignment and a refractory against side lobes); seeds that
   refine into a motif already found are dropped; all motifs are refined
   together at the end. Slots left without significant lag structure stay
   empty: ``n_motifs`` is an upper bound.

``conv_nmf`` (``discovery="cnmf"``) is a convolutive non-negative
factorisation (Smaragdis 2004; Mackevicius et al. 2019, seqNMF):

    X(a, s) ≈ c_a + Σ_{b, δ} W(b, a, δ) H(b, s - δ)

fitted by multiplicative updates of the Poisson (KL) divergence with an L1
penalty on the onsets ``H``; ``templates_to_kernels`` turns its ``W`` into a
matched filter ``K = log(1 + W·h / c)`` for scanning other sessions.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["conv_nmf", "templates_to_kernels", "discover_motifs", "refine_motifs", "lag_zscores",
           "seed_motif", "explain_away", "template_delays", "peak_kernel_correlation"]


def _reconstruct(H, W, c, n_time):
    return F.conv_transpose1d(H, W)[..., :n_time] + c[None, :, None]


def _lag_seed_templates(spikes: torch.Tensor, n_motifs: int, n_delays: int, min_z: float = 5.0):
    """Up to ``n_motifs`` seed delay patterns (NaN rows when fewer) from correlogram lags."""
    values = np.rint(spikes.detach().cpu().numpy()).astype(np.int64).transpose(0, 2, 1)
    z = lag_zscores(values, n_delays)
    seeds = np.full((n_motifs, spikes.shape[1]), np.nan)
    for m in range(n_motifs):
        d = seed_motif(z, n_delays, min_z)
        if d is None:
            break
        seeds[m] = d
        explain_away(z, d)
    return seeds


def _correlate_lags(H: torch.Tensor, Q: torch.Tensor, n_delays: int) -> torch.Tensor:
    """``out[b, a, δ] = Σ_{r,t} H[r, b, t] Q[r, a, t + δ]`` as one matmul per delay.

    ``Q`` is padded by ``n_delays - 1`` bins at the end. Much cheaper than a
    convolution whose kernel spans the whole recording.
    """
    n_time = H.shape[2]
    Hf = H.transpose(0, 1).reshape(H.shape[1], -1)  # (n_motifs, n_trials * n_time)
    out = [Hf @ Q[..., d:d + n_time].transpose(0, 1).reshape(Q.shape[1], -1).T
           for d in range(n_delays)]
    return torch.stack(out, dim=2)


def conv_nmf(spikes: torch.Tensor, n_motifs: int, n_delays: int, *, max_iter: int = 200,
             sparsity: float = 0.1, smooth: float = 0.0, init="lags", generator=None,
             progress=None, eps: float = 1e-9) -> dict:
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
    init : {"lags", "random"}
        Start ``W`` from the correlogram-lag seeds of :func:`seed_motif` (a
        Gaussian bump of 1.5 bins at each seed delay over a small random
        floor; slots without a seed start random), or at random. From a
        random start the multiplicative updates fall into the usual
        factorisation optima (motifs split over slots, merged, or shifted).
        Even from a good seeded start, the onsets spread out: on sparse spike
        rasters the templates explain members' background spikes one by one
        with small onset bumps (the L1 penalty on ``H`` barely touches such
        small values), which flattens the templates' delay profiles; see the
        user guide's limits.
    generator : torch.Generator, optional
        For the random start.
    progress : callable(step, loss), optional

    Returns
    -------
    dict
        ``W`` (n_motifs, n_units, n_delays), unit sum each; ``H`` (n_trials,
        n_motifs, n_time); ``baseline`` (n_units,); ``loss`` list.
    """
    from neurodecode.models.motifs.baselines import expected_spike_kernels

    if init not in ("lags", "random"):
        raise ValueError(f"`init` must be 'lags' or 'random', got {init!r}")
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
    if init == "lags":
        seeds = _lag_seed_templates(spikes, n_motifs, n_delays)
        bumps = torch.as_tensor(expected_spike_kernels(seeds, n_delays, dropout=0.0,
                                                       jitter_bins=1.5), dtype=X.dtype)
        seeded = bumps.sum(dim=(1, 2)) > 0
        bumps = bumps / bumps.sum(dim=(1, 2), keepdim=True).clamp(min=eps)
        W[seeded] = 0.9 * bumps[seeded].to(X.device) + 0.1 * W[seeded]
    rate = X.mean()
    H = (torch.rand(n_trials, n_motifs, n_time, generator=generator, dtype=X.dtype)
         .to(X.device) * rate)
    c = X.mean(dim=(0, 2)) * 0.5 + eps
    history = []
    # X / R is zero wherever X is: every update only needs R at the raster's non-zero
    # entries (e, δ) pairs — O(entries · n_delays · n_motifs) per step, not O(bins · ...)
    r_e, a_e, t_e = torch.nonzero(X > 0, as_tuple=True)
    x_e = X[r_e, a_e, t_e]
    d = torch.arange(n_delays, device=X.device)
    u = t_e[:, None] - d[None, :]  # onset bin of entry e through delay δ
    valid = u >= 0
    e_idx = torch.arange(len(x_e), device=X.device)[:, None].expand_as(u)[valid]
    h_idx = (r_e[:, None] * n_time + u)[valid]  # into H (n_motifs, n_trials * n_time)
    w_idx = (a_e[:, None] * n_delays + d[None, :])[valid]  # into W (n_motifs, n_units * D)
    chunk = max(1, 2_000_000 // max(n_motifs, 1))

    def r_entries(H, W):
        Hf, Wf = H.transpose(0, 1).reshape(n_motifs, -1), W.reshape(n_motifs, -1)
        out = c[a_e].clone()
        for i in range(0, len(e_idx), chunk):
            sl = slice(i, i + chunk)
            out.index_add_(0, e_idx[sl], (Hf[:, h_idx[sl]] * Wf[:, w_idx[sl]]).sum(0))
        return out

    def weighted(q, H=None, W=None):
        """Σ_e q_e W(·, a_e, t_e - u) into H-shape, or Σ_e q_e H(·, t_e - δ) into W-shape."""
        src, idx_src, idx_dst = (W.reshape(n_motifs, -1), w_idx, h_idx) if H is None else \
            (H.transpose(0, 1).reshape(n_motifs, -1), h_idx, w_idx)
        size = n_trials * n_time if H is None else n_units * n_delays
        out = torch.zeros(n_motifs, size, dtype=X.dtype, device=X.device)
        for i in range(0, len(e_idx), chunk):
            sl = slice(i, i + chunk)
            out.index_add_(1, idx_dst[sl], src[:, idx_src[sl]] * q[e_idx[sl]][None, :])
        return out

    def w_reach(W):
        """Σ_{a, δ < n_time - t} W(b, a, δ) for each onset bin t: 1 away from the end."""
        tail = W.sum(dim=1).flip(-1).cumsum(-1).flip(-1)  # Σ_{δ' >= δ}
        total = W.sum(dim=(1, 2))
        reach = total[:, None].expand(n_motifs, n_time).clone()
        k = min(n_delays - 1, n_time)
        if k > 0:  # t = n_time - j keeps δ < j
            j = torch.arange(1, k + 1, device=X.device)
            reach[:, n_time - j] = total[:, None] - tail[:, j]
        return reach  # (n_motifs, n_time)

    try:
        for step in range(max_iter):
            q = x_e / (r_entries(H, W) + eps)
            # H ← H · (Wᵀ ⋆ (X/R)) / (Wᵀ ⋆ 1 + λ)
            num = weighted(q, W=W).view(n_motifs, n_trials, n_time).transpose(0, 1)
            H = H * num / (w_reach(W)[None] + sparsity + eps)
            q = x_e / (r_entries(H, W) + eps)
            # W ← W · Σ_t H(t) (X/R)(t+δ) / Σ_t H(t)
            num = weighted(q, H=H).view(n_motifs, n_units, n_delays)
            den = H.sum(dim=(0, 2))[:, None, None] + eps
            W = W * num / den
            scale = W.sum(dim=(1, 2), keepdim=True) + eps
            W = W / scale
            H = H * scale.view(1, -1, 1)
            q = x_e / (r_entries(H, W) + eps)
            c = c * torch.zeros_like(c).index_add_(0, a_e, q) / (n_trials * n_time)
            if step % 10 == 0 or step == max_iter - 1:
                R_e = r_entries(H, W)
                total_r = c.sum() * n_trials * n_time + (H * w_reach(W)[None]).sum()
                kl = (x_e * torch.log((x_e + eps) / (R_e + eps))).sum() - x_e.sum() \
                    + total_r + sparsity * H.sum()
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


def lag_zscores(spikes: np.ndarray, n_delays: int, baseline_width: int | None = None):
    """Sharp excess of every unit pair's cross-correlogram over its local baseline.

    Units of one motif fire at fixed relative lags, so their correlogram has a
    sharp peak at ``d_a' - d_a``. The count within ±1 lag is compared with
    the count expected from the correlogram's own level over ``±baseline_width``
    lags around it (the central ±2 lags excluded): the prediction of spike
    dithering at that scale, so co-varying rates (place fields, up-states,
    rate-matched distractors) give no excess, only precise timing does.

    Parameters
    ----------
    spikes : ndarray (n_trials, n_time, n_units)
    n_delays : int
        Lags ``-(n_delays - 1) .. n_delays - 1`` are scored.
    baseline_width : int, optional
        Half-width (lags) of the local baseline; default ``n_delays``.

    Returns
    -------
    ndarray (n_units, n_units, 2 * n_delays - 1)
        ``z[a, a', ℓ + n_delays - 1]`` for ``a'`` firing ``ℓ`` bins after
        ``a``; ``z[a', a, -ℓ] = z[a, a', ℓ]``, 0 on the diagonal.
    """
    w = int(n_delays if baseline_width is None else baseline_width)
    w = max(w, 4)
    reach = n_delays + w + 1
    C = pairwise_lag_counts(spikes, reach)
    full = np.concatenate([np.transpose(C, (1, 0, 2))[..., :0:-1], C], axis=2)  # -reach+1..
    centre = reach - 1
    cum = np.concatenate([np.zeros(full.shape[:2] + (1,)), np.cumsum(full, axis=2)], axis=2)

    def window(lo, hi):  # sum of full[..., centre + ℓ + lo : centre + ℓ + hi + 1] per ℓ
        ell = np.arange(-(n_delays - 1), n_delays)
        return cum[..., centre + ell + hi + 1] - cum[..., centre + ell + lo]

    peak = window(-1, 1)
    local = window(-w, w) - window(-2, 2)
    n_base = 2 * w - 4
    expected = 3.0 * local / n_base
    # Poisson variance of the peak count plus that of the baseline estimate
    z = (peak - expected) / np.sqrt(expected * (1.0 + 3.0 / n_base) + 1.0)
    idx = np.arange(z.shape[0])
    z[idx, idx] = 0
    return z


def _affinity(z: np.ndarray, min_z: float) -> np.ndarray:
    aff = np.clip(z.max(axis=2), 0, None)
    aff = np.maximum(aff, aff.T)
    aff[aff < min_z] = 0
    return aff


def lag_affinity(spikes: np.ndarray, n_delays: int, min_z: float = 5.0):
    """Affinity of unit pairs from sharp cross-correlogram peaks, and the peak lags.

    Returns
    -------
    affinity : ndarray (n_units, n_units)
        Peak z-score of :func:`lag_zscores`, symmetric, 0 below ``min_z``.
    best_lag : ndarray (n_units, n_units) of int
        ``best_lag[a, a'] ≈ d_a' - d_a``.
    """
    z = lag_zscores(spikes, n_delays)
    return _affinity(z, min_z), z.argmax(axis=2) - (n_delays - 1)


def seed_motif(z: np.ndarray, n_delays: int, min_z: float = 5.0, min_support: float = 0.5,
               min_members: int = 3, max_pairs: int = 64) -> np.ndarray | None:
    """Delays (NaN = not a member) of one motif grown from a strong, specific pair.

    Seed pairs are tried in decreasing order of affinity / sqrt(degree_i ·
    degree_j) among links at least half as strong as the strongest (strong
    link, few partners: a unit shared by two motifs links to both and would
    merge them). From a pair the motif grows one unit at a time: a candidate
    unit at a candidate delay is supported by the correlogram excess with
    every member at the implied lag ``z[m, k, d_k - d_m]``; the best candidate
    joins when the mean support is at least ``min_z`` and at least
    ``min_support`` of the members reach ``min_z / 2``. Lags are read per
    member pair, so a unit shared with another motif joins at this motif's
    delay. The first pair that grows to ``min_members`` units is returned (a
    lone strong pair — a leftover of an explained motif, or two coupled
    units — is not a motif).

    Parameters
    ----------
    z : ndarray (n_units, n_units, 2 * n_delays - 1)
        From :func:`lag_zscores` (with the motifs found so far explained away).

    Returns
    -------
    ndarray (n_units,) or None
        Delays in bins from 0, or None when no pair grows into a motif.
    """
    aff = _affinity(z, min_z)
    if aff.max() <= 0:
        return None
    degree = (aff > 0).sum(axis=1).astype(np.float64)
    score = aff / np.sqrt(np.maximum(np.outer(degree, degree), 1.0))
    strong = np.triu(aff >= 0.5 * aff.max(), 1)
    pairs = np.argwhere(strong)
    order = np.argsort(-score[strong], kind="stable")
    tried = pairs[order]
    # then the weaker links, strongest first
    weak = np.argwhere(np.triu((aff > 0) & ~(aff >= 0.5 * aff.max()), 1))
    weak = weak[np.argsort(-aff[weak[:, 0], weak[:, 1]], kind="stable")]
    for i, j in np.concatenate([tried, weak])[:max_pairs]:
        delays = _grow(z, int(i), int(j), n_delays, min_z, min_support)
        if np.isfinite(delays).sum() >= min_members:
            return delays
    return None


def _grow(z, i, j, n_delays, min_z, min_support):
    n_units = z.shape[0]
    off = n_delays - 1
    members = [i, j]
    delays = [0, int(z[i, j].argmax()) - off]
    while True:
        d = np.asarray(delays)
        grid = np.arange(d.max() - off, d.min() + off + 1)  # keeps the span within the window
        if len(grid) == 0:
            break
        lag_idx = grid[None, :] - d[:, None] + off  # (n_members, n_grid), all in range
        # zs[m, k, g] = z[member m, unit k, lag grid[g] - d_m]
        zs = np.take_along_axis(z[np.asarray(members)], np.broadcast_to(
            lag_idx[:, None, :], (len(members), n_units, len(grid))), axis=2)
        support = zs.mean(axis=0)
        agree = (zs >= 0.5 * min_z).mean(axis=0)
        support[np.asarray(members)] = -np.inf
        support[agree < min_support] = -np.inf
        k, g = np.unravel_index(int(support.argmax()), support.shape)
        if not support[k, g] >= min_z:
            break
        members.append(int(k))
        delays.append(int(grid[g]))
    d = np.asarray(delays, dtype=np.float64)
    out = np.full(n_units, np.nan)
    out[np.asarray(members)] = d - d.min()
    return out


def explain_away(z: np.ndarray, delays: np.ndarray, radius: int = 4) -> None:
    """Zero, in place, the correlogram excess of member pairs at the motif's own lags (±radius).

    Only the lags the motif predicts are removed, so the other peaks of a
    unit shared with another motif stay for that motif's seeding.
    """
    n_delays = (z.shape[2] + 1) // 2
    members = np.flatnonzero(np.isfinite(delays))
    d = delays[members].astype(np.int64)
    for r in range(-radius, radius + 1):
        lag = d[None, :] - d[:, None] + r + n_delays - 1  # (m, k): k after m
        ok = (lag >= 0) & (lag < z.shape[2])
        a, b = np.nonzero(ok)
        z[members[a], members[b], lag[a, b]] = 0


def discover_motifs(spikes: np.ndarray, n_motifs: int, n_delays: int, *, n_rounds: int = 5,
                    min_z: float = 5.0, member_fraction: float = 0.3, compete: bool = True,
                    rng=None, device="cpu", **refine_kwargs) -> dict:
    """Find motifs without labels: seed from correlogram lags, refine, explain away, repeat.

    For each motif: grow a seed from the correlogram excesses
    (:func:`seed_motif`), refine it by alternating detection and kernel
    re-estimation (:func:`refine_motifs`), take as members the units whose
    template peak exceeds ``member_fraction`` of the largest, and remove the
    correlogram excess at the lags the motif explains (:func:`explain_away`).
    A seed that refines into a motif already found is dropped. All motifs are
    then refined together, competing for detections (``compete``). Fewer than
    ``n_motifs`` are returned (as empty templates, ``n_found``) when no
    significant lag structure is left: the number of motifs is an upper bound,
    chosen by the data below it.

    Returns
    -------
    dict
        As :func:`refine_motifs`, plus ``seeds`` (n_motifs, n_units) delays and
        ``n_found``.
    """
    rng = np.random.default_rng(rng)
    z = lag_zscores(spikes, n_delays)
    n_units = spikes.shape[2]
    seeds = np.full((n_motifs, n_units), np.nan)
    found, templates, found_onsets = [], [], []
    for _ in range(4 * n_motifs):
        if len(found) == n_motifs:
            break
        delays = seed_motif(z, n_delays, min_z)
        if delays is None:
            break
        one = refine_motifs(spikes, delays[None], n_delays, n_rounds=n_rounds, rng=rng,
                            device=device, **refine_kwargs)
        w = one["W"][0]
        peak = w.max(axis=1)
        refined = np.where(peak >= member_fraction * peak.max(), w.argmax(axis=1), np.nan) \
            if peak.max() > 0 else np.full(n_units, np.nan)
        explain_away(z, delays)
        explain_away(z, refined)
        # a seed that refines into a motif already found (its template, or the same
        # occurrences at another onset shift) is explained away, not kept
        flat = w.ravel() - w.mean()
        onsets = one["onsets"][0]
        duplicate = any(
            np.dot(flat, t) / (np.linalg.norm(flat) * np.linalg.norm(t) + 1e-12) > 0.5
            for t in templates) or any(
            _shared_onsets(onsets, o, n_delays, spikes.shape[1]) > 0.5 for o in found_onsets)
        if duplicate or peak.max() <= 0 or np.isfinite(refined).sum() < 2:
            continue
        seeds[len(found)] = delays
        templates.append(flat)
        found.append(refined)
        found_onsets.append(onsets)
    start = np.full((n_motifs, n_units), np.nan)
    for m, delays in enumerate(found):
        start[m] = delays
    result = refine_motifs(spikes, start, n_delays, n_rounds=n_rounds, rng=rng, device=device,
                           compete=compete, **refine_kwargs)
    result["seeds"] = seeds
    result["n_found"] = len(found)
    return result


def _shared_onsets(a, b, window: int, n_time: int) -> float:
    """Fraction of onsets ``a`` (trial, time) with an onset of ``b`` within ``±window`` bins."""
    if len(a[1]) == 0:
        return 0.0
    if len(b[1]) == 0:
        return 0.0
    key_b = np.sort(b[0].astype(np.int64) * (n_time + 2 * window + 1) + b[1])
    key_a = a[0].astype(np.int64) * (n_time + 2 * window + 1) + a[1]
    pos = np.searchsorted(key_b, key_a)
    left = np.abs(key_a - key_b[np.clip(pos - 1, 0, len(key_b) - 1)])
    right = np.abs(key_b[np.clip(pos, 0, len(key_b) - 1)] - key_a)
    return float(np.mean(np.minimum(left, right) <= window))


def refine_motifs(spikes: np.ndarray, delays: np.ndarray, n_delays: int, *, n_rounds: int = 5,
                  jitter_bins: float = 1.5, dither: int = 10, alpha: float = 1e-4,
                  min_distance: int = 4, refractory: int | None = None, realign: bool = True,
                  compete: bool = False, rng=None, device="cpu") -> dict:
    """Alternate detection with fixed kernels and kernel re-estimation from the detections.

    Each round: matched-filter kernels ``K = log(1 + W / λ₀)`` (``W``: expected
    motif spikes per (unit, delay), ``λ₀``: background spikes per bin) scan the
    raster; peaks above the ``1 - alpha`` quantile of scores on a dithered
    surrogate, at least ``refractory`` bins apart, are taken as onsets; ``W``
    becomes the onset-triggered average minus ``λ₀``, clipped at 0. The first
    ``W`` comes from seed delays with a Gaussian of width ``jitter_bins``.

    With ``realign``, the triggered average is taken over ``n_delays - 1``
    extra bins either side and the motif window is moved to hold the most
    significant excess (onsets move with it): a seed with a spurious early
    or late member would otherwise place the motif off-centre and cut its
    other end. The side lobes of one occurrence's score (the template
    matching itself shifted) are kept out by ``refractory`` (default
    ``max(min_distance, n_delays // 2)``); they would add shifted copies of
    the motif to the average and blur it. With ``compete``, a detection
    yields to a detection of another motif within ``n_delays - 1`` bins that
    exceeds its own threshold by more (units shared between motifs otherwise
    let one template fire on the other's occurrences and absorb part of it).

    Returns
    -------
    dict
        ``W`` (n_motifs, n_units, n_delays) expected motif spikes, ``kernels``,
        ``bias``, ``background`` (n_units,), ``onsets`` (list of (trial, time)
        arrays per motif, detected with the returned kernels), ``threshold``
        (n_motifs,) for the returned kernels.
    """
    from neurodecode.metrics.events import local_maxima
    from neurodecode.models.motifs.baselines import expected_spike_kernels
    from neurodecode.models.motifs.detection import SpikeIndex
    from neurodecode.models.motifs.surrogates import dither_spikes

    rng = np.random.default_rng(rng)
    n_trials, n_time, n_units = spikes.shape
    refractory = max(int(min_distance), n_delays // 2, 1) if refractory is None \
        else max(int(refractory), 1)
    lam0 = np.maximum(spikes.sum(axis=(0, 1)) / (n_trials * n_time), 1e-6)
    W = expected_spike_kernels(delays, n_delays, dropout=0.2, jitter_bins=jitter_bins)
    index = SpikeIndex(spikes, n_delays, device)
    null_index = SpikeIndex(dither_spikes(spikes, dither, rng), n_delays, device)
    ext = n_delays - 1 if realign else 0
    span = np.arange(-ext, n_delays + ext)

    def detect(W):
        kernels = np.log1p(W / lam0[None, :, None])
        k_t = torch.as_tensor(kernels, dtype=torch.float32, device=device)
        b_t = torch.as_tensor(-W.sum(axis=(1, 2)), dtype=torch.float32, device=device)
        with torch.no_grad():
            score = index.logits(k_t, b_t).cpu().numpy().transpose(0, 2, 1)
            null = null_index.logits(k_t, b_t).cpu().numpy().transpose(0, 2, 1)
        threshold = np.quantile(null.reshape(-1, len(W)), 1 - alpha, axis=0)
        # an empty template (no motif found for that slot) detects nothing
        threshold[~W.any(axis=(1, 2))] = np.inf
        peaks = local_maxima(score, -np.inf, refractory) & (score >= threshold)
        if compete and len(W) > 1:
            # a detection yields to a stronger one (margin over its own threshold) of another
            # motif whose window overlaps it: units shared between motifs let a template
            # fire on the other motif's occurrences and absorb part of that motif
            margin = np.where(peaks, score - threshold, -np.inf)
            reach = n_delays - 1
            if reach > 0:
                pad = np.pad(margin, [(0, 0), (reach, reach), (0, 0)], constant_values=-np.inf)
                win = np.lib.stride_tricks.sliding_window_view(pad, 2 * reach + 1, axis=1)
                near = win.max(axis=-1)  # (n_trials, n_time, n_motifs) best margin nearby
            else:
                near = margin
            for m in range(len(W)):
                others = np.delete(near, m, axis=2).max(axis=2)
                peaks[..., m] &= margin[..., m] >= others
        return [np.nonzero(peaks[..., m]) for m in range(len(W))], threshold

    for _ in range(max(int(n_rounds), 1)):
        onsets, _ = detect(W)
        new_W = W.copy()
        for m, (r, t) in enumerate(onsets):
            if len(t) == 0:
                continue
            idx = t[:, None] + span[None, :]
            inside = (idx >= 0) & (idx < n_time)
            win = spikes[r[:, None], np.clip(idx, 0, n_time - 1)] * inside[..., None]
            sta = win.sum(0).T / np.maximum(inside.sum(0), 1)  # (n_units, len(span))
            excess = sta - lam0[:, None]
            if ext:
                # the window of n_delays bins holding the most significant excess
                se = np.sqrt(lam0 / len(t))[:, None]
                sig = np.where(excess > 3 * se, excess, 0.0).sum(0)
                csum = np.r_[0.0, np.cumsum(sig)]
                mass = csum[n_delays:] - csum[:-n_delays]
                # ties (e.g. no excess at all) keep the current alignment
                best = ext if mass[ext] >= mass.max() else int(mass.argmax())
            else:
                best = 0
            new_W[m] = np.clip(excess[:, best:best + n_delays], 0, None)
        W = new_W
    onsets, threshold = detect(W)
    kernels = np.log1p(W / lam0[None, :, None])
    return {"W": W, "kernels": kernels, "bias": -W.sum(axis=(1, 2)), "background": lam0,
            "onsets": onsets, "threshold": threshold}


def template_delays(templates: np.ndarray, member_fraction: float = 0.3) -> np.ndarray:
    """Members and delays of discovered templates: the peak delay of each unit whose peak
    is at least ``member_fraction`` of the template's largest, NaN for the others.

    Parameters
    ----------
    templates : ndarray (n_motifs, n_units, n_delays)

    Returns
    -------
    ndarray (n_motifs, n_units)

    Examples
    --------
    >>> w = np.zeros((1, 3, 4)); w[0, 0, 2] = 1.0; w[0, 1, 0] = 0.5; w[0, 2, 3] = 0.1
    >>> template_delays(w)
    array([[ 2.,  0., nan]])
    """
    w = np.asarray(templates, dtype=np.float64)
    peak = w.max(axis=2)
    top = peak.max(axis=1, keepdims=True)
    member = (peak >= member_fraction * top) & (top > 0)
    return np.where(member, w.argmax(axis=2), np.nan).astype(np.float64)


def peak_kernel_correlation(true_delays, templates, *, tolerance: int = 1, max_shift: int = 0,
                            member_fraction: float = 0.3) -> dict:
    """Correlation of the true delta kernels with the templates' peaks, ±``tolerance`` bins.

    A motif of single spikes has a delta-like true kernel (one delay per
    member); a template learned from jittered spikes is that delta blurred by
    the jitter, so its plain correlation with the delta is capped (about 0.53
    at 2 bins of jitter). Here each template is reduced to its members' peak
    delays (:func:`template_delays`), a peak within ``tolerance`` bins of the
    true delay counts as on it, and the two binary kernels are correlated
    (Pearson), maximised over onset shifts of up to ``max_shift`` bins, the
    motifs paired by the Hungarian algorithm. 1 means the same members at the
    same delays (±tolerance); a missed or extra member lowers it.

    Parameters
    ----------
    true_delays : array (n_true, n_units), NaN for non-members
    templates : array (n_learned, n_units, n_delays)

    Returns
    -------
    dict
        ``correlation`` (n_true,), ``assignment`` (n_true,), ``shift`` (n_true,),
        ``matrix`` (n_true, n_learned).
    """
    from scipy.optimize import linear_sum_assignment

    dt = np.asarray(true_delays, dtype=np.float64)
    w = np.asarray(templates, dtype=np.float64)
    n_delays = w.shape[2]
    learned = template_delays(w, member_fraction)
    n_true, n_learned = dt.shape[0], learned.shape[0]
    best = np.full((n_true, n_learned), -1.0)
    best_shift = np.zeros((n_true, n_learned), dtype=np.int64)
    size = dt.shape[1] * n_delays

    def binary(delays):
        k = np.zeros((dt.shape[1], n_delays))
        ok = np.isfinite(delays) & (delays >= 0) & (delays < n_delays)
        k[np.flatnonzero(ok), delays[ok].astype(np.int64)] = 1.0
        return k.ravel()

    def pearson(a, b):
        a, b = a - a.mean(), b - b.mean()
        den = np.linalg.norm(a) * np.linalg.norm(b)
        return float(a @ b / den) if den > 0 else 0.0

    for i in range(n_true):
        kt = binary(dt[i])
        for j in range(n_learned):
            for s in sorted(range(-max_shift, max_shift + 1), key=abs):  # ties: least shift
                d = learned[j] + s
                with np.errstate(invalid="ignore"):
                    near = np.isfinite(dt[i]) & (np.abs(d - dt[i]) <= tolerance)
                d = np.where(near, dt[i], d)
                c = pearson(kt, binary(d)) if size else 0.0
                if c > best[i, j]:
                    best[i, j], best_shift[i, j] = c, s
    rows, cols = linear_sum_assignment(-best)
    assignment = np.full(n_true, -1)
    assignment[rows] = cols
    corr = np.full(n_true, np.nan)
    shift = np.zeros(n_true, dtype=np.int64)
    corr[rows] = best[rows, cols]
    shift[rows] = best_shift[rows, cols]
    return {"correlation": corr, "assignment": assignment, "shift": shift, "matrix": best}
