"""Vectorised sampling of references, positives and negatives for contrastive learning.

Every sampler draws a whole batch at once with a ``torch.Generator`` (no Python
loop per sample). Indices are time bins of one recording, restricted to a
contiguous range ``[lo, hi)`` of bins whose encoder window lies inside the data
(and inside the training split).

Positive schemes
----------------
``"time"``
    the bin ``time_offset`` ahead of the reference.
``"time_delta"``
    continuous labels: the bin whose label is nearest to ``y[ref] + (y[r + k] - y[r])``,
    an empirical label change over ``k = time_offset`` bins at a random bin ``r``
    (CEBRA's ``time_delta``).
``"delta"``
    continuous labels: nearest to ``y[ref] + N(0, delta^2)`` (CEBRA's ``delta``).
``"discrete"``
    a uniformly drawn bin with the reference's class.
mixed
    continuous scheme searched only among bins of the reference's class.

The nearest-label search never builds a (time x batch) distance matrix: 1-D
labels are sorted once and searched with ``torch.searchsorted`` (on the
device; ties among equal labels are broken uniformly at random). Labels with
one continuous column and other columns that take few distinct values (position
with running-direction indicators, as in CEBRA's hippocampus demo) are sorted
per combination of the few-valued columns: the exact nearest label is the best
of one sorted lookup per combination. Other labels with more dimensions go to a
KD-tree (``scipy.spatial.cKDTree``) built once.
Negatives are uniform over ``[lo, hi)``.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["CONDITIONALS", "NearestLabelIndex", "ClassPool", "PairSampler", "empirical_deltas"]

CONDITIONALS = ("time", "time_delta", "delta", "discrete")
_KD_TIES = 8
_MAX_COMBINATIONS = 64  # few-valued label columns: per-combination sorted lookup up to this


def _uniform(n: int, generator: torch.Generator, device) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=device, dtype=torch.float64)


class NearestLabelIndex:
    """Nearest-neighbour search among a fixed pool of continuous labels.

    Parameters
    ----------
    labels : ndarray, shape (n,) or (n, d)
        Labels of the candidate bins.
    indices : ndarray of int, shape (n,)
        Time-bin index of each candidate (what queries return).
    device : torch.device

    Examples
    --------
    >>> import numpy as np, torch
    >>> idx = NearestLabelIndex(np.array([0.0, 1.0, 1.0, 5.0]), np.array([10, 11, 12, 13]),
    ...                         torch.device("cpu"))
    >>> g = torch.Generator().manual_seed(0)
    >>> idx.query(torch.tensor([[4.0], [-3.0]], dtype=torch.float64), g).tolist()
    [13, 10]
    """

    def __init__(self, labels: np.ndarray, indices: np.ndarray, device):
        labels = np.asarray(labels, dtype=np.float64)
        labels = labels[:, None] if labels.ndim == 1 else labels
        self.dim = labels.shape[1]
        self.device = device
        if len(labels) == 0:
            raise ValueError("no candidate bins to search for positives.")
        self.mode = "sorted" if self.dim == 1 else "tree"
        if self.dim == 1:
            order = np.argsort(labels[:, 0], kind="stable")
            self.sorted = torch.as_tensor(labels[order, 0], device=device)
            self.indices = torch.as_tensor(np.asarray(indices)[order], device=device)
            return
        split = _few_valued_split(labels)
        if split is not None:
            self._init_combinations(labels, np.asarray(indices), *split)
            return
        from scipy.spatial import cKDTree

        self.tree = cKDTree(labels)
        self.indices_np = np.asarray(indices)
        self.k = min(_KD_TIES, len(labels))

    def _init_combinations(self, labels, indices, column, combos, combo_of):
        """Per combination of the few-valued columns: continuous values sorted, +inf padded."""
        self.mode = "combinations"
        self.column = column
        counts = np.bincount(combo_of, minlength=len(combos))
        width = int(counts.max())
        values = np.full((len(combos), width), np.inf)
        where = np.zeros((len(combos), width), dtype=np.int64)
        for c in range(len(combos)):  # a few combinations, not samples
            members = np.flatnonzero(combo_of == c)
            order = members[np.argsort(labels[members, column], kind="stable")]
            values[c, :len(order)] = labels[order, column]
            where[c, :len(order)] = indices[order]
        self.sorted = torch.as_tensor(values, device=self.device)
        self.where = torch.as_tensor(where, device=self.device)
        self.counts = torch.as_tensor(counts, device=self.device)
        others = [j for j in range(self.dim) if j != column]
        self.others = others
        self.combos = torch.as_tensor(combos, device=self.device)  # (K, dim - 1)

    def query(self, targets: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Index of the bin whose label is nearest each target, ``(B, d)`` → ``(B,)``."""
        if self.mode == "sorted":
            return self._query_sorted(targets[:, 0], generator)
        if self.mode == "combinations":
            return self._query_combinations(targets, generator)
        return self._query_tree(targets, generator)

    def _query_sorted(self, t: torch.Tensor, generator) -> torch.Tensor:
        s = self.sorted
        n = s.shape[0]
        right = torch.searchsorted(s, t).clamp(max=n - 1)
        left = (right - 1).clamp(min=0)
        take_left = (t - s[left]).abs() <= (s[right] - t).abs()
        nearest = torch.where(take_left, s[left], s[right])
        # equal labels form a run in the sorted array: pick uniformly within it
        lo = torch.searchsorted(s, nearest, side="left")
        hi = torch.searchsorted(s, nearest, side="right")
        u = _uniform(t.shape[0], generator, t.device)
        pick = torch.minimum(lo + (u * (hi - lo)).long(), hi - 1)
        return self.indices[pick]

    def _query_combinations(self, targets: torch.Tensor, generator) -> torch.Tensor:
        s = self.sorted  # (K, W), each row sorted, +inf padded
        n_combo = s.shape[0]
        t = targets[:, self.column].contiguous()
        tk = t[None, :].expand(n_combo, -1).contiguous()  # (K, B)
        right = torch.searchsorted(s, tk).clamp(max=s.shape[1] - 1)
        right = torch.minimum(right, (self.counts - 1)[:, None])
        left = (right - 1).clamp(min=0)
        v_left, v_right = s.gather(1, left), s.gather(1, right)
        # candidates: the values either side of the target in each combination (2K, B)
        cand = torch.cat([v_left, v_right])
        rows = torch.cat([s, s])
        # squared distance: continuous part plus the few-valued columns' offset
        rest = ((targets[:, self.others][None, :, :] - self.combos[:, None, :]) ** 2).sum(-1)
        dist = (cand - torch.cat([tk, tk])) ** 2 + torch.cat([rest, rest])
        best = dist.min(0).values
        tied = dist <= best * (1 + 1e-12) + 1e-300
        tied[n_combo:] &= v_right != v_left  # one run counted once
        # every bin with a tied label is equally likely: runs of equal values
        lo = torch.searchsorted(rows, cand, side="left")
        hi = torch.searchsorted(rows, cand, side="right")
        weight = torch.where(tied, hi - lo, torch.zeros_like(lo))
        cum = weight.cumsum(0)
        u = _uniform(t.shape[0], generator, t.device)
        draw = torch.minimum((u * cum[-1]).long(), cum[-1] - 1)
        which = (cum <= draw[None, :]).sum(0)  # first candidate whose cumulative count > draw
        cols = torch.arange(t.shape[0], device=t.device)
        before = cum[which, cols] - weight[which, cols]
        pick = lo[which, cols] + (draw - before)
        combo = which % n_combo
        return self.where[combo, pick]

    def _query_tree(self, targets: torch.Tensor, generator) -> torch.Tensor:
        dist, nn_idx = self.tree.query(targets.detach().cpu().numpy(), k=self.k)
        dist = np.atleast_2d(dist).reshape(len(targets), -1)
        nn_idx = np.atleast_2d(nn_idx).reshape(len(targets), -1)
        u = _uniform(dist.size, generator, targets.device).cpu().numpy().reshape(dist.shape)
        tied = dist <= dist[:, :1] * (1 + 1e-9) + 1e-12
        choice = np.argmax(np.where(tied, u + 1.0, 0.0), axis=1)
        chosen = nn_idx[np.arange(len(targets)), choice]
        return torch.as_tensor(self.indices_np[chosen], device=targets.device)


