"""InfoNCE for contrastive embeddings: similarities, the loss, and its temperature.

Pure functions of embedding tensors; the estimator only wires them. The loss is
the one CEBRA trains with (Schneider, Lee & Mathis, Nature 2023): for a batch of
references ``r_i``, their positives ``p_i`` and a shared set of negatives ``n_j``,

    L = mean_i [ -s(r_i, p_i) / tau + log sum_j exp(s(r_i, n_j) / tau) ]

where ``s`` is the cosine similarity or the negative squared euclidean distance.
The positive is not part of the denominator (the negatives are a separate draw),
and no ``log M`` constant is added, so values match CEBRA's reported losses.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["METRICS", "pairwise_similarity", "paired_similarity", "infonce", "Temperature"]

METRICS = ("cosine", "euclidean")


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"`distance` must be one of {METRICS}; got {metric!r}.")


def paired_similarity(a: torch.Tensor, b: torch.Tensor, metric: str = "cosine") -> torch.Tensor:
    """Similarity of row ``i`` of ``a`` with row ``i`` of ``b``.

    Parameters
    ----------
    a, b : torch.Tensor, shape (n, d)
    metric : {"cosine", "euclidean"}
        Cosine similarity, or the negative squared euclidean distance.

    Returns
    -------
    torch.Tensor, shape (n,)

    Examples
    --------
    >>> import torch
    >>> a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> paired_similarity(a, a, "cosine").tolist()
    [1.0, 1.0]
    >>> paired_similarity(a, torch.zeros(2, 2), "euclidean").tolist()
    [-1.0, -4.0]
    """
    _check_metric(metric)
    if metric == "cosine":
        return (F.normalize(a, dim=-1) * F.normalize(b, dim=-1)).sum(-1)
    return -((a - b) ** 2).sum(-1)


def pairwise_similarity(a: torch.Tensor, b: torch.Tensor, metric: str = "cosine") -> torch.Tensor:
    """Similarity of every row of ``a`` with every row of ``b``.

    Parameters
    ----------
    a : torch.Tensor, shape (n, d)
    b : torch.Tensor, shape (m, d)
    metric : {"cosine", "euclidean"}

    Returns
    -------
    torch.Tensor, shape (n, m)

    Examples
    --------
    >>> import torch
    >>> a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> pairwise_similarity(a, a).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    _check_metric(metric)
    if metric == "cosine":
        return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T
    # |a-b|^2 = |a|^2 + |b|^2 - 2 a.b: one GEMM instead of an (n, m, d) tensor
    sq = (a * a).sum(-1)[:, None] + (b * b).sum(-1)[None, :] - 2.0 * (a @ b.T)
    return -sq.clamp_min(0.0)


def infonce(reference: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
            temperature=1.0, metric: str = "cosine", exclude_offset: int | None = None,
            unit_norm: bool = False):
    """InfoNCE loss with its alignment and uniformity terms.

    Parameters
    ----------
    reference : torch.Tensor, shape (n, d)
    positive : torch.Tensor, shape (n, d)
        Positive sample of each reference.
    negative : torch.Tensor, shape (m, d)
        Negatives shared by all references.
    temperature : float or torch.Tensor
        Scale ``tau`` (> 0) dividing every similarity.
    metric : {"cosine", "euclidean"}
    exclude_offset : int, optional
        The references are rows ``exclude_offset ...`` of ``negative`` (the other
        references serve as negatives): each reference's own row is left out of
        its sum.
    unit_norm : bool
        The embeddings already have unit norm (a normalising encoder): cosine
        similarities are plain dot products, so they are not normalised again.

    Returns
    -------
    loss, alignment, uniformity : torch.Tensor (scalars)
        ``loss = alignment + uniformity`` with ``alignment = -mean_i s(r_i, p_i)/tau``
        and ``uniformity = mean_i logsumexp_j s(r_i, n_j)/tau``.

    Examples
    --------
    >>> import torch
    >>> r = torch.tensor([[1.0, 0.0]]); n = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    >>> loss, align, unif = infonce(r, r, n, temperature=1.0)
    >>> round(float(align), 4), round(float(unif), 4)
    (-1.0, 1.1269)
    """
    if unit_norm and metric == "cosine":
        pos = (reference * positive).sum(-1) / temperature
        neg = (reference @ negative.T) / temperature
    else:
        pos = paired_similarity(reference, positive, metric) / temperature
        neg = pairwise_similarity(reference, negative, metric) / temperature
    if exclude_offset is not None:
        rows = torch.arange(reference.shape[0], device=neg.device)
        neg = neg.index_put((rows, rows + exclude_offset),
                            torch.tensor(float("-inf"), dtype=neg.dtype, device=neg.device))
    alignment = -pos.mean()
    uniformity = torch.logsumexp(neg, dim=1).mean()
    return alignment + uniformity, alignment, uniformity


class Temperature(torch.nn.Module):
    """Fixed or learned InfoNCE temperature.

    Parameters
    ----------
    init : float
        Starting (or fixed) temperature, > 0.
    learn : bool
        Learn ``log tau`` by gradient descent with the encoder.
    min_temperature : float
        Lower bound of a learned temperature (a learned ``tau`` otherwise
        shrinks without end on separable data).

    Examples
    --------
    >>> t = Temperature(0.5, learn=True, min_temperature=0.1)
    >>> round(float(t().detach()), 4)
    0.5
    """

    def __init__(self, init: float = 1.0, learn: bool = False, min_temperature: float = 0.1):
        super().__init__()
        if not init > 0:
            raise ValueError(f"`temperature` must be > 0; got {init!r}.")
        if learn and not 0 < min_temperature <= init:
            raise ValueError(f"`min_temperature` must be in (0, temperature={init}]; "
                             f"got {min_temperature!r}.")
        self.learn = learn
        self.min_temperature = float(min_temperature)
        log_tau = torch.tensor(math.log(init), dtype=torch.float32)
        if learn:
            self.log_tau = torch.nn.Parameter(log_tau)
        else:
            self.register_buffer("log_tau", log_tau)

    def forward(self) -> torch.Tensor:
        tau = self.log_tau.exp()
        return tau.clamp_min(self.min_temperature) if self.learn else tau
