"""Magnitude pruning of a fitted motif detector: event F1 against the number of synapses."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["pruning_curve"]


def pruning_curve(detector, X_test, y_test, n_keep=None, X_calib=None, y_calib=None,
                  distractors=None) -> pd.DataFrame:
    """Prune the smallest synapses of ``detector`` and score what is left.

    Parameters
    ----------
    detector : fitted SpikingMotifDetector
    X_test, y_test : spike tensor and onset labels the scores are computed on
    n_keep : sequence of int, optional
        Synapse counts to keep; default 12 counts log-spaced from 1 to all.
    X_calib, y_calib : optional
        Data on which the threshold of every pruned detector is re-set
        (maximum event F1); default: keep the detector's threshold.
    distractors : labels of distractor onsets on ``X_test``, optional
        Adds the AUC of true against distractor onsets.

    Returns
    -------
    DataFrame
        ``n_synapses``, ``fraction`` of the original, ``f1`` and maybe ``auc``.
    """
    from neurodecode.metrics.events import onset_auc

    total = detector.n_synapses()
    if n_keep is None:
        n_keep = np.unique(np.round(np.logspace(0, np.log10(max(total, 1)), 12)).astype(int))
    rows = []
    for k in n_keep:
        pruned = detector.prune(int(k))
        if X_calib is not None:
            pruned.calibrate_threshold(X_calib, y_calib)
        row = {"n_synapses": pruned.n_synapses(), "fraction": pruned.n_synapses() / total,
               "f1": pruned.score(X_test, y_test)}
        if distractors is not None:
            scores = pruned.decision_function(X_test)
            row["auc"] = onset_auc(scores, y_test, distractors, tolerance=pruned.tolerance)
        rows.append(row)
    return pd.DataFrame(rows)
