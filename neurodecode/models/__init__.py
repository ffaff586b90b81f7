"""Latent-variable models and detectors (fit / transform), each a scikit-learn estimator.

Imported lazily: ``neurodecode.models.ContrastiveEmbedding`` loads torch only
when first touched.
"""

from __future__ import annotations

import importlib

_NAMES = {
    "ContrastiveEmbedding": "neurodecode.models.contrastive",
    "BayesianBiclustering": "neurodecode.models.biclustering",
    "SpikingMotifDetector": "neurodecode.models.motifs",
    "TimeEvolvingDynamics": "neurodecode.models.dynamics",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'neurodecode.models' has no attribute {name!r}")


def __dir__():
    return __all__
