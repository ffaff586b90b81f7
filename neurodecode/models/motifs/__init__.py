"""Spiking-motif detection with learned heterogeneous delays (Perrinet, ICANN 2023).

``SpikingMotifDetector`` is the estimator; the maths lives in pure modules:
``detection`` (temporal-convolution detector, DCLS-style Gaussian delays),
``training`` (weighted BCE), ``baselines`` (matched-filter oracle, correlation
template), ``unsupervised`` (convolutive factorisation for discovery),
``surrogates`` (dithering, trial shuffles, p-values) and ``pruning``.
"""

from neurodecode.models.motifs.estimator import SpikingMotifDetector

__all__ = ["SpikingMotifDetector"]
