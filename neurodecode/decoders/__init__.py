"""Decoders: neural activity → labels, behaviour, images, video (fit / predict)."""

from __future__ import annotations

import importlib

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
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'neurodecode.decoders' has no attribute {name!r}")


def __dir__():
    return __all__
