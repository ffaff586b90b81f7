"""Decoders: neural activity → labels, behaviour, images, video (fit / predict)."""

from __future__ import annotations

from neurodecode._lazy import lazy_exports

_NAMES: dict[str, str] = {
    "PoissonBayesDecoder": "neurodecode.decoders.baselines",
    "PoissonBayesClassifier": "neurodecode.decoders.baselines",
    "KNNDecoder": "neurodecode.decoders.baselines",
    "RidgeDecoder": "neurodecode.decoders.baselines",
    "occupancy_tuning_curves": "neurodecode.decoders.baselines",
    "poisson_log_posterior": "neurodecode.decoders.baselines",
    "ContiguousKFold": "neurodecode.decoders.cv",
    "HeldOutGroups": "neurodecode.decoders.cv",
    "cross_val_predict": "neurodecode.decoders.cv",
    "fold_scores": "neurodecode.decoders.cv",
    "frame_features": "neurodecode.decoders.frames",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _NAMES)
