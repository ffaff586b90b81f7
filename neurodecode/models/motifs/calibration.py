"""Detection thresholds that maximise event F1, for all motifs and candidates at once.

For one motif, the detections at threshold ``θ`` are the local maxima of its
log-odds that reach ``θ``; a detection matches a true onset within
``tolerance`` bins, one to one. Scanning many candidate thresholds by
re-matching at each one costs (motifs × candidates × trials) matchings. Here
the true onsets and the peaks are split once into connected components of the
"within tolerance" graph (contiguous runs along time). The matching size is a
sum over components, and a component with a single onset or a single peak is
matched exactly when its best peak reaches ``θ``: its contribution is a step
at that peak's score. The rare larger components (onsets closer than
``2·tolerance`` with several peaks between them) get their steps from the same
greedy matching applied to their peaks added in order of score. The true
positives at every candidate are then one cumulative count.
"""

from __future__ import annotations

import numpy as np

__all__ = ["f1_thresholds"]


def f1_thresholds(logits: np.ndarray, peaks: np.ndarray, labels: np.ndarray, tolerance: int,
                  n_candidates: int = 200) -> np.ndarray:
    """Per-motif threshold with the highest event F1 among quantile candidates.

    Parameters
    ----------
    logits : ndarray (n_trials, n_time, n_motifs)
        Detection scores.
    peaks : ndarray of bool, same shape
        Local maxima of ``logits`` (the detections before thresholding).
    labels : ndarray, same shape
        Nonzero at the true onsets.
    tolerance : int
        Bins within which a detection matches an onset.
    n_candidates : int
        Quantiles of the ``max(4·n_true, 10)`` highest peak scores tried as
        thresholds (the lowest threshold wins ties); a motif without peaks
        gets 0.

    Returns
    -------
    ndarray (n_motifs,)

    Examples
    --------
    >>> s = np.zeros((1, 40, 1)); s[0, [5, 20, 30], 0] = [3.0, 1.0, 2.0]
    >>> y = np.zeros((1, 40, 1), np.uint8); y[0, [6, 29], 0] = 1
    >>> th = f1_thresholds(s, s > 0, y, tolerance=2)  # keeps 3.0 and 2.0, drops 1.0
    >>> bool(1.0 < th[0] <= 2.0)
    True
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from neurodecode.metrics.events import match_events

    n_trials, n_time, n_motifs = logits.shape
    tol = int(tolerance)
    stride = n_time + 2 * tol + 1  # (motif, trial) blocks never within tolerance of each other
    # peaks and onsets on one line, ordered by (motif, trial, time)
    pm, pr, pt = np.nonzero(peaks.transpose(2, 0, 1))
    tm, tr, tt = np.nonzero(labels.transpose(2, 0, 1))
    p_pos = (pm * n_trials + pr) * stride + pt
    t_pos = (tm * n_trials + tr) * stride + tt
    p_score = logits[pr, pt, pm].astype(np.float64)
    n_t = len(t_pos)
    # edges onset -> every peak within tolerance (p_pos is sorted); peaks far from every
    # onset only count as detections, so the graph holds the others only
    lo = np.searchsorted(p_pos, t_pos - tol, side="left")
    hi = np.searchsorted(p_pos, t_pos + tol, side="right")
    deg = hi - lo
    src = np.repeat(np.arange(n_t), deg)
    dst = np.arange(int(deg.sum())) - np.repeat(np.cumsum(deg) - deg, deg) + np.repeat(lo, deg)
    near, dst = np.unique(dst, return_inverse=True)  # graph node n_t + i is peak near[i]
    n_near = len(near)
    graph = coo_matrix((np.ones(len(src), np.int8), (src, n_t + dst)),
                       shape=(n_t + n_near, n_t + n_near))
    _, comp = connected_components(graph, directed=False)
    t_comp, p_comp = comp[:n_t], comp[n_t:]
    n_comp = int(comp.max()) + 1 if len(comp) else 0
    comp_true = np.bincount(t_comp, minlength=n_comp)
    comp_peaks = np.bincount(p_comp, minlength=n_comp)
    near_score = p_score[near]
    # simple components: one step of +1 at their best peak's score
    best = np.full(n_comp, -np.inf)
    np.maximum.at(best, p_comp, near_score)
    comp_motif = np.zeros(n_comp, np.int64)
    comp_motif[p_comp] = pm[near]
    simple = (comp_true >= 1) & (comp_peaks >= 1) & ((comp_true == 1) | (comp_peaks == 1))
    step_score, step_size, step_motif = [best[simple]], [np.ones(int(simple.sum()), np.int64)], [
        comp_motif[simple]]
    # larger components: greedy matching on their peaks added best first
    for c in np.flatnonzero((comp_true > 1) & (comp_peaks > 1)):
        trues = t_pos[t_comp == c]
        idx = np.flatnonzero(p_comp == c)
        idx = idx[np.argsort(-near_score[idx], kind="stable")]
        size = 0
        for j in range(1, len(idx) + 1):
            new = len(match_events(trues, p_pos[near[idx[:j]]], tol)[0])
            if new > size:
                step_score.append(near_score[idx[j - 1:j]])
                step_size.append(np.array([new - size]))
                step_motif.append(np.array([comp_motif[c]]))
                size = new
    step_score = np.concatenate(step_score)
    step_size = np.concatenate(step_size)
    step_motif = np.concatenate(step_motif)
    order = np.lexsort((step_score, step_motif))
    step_score, step_size, step_motif = step_score[order], step_size[order], step_motif[order]
    motifs = np.arange(n_motifs + 1)
    p_bounds = np.searchsorted(pm, motifs)
    s_bounds = np.searchsorted(step_motif, motifs)
    n_true_all = np.bincount(tm, minlength=n_motifs)
    thresholds = np.zeros(n_motifs)
    for m in range(n_motifs):
        vals = np.sort(p_score[p_bounds[m]:p_bounds[m + 1]])
        n_true = int(n_true_all[m])
        if len(vals) == 0:
            continue
        # candidates: quantiles of the max(4 n_true, 10) highest peak scores
        cands = np.unique(np.quantile(vals[-max(4 * n_true, 10):], np.linspace(0, 1,
                                                                                n_candidates)))
        # detections and true positives at each candidate: counts of scores >= θ
        n_pred = len(vals) - np.searchsorted(vals, cands, side="left")
        s_sorted = step_score[s_bounds[m]:s_bounds[m + 1]]
        cum = np.concatenate([[0], np.cumsum(step_size[s_bounds[m]:s_bounds[m + 1]])])
        tp = cum[-1] - cum[np.searchsorted(s_sorted, cands, side="left")]
        f1 = 2 * tp / np.maximum(n_true + n_pred, 1)
        thresholds[m] = cands[int(np.argmax(f1))]
    return thresholds


def _f1_thresholds_loop(logits, peaks, labels, tolerance, n_candidates=200):
    """Reference: re-match at every candidate, motif by motif and trial by trial (slow)."""
    from neurodecode.metrics.events import match_events

    thresholds = np.zeros(logits.shape[2])
    for m in range(logits.shape[2]):
        vals = logits[..., m][peaks[..., m]]
        n_true = int((labels[..., m] != 0).sum())
        top = np.sort(vals)[::-1][:max(4 * n_true, 10)]
        cands = np.unique(np.quantile(top, np.linspace(0, 1, n_candidates))) if len(top) \
            else top
        best = (-1.0, cands[-1] if len(cands) else 0.0)
        for th in cands:
            tp = n_pred = 0
            for r in range(logits.shape[0]):
                p = np.flatnonzero(peaks[r, :, m] & (logits[r, :, m] >= th))
                tr = np.flatnonzero(labels[r, :, m])
                tp += len(match_events(tr, p, tolerance)[0])
                n_pred += len(p)
            f1 = 2 * tp / max(n_true + n_pred, 1)
            if f1 > best[0]:
                best = (f1, th)
        thresholds[m] = best[1]
    return thresholds
