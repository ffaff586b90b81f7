"""Latent-variable models and detectors (fit / transform), each a scikit-learn estimator.

Imported lazily: ``neurodecode.models.ContrastiveEmbedding`` loads torch only
when first touched.
"""

from __future__ import annotations

from neurodecode._lazy import lazy_exports

_NAMES = {
    "ContrastiveEmbedding": "neurodecode.models.contrastive",
    "BayesianBiclustering": "neurodecode.models.biclustering",
    "SpikingMotifDetector": "neurodecode.models.motifs",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _NAMES)
