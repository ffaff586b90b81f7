"""Metrics: decoding, reconstruction, latent recovery, clustering, event detection.

One submodule per family (``decoding``, ``clustering``, ``events``, ``embedding``,
``reconstruction``); every public name is importable from ``neurodecode.metrics``.
"""

from __future__ import annotations

from neurodecode._lazy import lazy_exports

_NAMES: dict[str, str] = {
    "local_maxima": "neurodecode.metrics.events",
    "adjusted_rand_index": "neurodecode.metrics.clustering",
    "coclustering_matrix": "neurodecode.metrics.clustering",
    "dahl_partition": "neurodecode.metrics.clustering",
    "match_events": "neurodecode.metrics.events",
    "event_f1": "neurodecode.metrics.events",
    "onset_auc": "neurodecode.metrics.events",
    "event_average_precision": "neurodecode.metrics.events",
    "kernel_correlation": "neurodecode.metrics.events",
    "delay_accuracy": "neurodecode.metrics.events",
    "throughput": "neurodecode.metrics.events",
    "event_counts": "neurodecode.metrics.events",
    "oracle_threshold_recall": "neurodecode.metrics.events",
    "global_threshold_recall": "neurodecode.metrics.events",
    "decoding_errors": "neurodecode.metrics.decoding",
    "median_absolute_error": "neurodecode.metrics.decoding",
    "mean_absolute_error": "neurodecode.metrics.decoding",
    "mean_error": "neurodecode.metrics.decoding",
    "root_mean_squared_error": "neurodecode.metrics.decoding",
    "r2_score": "neurodecode.metrics.decoding",
    "accuracy": "neurodecode.metrics.decoding",
    "balanced_accuracy": "neurodecode.metrics.decoding",
    "linear_consistency": "neurodecode.metrics.embedding",
    "consistency_matrix": "neurodecode.metrics.embedding",
    "frame_identification_score": "neurodecode.metrics.embedding",
    "knn_embedding_decoder": "neurodecode.metrics.embedding",
    "frame_identification_accuracy": "neurodecode.metrics.frames",
    "frame_identification_chance": "neurodecode.metrics.frames",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _NAMES)
