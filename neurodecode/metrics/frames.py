"""Movie-frame identification: accuracy of decoded frame indices and its chance level.

The natural-movie benchmark of CEBRA (Schneider, Lee & Mathis, Nature 2023) asks
which frame of a repeated movie was on screen, from the activity of a held-out
repeat. A decoded frame counts as exact when it is the frame shown, and as
"within 1 s" when it is at most ``tolerance * frame_rate`` frames away. These
functions score decoded frame indices from any decoder (kNN on an embedding or
on raw counts, a Bayes classifier…); for a kNN on embeddings in one call see
:func:`neurodecode.metrics.embedding.frame_identification_score`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["frame_identification_chance", "frame_identification_accuracy"]


def frame_identification_chance(n_frames: int, tolerance_frames: float) -> float:
    """Accuracy of a uniform random guess at being within ``tolerance_frames`` of the truth.

    Averaged over true frames, uniform over the movie: near the movie's ends
    fewer frames are in reach, so this is slightly below
    ``(2 * tolerance + 1) / n_frames``.

    Parameters
    ----------
    n_frames : int
        Frames in the movie (>= 1).
    tolerance_frames : float
        Largest counted distance, in frames (0: exact frame only).

    Returns
    -------
    float

    Examples
    --------
    >>> round(frame_identification_chance(300, 30), 4)
    0.193
    >>> round(frame_identification_chance(300, 0), 4)
    0.0033
    """
    n_frames = int(n_frames)
    if n_frames < 1:
        raise ValueError(f"`n_frames` must be >= 1, got {n_frames}.")
    if not tolerance_frames >= 0:
        raise ValueError(f"`tolerance_frames` must be >= 0, got {tolerance_frames}.")
    tol = int(np.floor(tolerance_frames))
    frames = np.arange(n_frames)
    reach = np.minimum(frames + tol, n_frames - 1) - np.maximum(frames - tol, 0) + 1
    return float(np.mean(reach / n_frames))


def frame_identification_accuracy(frames_true, frames_pred, *, frame_rate: float,
                                  tolerance: float = 1.0, n_frames: int | None = None) -> dict:
    """Exact and within-tolerance accuracy of decoded movie frames, next to chance.

    Parameters
    ----------
    frames_true, frames_pred : int arrays, shape (n_samples,)
        Frame shown and frame decoded at each sample (held-out data).
    frame_rate : float
        Movie frames per second (> 0).
    tolerance : float
        Seconds: a decoded frame at most ``tolerance * frame_rate`` frames from
        the true one counts as "within" (CEBRA: 1 s).
    n_frames : int, optional
        Frames in the movie, for the chance levels; default
        ``max(frames_true) + 1``.

    Returns
    -------
    dict
        ``exact``, ``within`` (fractions of samples), ``chance_exact``,
        ``chance_within`` (uniform guessing, :func:`frame_identification_chance`),
        ``median_error_frames`` (median ``|decoded - true|``), ``tolerance_frames``.

    Examples
    --------
    >>> s = frame_identification_accuracy([0, 10, 20, 200], [0, 12, 60, 200], frame_rate=30.0,
    ...                                   n_frames=300)
    >>> s["exact"], s["within"], round(s["chance_within"], 3)
    (0.5, 0.75, 0.193)
    """
    true = np.asarray(frames_true).reshape(-1)
    pred = np.asarray(frames_pred).reshape(-1)
    if true.shape != pred.shape:
        raise ValueError(f"`frames_true` has {true.size} samples but `frames_pred` {pred.size}; "
                         "expected one decoded frame per true frame.")
    if true.size == 0:
        raise ValueError("`frames_true` is empty.")
    for name, values in (("frames_true", true), ("frames_pred", pred)):
        if values.dtype.kind not in "iuf" or (values.dtype.kind == "f" and (
                not np.all(np.isfinite(values)) or np.any(values != np.round(values)))):
            raise ValueError(f"`{name}` must hold integer frame indices; got dtype "
                             f"{values.dtype} with non-integer or non-finite values.")
    if not frame_rate > 0:
        raise ValueError(f"`frame_rate` must be > 0 (frames per second), got {frame_rate}.")
    if not tolerance >= 0:
        raise ValueError(f"`tolerance` must be >= 0 seconds, got {tolerance}.")
    true = true.astype(np.int64)
    pred = pred.astype(np.int64)
    n_frames = int(true.max()) + 1 if n_frames is None else int(n_frames)
    window = tolerance * frame_rate
    error = np.abs(pred - true)
    return {"exact": float(np.mean(error == 0)),
            "within": float(np.mean(error <= window)),
            "chance_exact": frame_identification_chance(n_frames, 0),
            "chance_within": frame_identification_chance(n_frames, window),
            "median_error_frames": float(np.median(error)),
            "tolerance_frames": float(window)}