def _few_valued_split(labels: np.ndarray):
    """``(column, combinations, combination of each row)`` when exactly one column is
    continuous and the others together take at most ``_MAX_COMBINATIONS`` values."""
    n_distinct = [len(np.unique(labels[:, j])) for j in range(labels.shape[1])]
    many = [j for j, n in enumerate(n_distinct) if n > _MAX_COMBINATIONS]
    if len(many) != 1:
        return None
    column = many[0]
    others = np.delete(labels, column, axis=1)
    combos, combo_of = np.unique(others, axis=0, return_inverse=True)
    if len(combos) > _MAX_COMBINATIONS:
        return None
    return column, combos, np.asarray(combo_of).ravel()


class ClassPool:
    """Uniform draws of a bin with a given discrete class, for a whole batch at once.

    Examples
    --------
    >>> import numpy as np, torch
    >>> pool = ClassPool(np.array([0, 1, 0, 1]), np.array([5, 6, 7, 8]), torch.device("cpu"))
    >>> g = torch.Generator().manual_seed(0)
    >>> sorted(set(pool.draw(torch.tensor([1] * 20), g).tolist()))
    [6, 8]
    """

    def __init__(self, classes: np.ndarray, indices: np.ndarray, device):
        classes = np.asarray(classes, dtype=np.int64)
        order = np.argsort(classes, kind="stable")
        self.n_classes = int(classes.max()) + 1 if classes.size else 0
        counts = np.bincount(classes, minlength=self.n_classes)
        self.counts = torch.as_tensor(counts, device=device)
        self.starts = torch.as_tensor(np.concatenate([[0], np.cumsum(counts)[:-1]]),
                                      device=device)
        self.indices = torch.as_tensor(np.asarray(indices)[order], device=device)

    def draw(self, classes: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        u = _uniform(classes.shape[0], generator, classes.device)
        counts = self.counts[classes]
        offset = torch.minimum((u * counts).long(), counts - 1).clamp(min=0)
        return self.indices[self.starts[classes] + offset]


class _BalancedDraw:
    """A class uniformly among those present, then a bin of that class uniformly."""

    def __init__(self, classes: np.ndarray, indices: np.ndarray, device):
        self.pool = ClassPool(classes, indices, device)
        self.present = torch.as_tensor(np.unique(classes), device=device)

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        pick = torch.randint(0, len(self.present), (n,), generator=generator,
                             device=self.present.device)
        return self.pool.draw(self.present[pick], generator)


def empirical_deltas(labels: torch.Tensor, lo: int, hi: int, time_offset: int, n: int,
                     generator: torch.Generator) -> torch.Tensor:
    """``n`` label changes over ``time_offset`` bins at uniform bins of ``[lo, hi)``.

    Examples
    --------
    >>> import torch
    >>> y = torch.arange(10, dtype=torch.float64)[:, None] * 2
    >>> empirical_deltas(y, 0, 10, 3, 4, torch.Generator().manual_seed(0)).ravel().tolist()
    [6.0, 6.0, 6.0, 6.0]
    """
    high = max(hi - time_offset, lo + 1)
    r = torch.randint(lo, high, (n,), generator=generator, device=labels.device)
    return labels[(r + time_offset).clamp(max=labels.shape[0] - 1)] - labels[r]


class PairSampler:
    """Draws reference, positive and negative time bins of one recording.

    Parameters
    ----------
    n_samples : int
        Bins in the recording.
    lo, hi : int
        Allowed centre bins ``[lo, hi)`` (windows inside the data and the split).
    conditional : {"time", "time_delta", "delta", "discrete"}
        Positive scheme (see module docstring). With both continuous and discrete
        labels, ``"time_delta"``/``"delta"`` search within the reference's class.
    continuous : ndarray, shape (n_samples, d), optional
    discrete : ndarray of int, shape (n_samples,), optional
        Class codes ``0 .. K-1``.
    time_offset : int
        Bins ahead for ``"time"`` positives and ``"time_delta"`` label changes.
    delta : float
        Standard deviation of the ``"delta"`` label jitter.
    hybrid : bool
        Also draw a time positive for every reference (behaviour + time loss).
    balance_classes : bool
        Draw references and negatives uniformly over the discrete classes present
        (then uniformly within the class) instead of uniformly over time, so rare
        classes weigh as much as common ones (CEBRA's ``prior="uniform"``).
        Needs ``discrete``.
    device : torch.device

    Examples
    --------
    >>> import numpy as np, torch
    >>> s = PairSampler(100, 5, 95, "time", time_offset=2, device=torch.device("cpu"))
    >>> b = s.sample(8, torch.Generator().manual_seed(0))
    >>> bool(((b["positive"] - b["reference"]) == 2).all())
    True
    """

    def __init__(self, n_samples: int, lo: int, hi: int, conditional: str, *,
                 continuous=None, discrete=None, time_offset: int = 1, delta: float = 0.1,
                 hybrid: bool = False, balance_classes: bool = False, device=None):
        if conditional not in CONDITIONALS:
            raise ValueError(f"`conditional` must be one of {CONDITIONALS}; got {conditional!r}.")
        device = torch.device("cpu") if device is None else device
        self.device = device
        self.lo, self.hi = int(lo), int(hi)
        if self.hi - self.lo < 2:
            raise ValueError(f"only {self.hi - self.lo} usable time bins; need at least 2.")
        self.conditional = conditional
        self.time_offset = int(time_offset)
        self.delta = float(delta)
        self.hybrid = hybrid
        needs_time = conditional == "time" or hybrid
        if needs_time and self.hi - self.lo <= self.time_offset:
            raise ValueError(f"`time_offsets`={self.time_offset} is not smaller than the "
                             f"{self.hi - self.lo} usable time bins.")
        pool = np.arange(self.lo, self.hi)
        self.continuous = None
        self.classes = None
        if continuous is not None:
            cont = np.asarray(continuous, dtype=np.float64)
            cont = cont[:, None] if cont.ndim == 1 else cont
            self.continuous = torch.as_tensor(cont, device=device)
        if discrete is not None:
            self.classes = torch.as_tensor(np.asarray(discrete, dtype=np.int64), device=device)
        if conditional in ("time_delta", "delta"):
            if self.continuous is None:
                raise ValueError(f"`conditional`={conditional!r} needs continuous labels `y`.")
            cont_pool = self.continuous[self.lo:self.hi].cpu().numpy()
            if self.classes is None:
                self.index = NearestLabelIndex(cont_pool, pool, device)
            else:
                disc_pool = self.classes[self.lo:self.hi].cpu().numpy()
                self.class_index = {int(c): NearestLabelIndex(cont_pool[disc_pool == c],
                                                              pool[disc_pool == c], device)
                                    for c in np.unique(disc_pool)}
        if conditional == "discrete":
            if self.classes is None:
                raise ValueError("`conditional`='discrete' needs discrete labels.")
            self.pool = ClassPool(self.classes[self.lo:self.hi].cpu().numpy(), pool, device)
        self.balanced = None
        if balance_classes:
            if self.classes is None:
                raise ValueError("class-balanced references and negatives need discrete labels.")
            ref_hi = self.hi - self.time_offset if needs_time else self.hi
            self.balanced = {name: _BalancedDraw(self.classes[self.lo:hi].cpu().numpy(),
                                                 np.arange(self.lo, hi), device)
                             for name, hi in (("reference", ref_hi), ("negative", self.hi))}

    def _randint(self, n, generator, hi=None):
        return torch.randint(self.lo, self.hi if hi is None else hi, (n,), generator=generator,
                             device=self.device)

    def targets(self, reference: torch.Tensor, generator) -> torch.Tensor:
        """Continuous target label of each reference's positive."""
        y_ref = self.continuous[reference]
        if self.conditional == "time_delta":
            return y_ref + empirical_deltas(self.continuous, self.lo, self.hi,
                                            self.time_offset, reference.shape[0], generator)
        noise = torch.randn(y_ref.shape, generator=generator, device=self.device,
                            dtype=y_ref.dtype)
        return y_ref + self.delta * noise

    def nearest(self, targets: torch.Tensor, generator, classes=None) -> torch.Tensor:
        """Bins with labels nearest ``targets`` (within ``classes`` when labels are mixed)."""
        if self.classes is None:
            return self.index.query(targets, generator)
        out = torch.empty(targets.shape[0], dtype=torch.long, device=self.device)
        for c, index in self.class_index.items():  # loop over classes, not samples
            mask = classes == c
            if bool(mask.any()):
                out[mask] = index.query(targets[mask], generator)
        missing = ~torch.isin(classes, torch.as_tensor(list(self.class_index),
                                                        device=self.device))
        if bool(missing.any()):
            raise ValueError("a reference class has no bins in the positive pool.")
        return out

    def sample(self, batch_size: int, generator: torch.Generator, n_negatives=None) -> dict:
        """Draw one batch: ``reference``, ``positive``, ``negative`` (and ``time_positive``).

        Returns a dict of int64 tensors of time-bin indices on the sampler's device.
        """
        n_neg = batch_size if n_negatives is None else n_negatives
        needs_time = self.conditional == "time" or self.hybrid
        if self.balanced is not None:
            ref = self.balanced["reference"].draw(batch_size, generator)
        else:
            ref = self._randint(batch_size, generator,
                                hi=self.hi - self.time_offset if needs_time else None)
        batch = {"reference": ref}
        if self.conditional == "time":
            batch["positive"] = ref + self.time_offset
        elif self.conditional == "discrete":
            batch["positive"] = self.pool.draw(self.classes[ref], generator)
        else:
            classes = None if self.classes is None else self.classes[ref]
            batch["positive"] = self.nearest(self.targets(ref, generator), generator, classes)
        if self.hybrid:
            batch["time_positive"] = ref + self.time_offset
        batch["negative"] = (self._randint(n_neg, generator) if self.balanced is None
                             else self.balanced["negative"].draw(n_neg, generator))
        return batch
