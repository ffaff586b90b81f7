"""Training steps of contrastive embeddings: window gathering, batch embedding, the loss.

Wiring only; the maths lives in :mod:`.losses`, :mod:`.sampling` and :mod:`.encoders`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from neurodecode.models.contrastive.losses import infonce

__all__ = ["SessionData", "gather_windows", "embed_windows", "batch_loss", "embed_sequence"]


@dataclass
class SessionData:
    """One recording on the device: values ``(time, unit)`` and its samplers."""

    values: torch.Tensor
    sampler: object = None
    validation: object = None
    extra: dict = field(default_factory=dict)


def gather_windows(values: torch.Tensor, centres: torch.Tensor, left: int, length: int):
    """Windows ``values[c - left : c - left + length]`` for each centre: ``(B, length, unit)``."""
    steps = torch.arange(-left, length - left, device=values.device)
    return values[centres[:, None] + steps]


def embed_windows(encoder, values, centres, left, length, session=0):
    """Embeddings of windows of ``length`` bins: ``(B, length - rf + 1, d)``."""
    return encoder(gather_windows(values, centres, left, length), session)


def batch_loss(encoder, temperature, metric, batches, sessions, positive_sessions, *,
               left: int, time_offset: int, time_positives: bool = False):
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

    Returns
    -------
    loss, alignment, uniformity : torch.Tensor
        Means over sessions; every reference is contrasted with the negatives of all
        sessions, so embeddings of different sessions share one space.
    """
    rf = encoder.receptive_field
    tau = temperature()
    refs, poss, tposs, negs = [], [], [], []
    for s, (batch, data) in enumerate(zip(batches, sessions, strict=True)):
        ref_idx = batch["reference"]
        hybrid = "time_positive" in batch
        if time_positives and positive_sessions[s] == s and time_offset < rf:
            # reference and positive windows overlap: one window of rf + offset bins
            z = embed_windows(encoder, data.values, ref_idx, left, rf + time_offset, s)
            refs.append(z[:, 0])
            poss.append(z[:, time_offset])
            negs.append(embed_windows(encoder, data.values, batch["negative"], left, rf, s)[:, 0])
            continue
        if hybrid and time_offset < rf:
            z = embed_windows(encoder, data.values, ref_idx, left, rf + time_offset, s)
            refs.append(z[:, 0])
            tposs.append(z[:, time_offset])
        else:
            refs.append(embed_windows(encoder, data.values, ref_idx, left, rf, s)[:, 0])
            if "time_positive" in batch:
                tposs.append(embed_windows(encoder, data.values, batch["time_positive"],
                                           left, rf, s)[:, 0])
        p = positive_sessions[s]
        if p == s:
            both = torch.cat([batch["positive"], batch["negative"]])
            z = embed_windows(encoder, data.values, both, left, rf, s)[:, 0]
            n = batch["positive"].shape[0]
            poss.append(z[:n])
            negs.append(z[n:])
        else:
            poss.append(embed_windows(encoder, sessions[p].values, batch["positive"], left, rf,
                                      p)[:, 0])
            negs.append(embed_windows(encoder, data.values, batch["negative"], left, rf, s)[:, 0])
    neg = torch.cat(negs)
    loss = align = unif = 0.0
    for i, ref in enumerate(refs):
        part = infonce(ref, poss[i], neg, tau, metric)
        if tposs:
            extra = infonce(ref, tposs[i], neg, tau, metric)
            part = tuple(a + b for a, b in zip(part, extra, strict=True))
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
