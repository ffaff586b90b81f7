"""Contrastive embeddings (CEBRA-class): encoders, InfoNCE, positive sampling, estimator.

The method is that of CEBRA (Schneider, Lee & Mathis, "Learnable latent
embeddings for joint behavioural and neural analysis", Nature 2023,
doi:10.1038/s41586-023-06031-6). Patent notice: the CEBRA method is the subject
of a US patent held by EPFL (US12499131B2, per the CEBRA README); judge your own
use. This is a notice, not legal advice.
"""

from neurodecode.models.contrastive.estimator import ContrastiveEmbedding

__all__ = ["ContrastiveEmbedding"]
