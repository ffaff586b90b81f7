"""Metrics of embeddings: consistency between embeddings, frame identification, kNN decoding.

Consistency follows CEBRA's definition (Schneider, Lee & Mathis, Nature 2023): the
R^2 of the best linear map from one embedding onto another; embeddings of
different sessions are first aligned by averaging them within label bins. Unlike
CEBRA's reported score, the map here is fitted on one half of the samples and
scored on the other (contiguous halves, both ways, averaged), so a flexible map
cannot score well by fitting noise.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["linear_consistency", "consistency_matrix", "label_binned_means",
           "frame_identification_score", "knn_embedding_decoder"]


def _as_2d(Z, name: str) -> np.ndarray:
    values = np.asarray(Z.values if isinstance(Z, xr.DataArray) else Z, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"`{name}` must be (n_samples, n_dims); got shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    return values


def linear_consistency(source, target, split: str = "halves") -> float:
    """Held-out R^2 of the best linear (affine) map from ``source`` onto ``target``.

    Parameters
    ----------
    source, target : array or DataArray, shapes (n_samples, d1), (n_samples, d2)
        Row ``i`` of both embeds the same sample (same time bin or label bin).
    split : {"halves", "interleaved"}
        Fit on one contiguous half and score on the other (time series, where
        neighbours are correlated), or on even/odd rows (label bins, where a
        contiguous split would make the map extrapolate to unseen labels).

    Returns
    -------
    float
        Mean over the two splits of the R^2 (variance-weighted over target
        dims) on the part the map was not fitted on.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(200, 3))
    >>> round(linear_consistency(a, a @ rng.normal(size=(3, 3)) + 1.0), 6)
    1.0
    """
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score

    a, b = _as_2d(source, "source"), _as_2d(target, "target")
    if len(a) != len(b):
        raise ValueError(f"`source` has {len(a)} samples and `target` {len(b)}; "
                         "they must pair up row by row.")
    if len(a) < 2 * (a.shape[1] + 2):
        raise ValueError(f"{len(a)} samples are too few to fit a {a.shape[1]}-D linear map "
                         "on half of them.")
    if split == "halves":
        half = len(a) // 2
        parts = (slice(0, half), slice(half, None))
    elif split == "interleaved":
        parts = (slice(0, None, 2), slice(1, None, 2))
    else:
        raise ValueError(f"`split` must be 'halves' or 'interleaved'; got {split!r}.")
    scores = []
    for fit, test in (parts, parts[::-1]):
        pred = LinearRegression().fit(a[fit], b[fit]).predict(a[test])
        scores.append(r2_score(b[test], pred, multioutput="variance_weighted"))
    return float(np.mean(scores))


def label_binned_means(Z, labels, edges) -> np.ndarray:
    """Mean embedding in each label bin (1-D labels), NaN rows for empty bins.

    Examples
    --------
    >>> label_binned_means(np.arange(6.0)[:, None], np.array([0, 0, 1, 1, 2, 2.]),
    ...                    np.array([0, 1, 2, 3.])).ravel().tolist()
    [0.5, 2.5, 4.5]
    """
    Z = _as_2d(Z, "Z")
    labels = np.asarray(labels, dtype=np.float64).ravel()
    if len(labels) != len(Z):
        raise ValueError(f"`labels` has {len(labels)} samples but the embedding {len(Z)}.")
    which = np.clip(np.searchsorted(edges, labels, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(which, minlength=len(edges) - 1).astype(np.float64)
    sums = np.stack([np.bincount(which, Z[:, j], minlength=len(edges) - 1)
                     for j in range(Z.shape[1])], axis=1)
    with np.errstate(invalid="ignore"):
        return sums / counts[:, None]


def consistency_matrix(embeddings, labels=None, n_bins: int = 100, names=None) -> xr.DataArray:
    """Pairwise linear consistency of several embeddings.

    Parameters
    ----------
    embeddings : list of arrays (n_samples_i, d_i)
        Embeddings of repeated runs (same samples) or of different sessions.
    labels : list of 1-D arrays, optional
        A behaviour label per sample of each embedding. When given, each
        embedding is averaged within ``n_bins`` equal-width label bins (over the
        common label range) and the bin means are compared, so sessions of
        different lengths can be compared.
    n_bins : int
    names : list of str, optional

    Returns
    -------
    DataArray ("source", "target")
        ``R^2`` of mapping each source onto each target; NaN on the diagonal.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(300, 2))
    >>> m = consistency_matrix([a, a @ [[0, 1], [1, 0]], rng.normal(size=(300, 2))])
    >>> round(float(m[0, 1]), 3), bool(m[0, 2] < 0.1)
    (1.0, True)
    """
    embs = list(embeddings)
    if len(embs) < 2:
        raise ValueError("`embeddings` needs at least two embeddings to compare.")
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(embs):
            raise ValueError(f"`labels` has {len(labels)} entries for {len(embs)} embeddings.")
        lo = max(float(np.min(y)) for y in labels)
        hi = min(float(np.max(y)) for y in labels)
        if not hi > lo:
            raise ValueError("the label ranges of the embeddings do not overlap.")
        edges = np.linspace(lo, hi, n_bins + 1)
        embs = [label_binned_means(Z, y, edges) for Z, y in zip(embs, labels, strict=True)]
        filled = np.all([np.isfinite(Z).all(axis=1) for Z in embs], axis=0)
        embs = [Z[filled] for Z in embs]
        split = "interleaved"
    else:
        embs = [_as_2d(Z, f"embeddings[{i}]") for i, Z in enumerate(embs)]
        split = "halves"
    n = len(embs)
    out = np.full((n, n), np.nan)
    for i in range(n):
        for j in range(n):
            if i != j:
                out[i, j] = linear_consistency(embs[i], embs[j], split)
    names = list(names) if names is not None else [str(i) for i in range(n)]
    return xr.DataArray(out, dims=("source", "target"),
                        coords={"source": names, "target": names}, name="consistency_r2")


def frame_identification_score(Z_train, frames_train, Z_test, frames_test, *,
                               frame_rate: float, tolerance: float = 1.0,
                               n_neighbors: int = 1, metric: str = "cosine") -> dict:
    """Identify movie frames from held-out embeddings with a kNN classifier.

    Parameters
    ----------
    Z_train, Z_test : arrays (n, d)
        Embeddings of training repeats and of the held-out repeat.
    frames_train, frames_test : int arrays (n,)
        Movie frame shown at each sample.
    frame_rate : float
        Movie frames per second.
    tolerance : float
        Seconds: a prediction within ``tolerance * frame_rate`` frames counts.
    n_neighbors : int
    metric : str

    Returns
    -------
    dict
        ``exact`` (fraction of exact frames), ``within`` (fraction within the
        tolerance), ``chance_within`` (the same for uniform guessing, see
        :func:`~neurodecode.metrics.frames.frame_identification_chance`).

    Examples
    --------
    >>> t = np.arange(300)
    >>> Z = np.c_[np.cos(t / 50), np.sin(t / 50)]
    >>> s = frame_identification_score(Z, t, Z + 0.001, t, frame_rate=30.0)
    >>> s["within"] == 1.0
    True
    """
    from sklearn.neighbors import KNeighborsClassifier

    from neurodecode.metrics.frames import frame_identification_chance

    a, b = _as_2d(Z_train, "Z_train"), _as_2d(Z_test, "Z_test")
    f_train = np.asarray(frames_train).ravel()
    f_test = np.asarray(frames_test).ravel()
    if len(f_train) != len(a) or len(f_test) != len(b):
        raise ValueError("`frames_train`/`frames_test` must have one frame per embedding row.")
    clf = KNeighborsClassifier(n_neighbors=n_neighbors, metric=metric).fit(a, f_train)
    pred = clf.predict(b)
    window = tolerance * frame_rate
    n_frames = len(np.unique(f_train))
    return {"exact": float(np.mean(pred == f_test)),
            "within": float(np.mean(np.abs(pred - f_test) <= window)),
            "chance_within": frame_identification_chance(n_frames, window)}


def knn_embedding_decoder(task: str = "regression", n_neighbors: int = 20):
    """kNN decoder on embeddings: cosine metric, no standardisation.

    Thin configuration of :class:`neurodecode.decoders.baselines.KNNDecoder`
    (embeddings on the hypersphere are compared by angle, as in CEBRA).

    Examples
    --------
    >>> dec = knn_embedding_decoder("classification", n_neighbors=3)
    >>> dec.metric, dec.standardize
    ('cosine', False)
    """
    from neurodecode.decoders.baselines import KNNDecoder

    return KNNDecoder(n_neighbors=n_neighbors, task=task, standardize=False, metric="cosine")
