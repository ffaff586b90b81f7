"""Event-detection metrics: peaks, one-to-one matching with a tolerance, F1, AUC, PR-AUC.

Scores and labels are arrays whose last two axes are ``(time, channel)``
(channel = motif), with any leading sample axes (trials); ``xr.DataArray``
inputs with dims ``(..., "time", "motif")`` are accepted as well. A detection
is a local maximum of the score; each true event is matched to at most one
detection within ``tolerance`` bins and vice versa (maximum matching).

Plain all-bin AUC is deliberately absent: a firing-rate detector scores high on
it while missing most events; use :func:`event_f1`, :func:`onset_auc` (true
onsets against distractor onsets) and :func:`event_average_precision`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["local_maxima", "match_events", "event_counts", "event_f1", "onset_auc",
           "event_average_precision", "oracle_threshold_recall", "global_threshold_recall",
           "kernel_correlation",
           "delay_accuracy", "throughput"]


def _values(a, name):
    values = np.asarray(a.values if hasattr(a, "dims") else a)
    if values.ndim < 1:
        raise ValueError(f"`{name}` must be an array with a time axis; got a scalar")
    return values


def _as_3d(a, name):
    """(..., T, M) → (R, T, M); a 1-D array is one channel of one trial."""
    v = _values(a, name)
    if v.ndim == 1:
        v = v[None, :, None]
    elif v.ndim == 2:
        v = v[None]
    elif v.ndim > 3:
        v = v.reshape(-1, *v.shape[-2:])
    return v


def local_maxima(scores, threshold: float = -np.inf, min_distance: int = 1) -> np.ndarray:
    """Boolean mask of local maxima along the time axis (second to last, or the only axis).

    A bin is a peak when its score is at least ``threshold``, strictly larger
    than the ``min_distance`` bins before it and not smaller than the
    ``min_distance`` bins after it (a plateau gives its first bin).

    Examples
    --------
    >>> local_maxima(np.array([0, 2, 1, 3, 3, 0.]), min_distance=1).astype(int)
    array([0, 1, 0, 1, 0, 0])
    """
    s = np.asarray(scores, dtype=np.float64)
    if min_distance < 1:
        raise ValueError(f"`min_distance` must be >= 1 bin, got {min_distance}")
    axis = 0 if s.ndim == 1 else s.ndim - 2
    pad = [(0, 0)] * s.ndim
    pad[axis] = (min_distance, min_distance)
    padded = np.pad(s, pad, constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * min_distance + 1, axis=axis)
    left = windows[..., :min_distance].max(axis=-1)
    right = windows[..., min_distance + 1:].max(axis=-1)
    return (s > left) & (s >= right) & (s >= threshold)


def match_events(true_times, pred_times, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Maximum one-to-one matching of events on a line with ``|true - pred| <= tolerance``.

    Greedy in time order is optimal here because each true event's admissible
    detections form an interval and the intervals are ordered like the events.

    Returns
    -------
    true_index, pred_index : ndarray of int
        Indices (into the sorted inputs' original order) of the matched pairs.

    Examples
    --------
    >>> match_events([10, 20], [11, 12, 40], tolerance=2)
    (array([0]), array([0]))
    """
    t = np.asarray(true_times, dtype=np.float64)
    p = np.asarray(pred_times, dtype=np.float64)
    t_order = np.argsort(t, kind="stable")
    p_order = np.argsort(p, kind="stable")
    ts, ps = t[t_order], p[p_order]
    ti, pi = [], []
    j = 0
    for i, tv in enumerate(ts):
        while j < len(ps) and ps[j] < tv - tolerance:
            j += 1
        if j < len(ps) and ps[j] <= tv + tolerance:
            ti.append(t_order[i])
            pi.append(p_order[j])
            j += 1
    return np.asarray(ti, dtype=np.int64), np.asarray(pi, dtype=np.int64)


