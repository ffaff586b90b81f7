"""Training steps of contrastive embeddings: window gathering, batch embedding, the loss.

Wiring only; the maths lives in :mod:`.losses`, :mod:`.sampling` and :mod:`.encoders`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from neurodecode.models.contrastive.losses import infonce

__all__ = ["SessionData", "shares_window", "gather_windows", "embed_windows", "batch_loss",
           "embed_sequence"]


@dataclass
class SessionData:
    """One recording on the device: values ``(time, unit)`` and its samplers.

    ``rows`` holds the recording's non-zero entries when it is sparse enough
    (spike counts usually are) for the encoder's first layer to use them.
    """

    values: torch.Tensor
    sampler: object = None
    validation: object = None
    extra: dict = field(default_factory=dict)
    rows: object = None

    def __post_init__(self):
        if self.rows is None:
            from neurodecode.models.contrastive.encoders import SparseRows

            self.rows = SparseRows.maybe(self.values)


def gather_windows(values: torch.Tensor, centres: torch.Tensor, left: int, length: int):
    """Windows ``values[c - left : c - left + length]`` for each centre: ``(B, length, unit)``."""
    steps = torch.arange(-left, length - left, device=values.device)
    return values[centres[:, None] + steps]


def shares_window(receptive_field: int, time_offset: int) -> bool:
    """Whether one window of ``rf + offset`` bins costs less than two of ``rf``.

    Counts the positions every conv level computes: a level with ``p`` positions
    per window costs ``p + offset`` in the joint window against ``2 p`` apart.
    """
    levels = [receptive_field - 1 - 2 * i for i in range(receptive_field // 2)]
    levels = [p for p in levels if p > 0] or [1]
    return sum(p + time_offset for p in levels) < 2 * sum(levels)


def embed_windows(encoder, values, centres, left, length, session=0, rows=None):
    """Embeddings of windows of ``length`` bins: ``(B, length - rf + 1, d)``.

    Encoders with a ``forward_windows`` method (:class:`OffsetEncoder`) gather
    and embed in one fused pass (from ``rows``, the non-zero entries of
    ``values``, when given); others get the gathered windows.
    """
    if hasattr(encoder, "forward_windows"):
        return encoder.forward_windows(values, centres - left, length, session, rows=rows)
    return encoder(gather_windows(values, centres, left, length), session)


def batch_loss(encoder, temperature, metric, batches, sessions, positive_sessions, *,
               left: int, time_offset: int, time_positives: bool = False,
               reference_negatives: bool = False):
    """InfoNCE of one step over all sessions.

    Parameters
    ----------
    batches : list of dict
        Index batches from :meth:`PairSampler.sample`, one per session (reference and
        negatives of that session; ``positive`` indexes ``positive_sessions[i]``).
    sessions : list of SessionData
    positive_sessions : list of int
        Session that holds each batch's positives.
    time_positives : bool
        The positives are ``reference + time_offset`` (time-contrastive).
    reference_negatives : bool
        Contrast each reference with the other references (of all sessions)
        instead of separately drawn negatives: references are uniform draws too,
        so the expected loss is the same with one set of windows fewer.

    Returns
    -------
    loss, alignment, uniformity : torch.Tensor
        Means over sessions; every reference is contrasted with the negatives of all
        sessions, so embeddings of different sessions share one space.
    """
    rf = encoder.receptive_field
    tau = temperature()
    joint = shares_window(rf, time_offset)
    refs, poss, tposs, negs = [], [], [], []
    for s, (batch, data) in enumerate(zip(batches, sessions, strict=True)):
        ref_idx = batch["reference"]
        p = positive_sessions[s]
        tpos = batch.get("time_positive")
        if time_positives and p == s:
            tpos, pos_idx = batch["positive"], None
        else:
            pos_idx = batch["positive"]
        neg_idx = batch["negative"][:0] if reference_negatives else batch["negative"]
        if tpos is not None and joint:
            # reference and time-positive windows overlap: one window of rf + offset bins
            z = embed_windows(encoder, data.values, ref_idx, left, rf + time_offset, s,
                              rows=data.rows)
            refs.append(z[:, 0])
            tposs.append(z[:, time_offset])
            same = [neg_idx]
        else:
            same = [ref_idx] + ([] if tpos is None else [tpos]) + [neg_idx]
        if pos_idx is not None and p == s:
            same.insert(len(same) - 1, pos_idx)
        sizes = [len(i) for i in same]
        both = torch.cat(same)
        parts = (embed_windows(encoder, data.values, both, left, rf, s, rows=data.rows)[:, 0]
                 if len(both)
                 else refs[-1][:0])
        parts = list(torch.split(parts, sizes))
        negs.append(parts.pop())
        if not (tpos is not None and joint):
            refs.append(parts.pop(0))
            if tpos is not None:
                tposs.append(parts.pop(0))
        if pos_idx is not None:
            poss.append(parts.pop(0) if p == s else embed_windows(
                encoder, sessions[p].values, pos_idx, left, rf, p, rows=sessions[p].rows)[:, 0])
    neg = torch.cat(refs if reference_negatives else negs)
    unit_norm = bool(getattr(getattr(encoder, "encoder", encoder), "normalize", False))
    starts = [0]
    for ref in refs:
        starts.append(starts[-1] + ref.shape[0])
    loss = align = unif = 0.0
    for i, ref in enumerate(refs):
        own = starts[i] if reference_negatives else None
        terms = []
        if poss:
            terms.append(infonce(ref, poss[i], neg, tau, metric, own, unit_norm))
        if tposs:
            terms.append(infonce(ref, tposs[i], neg, tau, metric, own, unit_norm))
        for part in terms:
            loss, align, unif = loss + part[0], align + part[1], unif + part[2]
    n = len(refs)
    return loss / n, align / n, unif / n


@torch.no_grad()
def embed_sequence(encoder, values: torch.Tensor, left: int, right: int, session: int = 0,
                   chunk: int = 8192) -> torch.Tensor:
    """Embed every bin of a recording ``(time, unit)`` → ``(time, d)``.

    The recording is padded at each end by repeating its first/last bin, so the
    output has one row per input bin; long recordings go through in chunks.
    """
    n = values.shape[0]
    padded = torch.cat([values[:1].expand(left, -1), values, values[-1:].expand(right, -1)])
    out = []
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        piece = padded[start:stop + left + right][None]
        out.append(encoder(piece, session)[0])
    return torch.cat(out)
