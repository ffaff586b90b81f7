"""Clustering metrics: adjusted Rand index, posterior co-clustering, Dahl point partitions."""

from __future__ import annotations

import numpy as np

__all__ = ["adjusted_rand_index", "coclustering_matrix", "dahl_partition"]


def _labels(name, labels):
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be a 1-d array of labels; got shape {arr.shape}.")
    return arr


def adjusted_rand_index(labels_true, labels_pred) -> float:
    """Adjusted Rand index between two partitions (1 = identical, ~0 = chance).

    Examples
    --------
    >>> adjusted_rand_index([0, 0, 1, 1], [5, 5, 2, 2])
    1.0
    """
    from sklearn.metrics import adjusted_rand_score

    a, b = _labels("labels_true", labels_true), _labels("labels_pred", labels_pred)
    if a.shape != b.shape:
        raise ValueError(f"`labels_true` has {a.size} entries but `labels_pred` has {b.size}.")
    return float(adjusted_rand_score(a, b))


def _one_hot(labels):
    codes = np.unique(labels, return_inverse=True)[1]
    H = np.zeros((labels.size, codes.max() + 1))
    H[np.arange(labels.size), codes] = 1.0
    return H


def coclustering_matrix(samples, chunk: int = 64) -> np.ndarray:
    """Posterior probability that items ``a`` and ``b`` share a cluster.

    Parameters
    ----------
    samples : array of int, shape (n_samples, n_items)
        Sampled partitions (label values need not match across samples).

    Returns
    -------
    ndarray, shape (n_items, n_items)

    Examples
    --------
    >>> coclustering_matrix([[0, 0, 1], [0, 1, 1]])
    array([[1. , 0.5, 0. ],
           [0.5, 1. , 0.5],
           [0. , 0.5, 1. ]])
    """
    samples = np.asarray(samples)
    if samples.ndim != 2 or samples.shape[0] == 0:
        raise ValueError(f"`samples` must have shape (n_samples, n_items); got {samples.shape}.")
    n = samples.shape[1]
    P = np.zeros((n, n))
    for start in range(0, len(samples), chunk):
        H = np.concatenate([_one_hot(s) for s in samples[start:start + chunk]], axis=1)
        P += H @ H.T
    return P / len(samples)


def dahl_partition(samples, coclustering=None, max_candidates: int = 500):
    """Dahl's (2006) least-squares point partition among the sampled ones.

    Picks the sampled partition whose co-clustering indicator is closest (in
    squared error) to the posterior co-clustering matrix.

    Parameters
    ----------
    samples : array of int, shape (n_samples, n_items)
    coclustering : ndarray, shape (n_items, n_items), optional
        Precomputed :func:`coclustering_matrix` of ``samples``.
    max_candidates : int
        Evenly spaced samples considered as candidates (the loss is O(n_items^2) each).

    Returns
    -------
    labels : ndarray of int, shape (n_items,)
        Relabelled ``0..k-1`` in order of first appearance.
    index : int
        Which sample it is.

    Examples
    --------
    >>> labels, index = dahl_partition([[0, 0, 1], [0, 0, 1], [1, 0, 0]])
    >>> labels.tolist(), index
    ([0, 0, 1], 0)
    """
    samples = np.asarray(samples)
    P = coclustering_matrix(samples) if coclustering is None else np.asarray(coclustering)
    candidates = np.unique(np.linspace(0, len(samples) - 1, min(max_candidates, len(samples)))
                           .round().astype(int))
    best, best_loss = 0, np.inf
    for s in candidates:
        H = _one_hot(samples[s])
        # Σ_ab (δ_ab - P_ab)^2 = Σ_l n_l^2 - 2 Σ_l h_lᵀ P h_l + const
        loss = np.sum(H.sum(0) ** 2) - 2 * np.sum(H * (P @ H))
        if loss < best_loss:
            best, best_loss = int(s), loss
    chosen = samples[best]
    _, first = np.unique(chosen, return_index=True)
    order = np.unique(chosen)[np.argsort(first)]
    relabel = {v: i for i, v in enumerate(order)}
    return np.array([relabel[v] for v in chosen]), best