def event_counts(y_true, y_pred, tolerance: int = 2) -> np.ndarray:
    """True positives, number of true events and of detections per channel.

    Parameters
    ----------
    y_true, y_pred : array (..., time, motif)
        Binary onset indicators (nonzero = event).
    tolerance : int
        Bins.

    Returns
    -------
    ndarray, shape (n_motifs, 3)
        Columns ``tp``, ``n_true``, ``n_pred`` summed over trials.
    """
    yt, yp = _as_3d(y_true, "y_true"), _as_3d(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(f"`y_true` {yt.shape} and `y_pred` {yp.shape} must have the same shape")
    out = np.zeros((yt.shape[2], 3), dtype=np.int64)
    for r in range(yt.shape[0]):
        for m in range(yt.shape[2]):
            t = np.flatnonzero(yt[r, :, m])
            p = np.flatnonzero(yp[r, :, m])
            out[m] += (len(match_events(t, p, tolerance)[0]), len(t), len(p))
    return out


def event_f1(y_true, y_pred, tolerance: int = 2, average: str | None = "micro"):
    """Event F1: one-to-one matched detections within ``tolerance`` bins.

    Parameters
    ----------
    y_true, y_pred : array (..., time, motif)
        Binary onset indicators.
    tolerance : int
        Bins.
    average : {"micro", "macro", None}
        Pool counts over motifs, average per-motif F1, or return per-motif F1.

    Examples
    --------
    >>> y = np.zeros((50, 1)); y[[10, 30], 0] = 1
    >>> p = np.zeros((50, 1)); p[[11, 40], 0] = 1
    >>> float(event_f1(y, p, tolerance=2))
    0.5
    """
    c = event_counts(y_true, y_pred, tolerance)
    if average == "micro":
        c = c.sum(axis=0, keepdims=True)
    denom = c[:, 1] + c[:, 2]
    f1 = np.where(denom > 0, 2 * c[:, 0] / np.maximum(denom, 1), 1.0)
    if average == "micro":
        return float(f1[0])
    if average == "macro":
        return float(f1.mean())
    if average is None:
        return f1
    raise ValueError(f"`average` must be 'micro', 'macro' or None, got {average!r}")


def _event_scores(scores, onsets, tolerance):
    """Max score within ±tolerance of each onset, per motif: list of arrays."""
    s, o = _as_3d(scores, "scores").astype(np.float64), _as_3d(onsets, "onsets")
    if s.shape != o.shape:
        raise ValueError(f"scores {s.shape} and onsets {o.shape} must have the same shape")
    tol = int(tolerance)
    if tol > 0:
        padded = np.pad(s, [(0, 0), (tol, tol), (0, 0)], constant_values=-np.inf)
        s = np.lib.stride_tricks.sliding_window_view(padded, 2 * tol + 1, axis=1).max(-1)
    return [s[..., m][o[..., m] > 0] for m in range(s.shape[2])]


def _mann_whitney_auc(pos, neg):
    from scipy.stats import rankdata

    if len(pos) == 0 or len(neg) == 0:
        return np.nan
    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def onset_auc(scores, true_onsets, distractor_onsets, tolerance: int = 0,
              average: str | None = "macro"):
    """AUC of the score at true onsets against the score at distractor onsets.

    Each event's score is the maximum within ``±tolerance`` bins. A detector
    blind to timing scores about 0.5 against rate-matched distractors.

    Examples
    --------
    >>> s = np.zeros((20, 1)); s[[2, 5], 0] = [0.9, 0.8]; s[[10, 15], 0] = [0.1, 0.85]
    >>> on = np.zeros((20, 1)); on[[2, 5], 0] = 1
    >>> di = np.zeros((20, 1)); di[[10, 15], 0] = 1
    >>> onset_auc(s, on, di)
    0.75
    """
    pos = _event_scores(scores, true_onsets, tolerance)
    neg = _event_scores(scores, distractor_onsets, tolerance)
    per = np.array([_mann_whitney_auc(p, n) for p, n in zip(pos, neg, strict=True)])
    if average == "macro":
        return float(np.nanmean(per)) if np.isfinite(per).any() else np.nan
    if average == "micro":
        return _mann_whitney_auc(np.concatenate(pos), np.concatenate(neg))
    if average is None:
        return per
    raise ValueError(f"`average` must be 'macro', 'micro' or None, got {average!r}")


def event_average_precision(scores, y_true, tolerance: int = 2, min_distance: int | None = None,
                            average: str | None = "macro"):
    """Area under the event precision-recall curve (average precision).

    Candidate detections are the local maxima of ``scores`` (``min_distance``
    defaults to ``tolerance``), taken in decreasing score; each one is a hit
    when it lies within ``tolerance`` bins of a true onset not yet claimed by a
    higher-scoring detection (the nearest such onset). Recall is over all true
    onsets, so events never reached by a peak cap the curve.
    """
    s, yt = _as_3d(scores, "scores").astype(np.float64), _as_3d(y_true, "y_true")
    if s.shape != yt.shape:
        raise ValueError(f"scores {s.shape} and y_true {yt.shape} must have the same shape")
    md = max(int(tolerance if min_distance is None else min_distance), 1)
    peaks = local_maxima(s, min_distance=md)
    per = []
    for m in range(s.shape[2]):
        hits_all, vals_all, n_true = [], [], 0
        for r in range(s.shape[0]):
            t = np.flatnonzero(yt[r, :, m])
            n_true += len(t)
            p = np.flatnonzero(peaks[r, :, m])
            v = s[r, p, m]
            order = np.argsort(-v, kind="stable")
            claimed = np.zeros(len(t), bool)
            hits = np.zeros(len(p), bool)
            for k in order:
                d = np.abs(t - p[k]).astype(np.float64)
                d[claimed] = np.inf
                if len(d) and d.min() <= tolerance:
                    j = int(np.argmin(d))
                    claimed[j] = True
                    hits[k] = True
            hits_all.append(hits)
            vals_all.append(v)
        per.append(_average_precision(np.concatenate(hits_all), np.concatenate(vals_all),
                                      n_true))
    per = np.asarray(per)
    if average == "macro":
        return float(np.nanmean(per)) if np.isfinite(per).any() else np.nan
    if average is None:
        return per
    raise ValueError(f"`average` must be 'macro' or None, got {average!r}")


def oracle_threshold_recall(scores, y_true, tolerance: int = 0, min_distance: int = 1,
                            average: str | None = "micro"):
    """Recall when each motif's threshold lets through as many peaks as it has true onsets.

    The "oracle threshold" of Perrinet (ICANN 2023): per motif, the ``k``
    highest local maxima are kept, ``k`` = its number of true onsets (so
    recall = precision), and matched one-to-one within ``tolerance`` bins.

    Examples
    --------
    >>> s = np.array([[0.9], [0.1], [0.2], [0.8], [0.0]]); y = np.array([[1], [0], [0], [0], [1]])
    >>> oracle_threshold_recall(s, y)
    0.5
    """
    s, yt = _as_3d(scores, "scores").astype(np.float64), _as_3d(y_true, "y_true")
    if s.shape != yt.shape:
        raise ValueError(f"scores {s.shape} and y_true {yt.shape} must have the same shape")
    peaks = local_maxima(s, min_distance=max(int(min_distance), 1))
    hits = np.zeros(s.shape[2])
    n_true = np.zeros(s.shape[2])
    for m in range(s.shape[2]):
        k = int(yt[..., m].sum())
        n_true[m] = k
        if k == 0:
            continue
        r, t = np.nonzero(peaks[..., m])
        keep = np.argsort(-s[r, t, m], kind="stable")[:k]
        r, t = r[keep], t[keep]
        for trial in range(s.shape[0]):
            hits[m] += len(match_events(np.flatnonzero(yt[trial, :, m]), t[r == trial],
                                        tolerance)[0])
    if average == "micro":
        return float(hits.sum() / max(n_true.sum(), 1))
    per = np.where(n_true > 0, hits / np.maximum(n_true, 1), np.nan)
    if average == "macro":
        return float(np.nanmean(per))
    if average is None:
        return per
    raise ValueError(f"`average` must be 'micro', 'macro' or None, got {average!r}")


def global_threshold_recall(scores, y_true) -> float:
    """Fraction of onset bins detected at the ICANN paper's oracle threshold.

    The evaluation of Perrinet (ICANN 2023) and its code: one threshold for
    all motifs and bins, the quantile that lets through as many (bin, motif)
    scores as there are true onsets; recall is the fraction of true onset
    bins whose score passes it (exact bin and motif, no peak picking; recall =
    precision by construction).

    Parameters
    ----------
    scores, y_true : array or DataArray (..., n_time, n_motifs)

    Returns
    -------
    float

    Examples
    --------
    >>> s = np.array([[0.9, 0.0], [0.1, 0.8], [0.7, 0.2]])
    >>> y = np.array([[1, 0], [0, 0], [0, 1]])
    >>> global_threshold_recall(s, y)
    0.5
    """
    s = _values(scores, "scores").astype(np.float64).ravel()
    yt = _values(y_true, "y_true").ravel()
    if s.shape != yt.shape:
        raise ValueError(f"scores {np.shape(_values(scores, 'scores'))} and y_true "
                         f"{np.shape(_values(y_true, 'y_true'))} must have the same shape")
    k = int(np.count_nonzero(yt))
    if k == 0:
        return float("nan")
    kth = np.partition(s, s.size - k)[s.size - k]  # k-th largest score
    above = s > kth
    # ties at the threshold share the remaining slots in proportion
    tied = s == kth
    slots = k - int(above.sum())
    true = yt != 0
    hits = float(np.count_nonzero(above & true))
    n_tied = int(tied.sum())
    if n_tied:
        hits += slots * np.count_nonzero(tied & true) / n_tied
    return float(hits / k)


def _average_precision(hits, values, n_true):
    if n_true == 0:
        return np.nan
    order = np.argsort(-values, kind="stable")
    hits, values = hits[order], values[order]
    # thresholds only between distinct values: ties enter together
    last_of_tie = np.r_[values[1:] != values[:-1], True]
    tp = np.cumsum(hits)[last_of_tie]
    n_det = (np.arange(len(hits)) + 1)[last_of_tie]
    precision = tp / n_det
    recall = tp / n_true
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _shift(kernel, s):
    """Shift along the delay axis by ``s`` bins, zero-filled."""
    out = np.zeros_like(kernel)
    if s >= 0:
        out[..., s:] = kernel[..., :kernel.shape[-1] - s]
    else:
        out[..., :s] = kernel[..., -s:]
    return out


def kernel_correlation(true_kernels, learned_kernels, match: bool = True, max_shift: int = 0):
    """Pearson correlation of each true kernel with its learned counterpart.

    Parameters
    ----------
    true_kernels : array (n_true, n_units, n_delays)
    learned_kernels : array (n_learned, n_units, n_delays)
    match : bool
        Pair motifs by the Hungarian algorithm on the correlation (for
        unsupervised motifs, whose order is arbitrary); otherwise pair by index.
    max_shift : int
        Also maximise over shifts of the learned kernel along the delay axis
        by up to this many bins (an unsupervised motif is known up to a shift
        of its onset).

    Returns
    -------
    dict
        ``correlation`` (n_true,) matched correlations (NaN for an unmatched
        true motif), ``assignment`` (n_true,) learned index or -1, ``shift``
        (n_true,) best shift, ``matrix`` (n_true, n_learned) of best correlations.
    """
    from scipy.optimize import linear_sum_assignment

    kt = np.asarray(true_kernels, dtype=np.float64)
    kl = np.asarray(learned_kernels, dtype=np.float64)
    if kt.ndim != 3 or kl.ndim != 3 or kt.shape[1:] != kl.shape[1:]:
        raise ValueError(f"kernels must be (n_motifs, n_units, n_delays) with equal units and "
                         f"delays; got {kt.shape} and {kl.shape}")
    shifts = range(-max_shift, max_shift + 1)

    def z(a):
        a = a.reshape(a.shape[0], -1)
        a = a - a.mean(1, keepdims=True)
        norm = np.linalg.norm(a, axis=1, keepdims=True)
        return a / np.where(norm > 0, norm, 1)

    zt = z(kt)
    stack = np.stack([zt @ z(_shift(kl, s)).T for s in shifts])  # (S, n_true, n_learned)
    best = stack.max(0)
    best_shift = np.asarray(list(shifts))[stack.argmax(0)]
    n_true = kt.shape[0]
    assignment = np.full(n_true, -1)
    if match:
        rows, cols = linear_sum_assignment(-best)
        assignment[rows] = cols
    else:
        k = min(n_true, kl.shape[0])
        assignment[:k] = np.arange(k)
    idx = np.arange(n_true)
    ok = assignment >= 0
    corr = np.full(n_true, np.nan)
    shift = np.zeros(n_true, dtype=np.int64)
    corr[ok] = best[idx[ok], assignment[ok]]
    shift[ok] = best_shift[idx[ok], assignment[ok]]
    return {"correlation": corr, "assignment": assignment, "shift": shift, "matrix": best}


def delay_accuracy(true_delays, learned_delays, tolerance: float = 1.0,
                   assignment=None, shift=None) -> float:
    """Fraction of (motif, neuron) members whose learned delay is within ``tolerance`` bins.

    Parameters
    ----------
    true_delays : array (n_true, n_units)
        Delay in bins, NaN where the neuron is not in the motif.
    learned_delays : array (n_learned, n_units)
        Learned delay per motif and neuron (NaN = no synapse, counted wrong).
    assignment : array (n_true,), optional
        Learned motif paired with each true one (e.g. from
        :func:`kernel_correlation`); default identity. -1 counts as all wrong.
    shift : array (n_true,), optional
        Bins added to the learned delays of each pair before comparing.

    Examples
    --------
    >>> delay_accuracy([[0, 5, np.nan]], [[1, 8, 3]])
    0.5
    """
    dt = np.asarray(true_delays, dtype=np.float64)
    dl = np.asarray(learned_delays, dtype=np.float64)
    if dt.ndim != 2 or dl.ndim != 2 or dt.shape[1] != dl.shape[1]:
        raise ValueError(f"delays must be (n_motifs, n_units) with equal units; got {dt.shape} "
                         f"and {dl.shape}")
    assignment = np.arange(dt.shape[0]) if assignment is None else np.asarray(assignment)
    shift = np.zeros(dt.shape[0]) if shift is None else np.asarray(shift, dtype=np.float64)
    members = np.isfinite(dt)
    if not members.any():
        raise ValueError("`true_delays` has no finite entry (no motif members)")
    ok = np.zeros_like(members)
    for b in range(dt.shape[0]):
        if assignment[b] < 0:
            continue
        learned = dl[assignment[b]] + shift[b]
        with np.errstate(invalid="ignore"):
            ok[b] = members[b] & (np.abs(learned - dt[b]) <= tolerance)
    return float(ok.sum() / members.sum())


def throughput(n_events: float, seconds: float) -> float:
    """Events (spikes, bins or detections) processed per second of wall time."""
    if seconds <= 0:
        raise ValueError(f"`seconds` must be positive, got {seconds!r}")
    return float(n_events) / float(seconds)
