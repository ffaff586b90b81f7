"""`ContrastiveEmbedding`: CEBRA-class contrastive embeddings as a scikit-learn estimator."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from neurodecode.data.tensor import validate_spike_tensor
from neurodecode.errors import DataFormatError

__all__ = ["ContrastiveEmbedding"]

_KIND = "ContrastiveEmbedding"
_CONDITIONALS = ("auto", "time", "time_delta", "delta", "discrete")


class ContrastiveEmbedding(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Contrastive embedding of population activity (CEBRA-class), time- or label-guided.

    An encoder over short windows of a ``("time", "unit")`` recording is trained
    with InfoNCE so that a reference bin lands near its positive and away from
    uniformly drawn negatives. Positives come from time (the bin ``time_offsets``
    ahead: an unsupervised embedding), from continuous behaviour labels (the bin
    whose label is nearest the reference's plus an empirical label change,
    ``"time_delta"``, or plus Gaussian jitter, ``"delta"``), from discrete labels
    (a bin of the same class), from both (mixed), or from behaviour and time
    together (``hybrid``). Several recordings can be embedded into one space,
    each with its own input layer in front of a shared trunk.

    Parameters
    ----------
    model_architecture : {"offset1-model", "offset5-model", "offset10-model", "offset36-model"}
        Encoder; the number is its receptive field in time bins (1 = an MLP on
        single bins; others 1-D convolutions with residual blocks).
    output_dimension : int
        Embedding dimension.
    num_hidden_units : int
        Hidden channels of the encoder.
    normalize : bool
        Project embeddings onto the unit hypersphere.
    distance : {"cosine", "euclidean"}
        Similarity in the InfoNCE loss.
    temperature : float
        InfoNCE temperature (starting value when learned).
    temperature_mode : {"constant", "auto"}
        ``"auto"`` learns the temperature, bounded below by ``min_temperature``.
    min_temperature : float
    conditional : {"auto", "time", "time_delta", "delta", "discrete"}
        Positive scheme. ``"auto"``: ``"time"`` without labels, ``"time_delta"``
        with continuous labels ``y``, ``"discrete"`` with only ``y_discrete``.
    time_offsets : int
        Bins ahead of a time positive, and span of ``"time_delta"`` label changes.
    delta : float
        Label jitter (standard deviation) of the ``"delta"`` scheme.
    hybrid : bool
        Add a time-contrastive loss to a behaviour-contrastive one.
    causal : bool
        Windows use only the present and past bins (for closed-loop use and to
        rule out leakage from the future); otherwise windows are centred.
    negatives : {"uniform", "batch", "class"}
        ``"uniform"``: a separate uniform draw of ``batch_size`` negatives per
        step (as CEBRA). ``"batch"``: every reference is contrasted with the
        other references, which are uniform draws as well; same expected loss,
        a third fewer windows through the encoder per step. ``"class"``:
        references and negatives drawn uniformly over the discrete classes of
        ``y_discrete`` (then uniformly within the class), so rare classes weigh
        as much as common ones (CEBRA's ``prior="uniform"``).
    batch_size : int
        References (and negatives) per step and per session.
    learning_rate : float
        Adam learning rate.
    max_iterations : int
        Training steps.
    validation_fraction : float
        Fraction of each recording (its last, contiguous bins) held out for early
        stopping; 0 trains on everything and keeps the last state.
    eval_every : int
        Steps between validation losses.
    n_iter_no_change : int
        Stop after this many validations without improvement by ``tol``.
    tol : float
    device : {"auto", "cpu", "cuda"}
    random_state : int, RandomState or None
        Same seed, same embedding on CPU.
    verbose : bool
        Progress bar.

    Attributes
    ----------
    encoder_ : OffsetEncoder
        The trained network (torch module).
    n_features_in_ : int
        Units of the first session.
    n_units_ : list of int
        Units of each session.
    loss_history_ : ndarray, shape (n_iter_,)
        Training loss per step.
    validation_history_ : ndarray, shape (n_validations, 2)
        ``(step, validation loss)`` rows.
    best_iteration_ : int
        Step of the kept state.
    temperature_ : float
    interrupted_ : bool
        Training was stopped with Ctrl-C (the best state so far is kept).

    Notes
    -----
    The method is that of CEBRA: Schneider, S., Lee, J. H. & Mathis, M. W.
    "Learnable latent embeddings for joint behavioural and neural analysis",
    Nature 617, 360-368 (2023), doi:10.1038/s41586-023-06031-6. Patent notice:
    the CEBRA method is the subject of a US patent held by EPFL (US12499131B2,
    per the CEBRA README); users should judge their own use. This is a notice,
    not legal advice. This implementation shares no code with CEBRA.

    Differences from ``cebra.CEBRA``: ``transform`` pads each end of the
    recording by repeating its first/last bin; labels enter as ``y``
    (continuous) and ``y_discrete``; the nearest-label search is a sorted lookup
    (1-D) or a KD-tree, never a distance matrix over the recording; time
    positives share one window with their reference.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodecode.datasets.latents import make_circle_latent
    >>> X, latent = make_circle_latent(n_units=20, duration=60.0, random_state=0)
    >>> model = ContrastiveEmbedding("offset5-model", output_dimension=3, batch_size=128,
    ...                              max_iterations=50, random_state=0)
    >>> Z = model.fit_transform(X)
    >>> Z.dims, Z.shape == (X.sizes["time"], 3)
    (('time', 'latent'), True)
    """

    def __init__(self, model_architecture: str = "offset10-model", output_dimension: int = 8,
                 num_hidden_units: int = 32, normalize: bool = True, distance: str = "cosine",
                 temperature: float = 1.0, temperature_mode: str = "constant",
                 min_temperature: float = 0.1, conditional: str = "auto", time_offsets: int = 1,
                 delta: float = 0.1, hybrid: bool = False, causal: bool = False,
                 negatives: str = "uniform",
                 batch_size: int = 512, learning_rate: float = 3e-4,
                 max_iterations: int = 5000, validation_fraction: float = 0.1,
                 eval_every: int = 100, n_iter_no_change: int = 10, tol: float = 1e-4,
                 device: str = "auto", random_state=None, verbose: bool = False):
        self.model_architecture = model_architecture
        self.output_dimension = output_dimension
        self.num_hidden_units = num_hidden_units
        self.normalize = normalize
        self.distance = distance
        self.temperature = temperature
        self.temperature_mode = temperature_mode
        self.min_temperature = min_temperature
        self.conditional = conditional
        self.time_offsets = time_offsets
        self.delta = delta
        self.hybrid = hybrid
        self.causal = causal
        self.negatives = negatives
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_iterations = max_iterations
        self.validation_fraction = validation_fraction
        self.eval_every = eval_every
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        from neurodecode.models.contrastive.encoders import receptive_field
        from neurodecode.models.contrastive.losses import METRICS

        receptive_field(self.model_architecture)
        if self.distance not in METRICS:
            raise ValueError(f"`distance` must be one of {METRICS}; got {self.distance!r}.")
        if self.conditional not in _CONDITIONALS:
            raise ValueError(f"`conditional` must be one of {_CONDITIONALS}; "
                             f"got {self.conditional!r}.")
        if self.temperature_mode not in ("constant", "auto"):
            raise ValueError("`temperature_mode` must be 'constant' or 'auto'; "
                             f"got {self.temperature_mode!r}.")
        for name in ("output_dimension", "num_hidden_units", "batch_size", "max_iterations",
                     "time_offsets", "eval_every", "n_iter_no_change"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
        if self.model_architecture == "offset1-model" and self.num_hidden_units < 2:
            raise ValueError("`num_hidden_units` must be at least 2 for 'offset1-model'.")
        if self.negatives not in ("uniform", "batch", "class"):
            raise ValueError("`negatives` must be 'uniform', 'batch' or 'class'; "
                             f"got {self.negatives!r}.")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError("`validation_fraction` must be in [0, 1); "
                             f"got {self.validation_fraction!r}.")

    def _conditional_for(self, has_cont: bool, has_disc: bool) -> str:
        cond = self.conditional
        if cond == "auto":
            cond = "time_delta" if has_cont else ("discrete" if has_disc else "time")
        if cond in ("time_delta", "delta") and not has_cont:
            raise ValueError(f"`conditional`={cond!r} needs continuous labels: pass `y`.")
        if cond == "discrete" and not has_disc:
            raise ValueError("`conditional`='discrete' needs `y_discrete` (or integer `y`).")
        if self.hybrid and cond == "time":
            raise ValueError("`hybrid`=True needs behaviour labels (`y` or `y_discrete`).")
        return cond

    def _values(self, X, name: str, fitting: bool, session: int | None):
        """(values float32 (T, N), time coords or None) of one recording."""
        if isinstance(X, xr.DataArray):
            validate_spike_tensor(X, name=name, dims=("time", "unit"))
            values = np.ascontiguousarray(X.values, dtype=np.float32)
            time = X
        else:
            values = _check_2d(X, name, 2 if fitting else 1)
            time = None
        if not fitting:
            expected = self.n_units_[0 if session is None else session]
            if values.shape[1] != expected:
                raise ValueError(f"X has {values.shape[1]} features, but ContrastiveEmbedding "
                                 f"is expecting {expected} features as input (`{name}`, "
                                 f"session {0 if session is None else session}).")
        return values, time

    def _labels(self, y, name: str, n: int, discrete: bool):
        if y is None:
            return None
        if isinstance(y, (xr.DataArray, )):
            if "time" in y.dims and y.dims[0] != "time":
                y = y.transpose("time", ...)
            y = y.values
        y = np.asarray(y)
        if y.shape[0] != n:
            raise ValueError(f"`{name}` has {y.shape[0]} samples but X has {n} time bins; "
                             "they must match.")
        if discrete:
            if y.ndim != 1:
                raise ValueError(f"`{name}` must be 1-D (one class per time bin); "
                                 f"got shape {y.shape}.")
            if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
                raise ValueError(f"`{name}` contains NaN or infinite values.")
            return y
        if y.dtype.kind not in "uifb":
            raise ValueError(f"Unknown label type: `{name}` must hold numbers (continuous "
                             f"labels); got dtype "
                             f"{y.dtype}. Pass class labels as `y_discrete`.")
        y = y.astype(np.float64)
        if y.ndim > 2:
            raise ValueError(f"`{name}` must be (n_samples,) or (n_samples, n_labels); "
                             f"got shape {y.shape}.")
        if not np.all(np.isfinite(y)):
            raise ValueError(f"`{name}` contains NaN or infinite values "
                             f"({int(np.sum(~np.isfinite(y)))} entries).")
        return y[:, None] if y.ndim == 1 else y

    def _recordings(self, X, y, y_discrete, fitting: bool):
        if isinstance(X, (list, tuple)) and not X:
            raise ValueError("`X` is an empty list; pass one recording per session.")
        multi = _is_multi(X)
        Xs = list(X) if multi else [X]
        ys = self._per_session(y, "y", len(Xs), multi)
        yds = self._per_session(y_discrete, "y_discrete", len(Xs), multi)
        out = []
        for i, Xi in enumerate(Xs):
            name = f"X[{i}]" if multi else "X"
            values, time = self._values(Xi, name, fitting, i if not fitting else None)
            suffix = f"[{i}]" if multi else ""
            out.append((values, time, self._labels(ys[i], "y" + suffix, len(values), False),
                        self._labels(yds[i], "y_discrete" + suffix, len(values), True)))
        return out, multi

    @staticmethod
    def _per_session(y, name, n, multi):
        if y is None:
            return [None] * n
        if not multi:
            return [y]
        if not isinstance(y, (list, tuple)) or len(y) != n:
            raise ValueError(f"with {n} sessions in `X`, `{name}` must be a list of {n} arrays.")
        return list(y)

    # --------------------------------------------------------------------- fit
    def fit(self, X, y=None, y_discrete=None):
        """Train the encoder.

        Parameters
        ----------
        X : DataArray ("time", "unit"), array (n_samples, n_units), or a list of them
            Binned activity; a list trains one embedding across sessions (each
            its own input layer; with labels, positives cross sessions).
        y : array (n_samples,) or (n_samples, n_labels), DataArray, or list, optional
            Continuous labels (position, speed…).
        y_discrete : array of labels (n_samples,), or list, optional
            Discrete labels (trial type, running direction…).

        Returns
        -------
        self
        """
        import torch

        from neurodecode.models.contrastive.encoders import OffsetEncoder, window_offsets
        from neurodecode.models.contrastive.losses import Temperature
        from neurodecode.utils.torch import resolve_device

        self._check_params()
        recs, multi = self._recordings(X, y, y_discrete, fitting=True)
        has_cont = recs[0][2] is not None
        has_disc = recs[0][3] is not None
        if any((r[2] is not None) != has_cont or (r[3] is not None) != has_disc for r in recs):
            raise ValueError("every session needs the same kinds of labels (`y`, `y_discrete`).")
        cond = self._conditional_for(has_cont, has_disc)
        if has_cont and len({r[2].shape[1] for r in recs}) > 1:
            raise ValueError("`y` must have the same number of label columns in every session.")
        if self.conditional == "discrete" and not has_disc and has_cont:
            raise ValueError("`conditional`='discrete' needs `y_discrete`.")
        if has_disc:
            self.classes_ = np.unique(np.concatenate([r[3] for r in recs]))
            recs = [(v, t, yc, np.searchsorted(self.classes_, yd)) for v, t, yc, yd in recs]
        self.conditional_ = cond
        self.n_units_ = [int(r[0].shape[1]) for r in recs]
        self.n_features_in_ = self.n_units_[0]
        self.n_sessions_ = len(recs)
        self.multi_session_ = multi
        self.label_dim_ = int(recs[0][2].shape[1]) if has_cont else 0
        self.has_discrete_ = has_disc

        device = resolve_device(self.device)
        seed = self._seed()
        rng = np.random.default_rng(seed)
        torch.manual_seed(int(rng.integers(0, 2**62)))
        generator = torch.Generator(device=device).manual_seed(int(rng.integers(0, 2**62)))
        left, right = window_offsets(self.model_architecture, self.causal)
        self._offsets = (left, right)
        sessions = self._sessions(recs, cond, device, left, right)
        self.encoder_ = OffsetEncoder(self.n_units_, self.num_hidden_units,
                                      self.output_dimension, self.model_architecture,
                                      self.normalize).to(device)
        self.temperature_module_ = Temperature(self.temperature,
                                               self.temperature_mode == "auto",
                                               self.min_temperature).to(device)
        params = list(self.encoder_.parameters()) + list(self.temperature_module_.parameters())
        self._train(sessions, params, generator, self.max_iterations)
        self._store_anchors(sessions, rng)
        return self

    def _store_anchors(self, sessions, rng, n_anchors: int = 4096):
        """Embeddings and labels of training bins: the target space for :meth:`adapt`."""
        import torch

        from neurodecode.models.contrastive.training import embed_windows

        self.anchor_embeddings_ = self.anchor_labels_ = self.anchor_classes_ = None
        if self.conditional_ == "time":
            return
        left = self._offsets[0]
        embs, labels, classes = [], [], []
        per = max(n_anchors // len(sessions), 1)
        with torch.no_grad():
            for s, data in enumerate(sessions):
                sampler = data.sampler
                idx = torch.as_tensor(np.sort(rng.integers(sampler.lo, sampler.hi, per)),
                                      device=data.values.device)
                z = embed_windows(self.encoder_, data.values, idx, left,
                                  self.encoder_.receptive_field, s, rows=data.rows)[:, 0]
                embs.append(z.cpu().numpy())
                if sampler.continuous is not None:
                    labels.append(sampler.continuous[idx].cpu().numpy())
                if sampler.classes is not None:
                    classes.append(sampler.classes[idx].cpu().numpy())
        self.anchor_embeddings_ = np.concatenate(embs).astype(np.float32)
        self.anchor_labels_ = np.concatenate(labels) if labels else None
        self.anchor_classes_ = np.concatenate(classes) if classes else None

    def _seed(self) -> int:
        rs = self.random_state
        if rs is None or isinstance(rs, (int, np.integer)):
            return np.random.default_rng(rs).integers(0, 2**62) if rs is None else int(rs)
        return int(check_random_state(rs).randint(0, 2**31 - 1))

    def _sessions(self, recs, cond, device, left, right):
        import torch

        from neurodecode.models.contrastive.sampling import PairSampler
        from neurodecode.models.contrastive.training import SessionData

        rf = left + right + 1
        need = rf + self.time_offsets + 1
        for i, (values, *_rest) in enumerate(recs):
            if len(values) < need:
                name = f"X[{i}]" if len(recs) > 1 else "X"
                raise ValueError(f"`{name}` has {len(values)} sample(s) (time bins); the "
                                 f"{self.model_architecture} with `time_offsets`="
                                 f"{self.time_offsets} needs at least {need}.")
        n_vals = [int(len(r[0]) * self.validation_fraction) for r in recs]
        validate = self.validation_fraction > 0 and min(n_vals) >= need + 1
        if self.validation_fraction > 0 and not validate:
            warnings.warn("recording too short for a validation split of "
                          f"{self.validation_fraction}; training without early stopping.",
                          UserWarning, stacklevel=3)
        sessions = []
        for (values, _, yc, yd), n_val in zip(recs, n_vals, strict=True):
            n = len(values)
            n_val = n_val if validate else 0
            if self.negatives == "class" and yd is None:
                raise ValueError("`negatives`='class' draws references and negatives per "
                                 "discrete class; pass class labels as `y_discrete`.")
            kwargs = dict(continuous=yc, discrete=yd, time_offset=self.time_offsets,
                          delta=self.delta, hybrid=self.hybrid,
                          balance_classes=self.negatives == "class", device=device)
            train = PairSampler(n, left, n - n_val - right, cond, **kwargs)
            val = PairSampler(n, n - n_val + left, n - right, cond, **kwargs) if n_val else None
            sessions.append(SessionData(torch.as_tensor(values, device=device), train, val))
        self._validate = validate
        return sessions

    def _draw(self, sessions, generator, which: str = "sampler"):
        import torch

        n = len(sessions)
        shift = 0
        if n > 1 and self.conditional_ != "time":
            shift = int(torch.randint(1, n, (1,), generator=generator,
                                      device=generator.device).item())
        batches, pos_sessions = [], []
        for s, data in enumerate(sessions):
            sampler = getattr(data, which)
            p = (s + shift) % n
            batch = sampler.sample(self.batch_size, generator)
            if p != s:
                target_sampler = getattr(sessions[p], which)
                ref = batch["reference"]
                classes = None if sampler.classes is None else sampler.classes[ref]
                if self.conditional_ == "discrete":
                    batch["positive"] = target_sampler.pool.draw(classes, generator)
                else:
                    targets = sampler.targets(ref, generator)
                    batch["positive"] = target_sampler.nearest(targets, generator, classes)
            batches.append(batch)
            pos_sessions.append(p)
        return batches, pos_sessions

    def _loss(self, sessions, batches, pos_sessions):
        from neurodecode.models.contrastive.training import batch_loss

        return batch_loss(self.encoder_, self.temperature_module_, self.distance, batches,
                          sessions, pos_sessions, left=self._offsets[0],
                          time_offset=self.time_offsets,
                          time_positives=self.conditional_ == "time",
                          reference_negatives=self.negatives == "batch")

    def _train(self, sessions, params, generator, n_steps, draw=None, loss_fn=None):
        import torch
        from tqdm.auto import tqdm

        draw = draw or self._draw
        loss_fn = loss_fn or self._loss
        # one fused kernel for all parameters where torch has it (same maths as Adam)
        fused = all(p.device.type in ("cpu", "cuda") and p.dtype == torch.float32
                    for p in params)
        optimizer = torch.optim.Adam(params, lr=self.learning_rate, fused=fused or None)
        val_batches = None
        if self._validate:
            val_gen = torch.Generator(device=generator.device).manual_seed(
                int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device)))
            val_batches = [draw(sessions, val_gen, "validation") for _ in range(4)]
        history = []
        val_history = []
        best = (np.inf, None, 0)
        since_best = 0
        self.interrupted_ = False
        bar = tqdm(range(n_steps), disable=not self.verbose, desc="ContrastiveEmbedding",
                   leave=False)
        step = 0
        try:
            for step in bar:
                batches, pos_sessions = draw(sessions, generator)
                loss = loss_fn(sessions, batches, pos_sessions)[0]
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                history.append(float(loss.detach()))
                if val_batches is not None and ((step + 1) % self.eval_every == 0
                                                or step + 1 == n_steps):
                    with torch.no_grad():
                        val = float(np.mean([float(loss_fn(sessions, b, p)[0])
                                             for b, p in val_batches]))
                    val_history.append((step + 1, val))
                    if val < best[0] - self.tol:
                        best = (val, self._snapshot(), step + 1)
                        since_best = 0
                    else:
                        since_best += 1
                    if since_best >= self.n_iter_no_change:
                        break
                if self.verbose and step % 50 == 0:
                    bar.set_postfix(loss=f"{history[-1]:.4f}")
        except KeyboardInterrupt:
            self.interrupted_ = True
            warnings.warn(f"training interrupted at step {len(history)}; keeping the best "
                          "state so far.", UserWarning, stacklevel=3)
        finally:
            bar.close()
        if best[1] is not None:
            self._restore(best[1])
            self.best_iteration_ = best[2]
        else:
            self.best_iteration_ = len(history)
        self.loss_history_ = np.asarray(history, dtype=np.float64)
        self.validation_history_ = np.asarray(val_history, dtype=np.float64).reshape(-1, 2)
        self.n_iter_ = len(history)
        self.temperature_ = float(self.temperature_module_().detach())

    def _snapshot(self):
        return (copy.deepcopy(self.encoder_.state_dict()),
                copy.deepcopy(self.temperature_module_.state_dict()))

    def _restore(self, state):
        self.encoder_.load_state_dict(state[0])
        self.temperature_module_.load_state_dict(state[1])

    # ---------------------------------------------------------------- transform
    def transform(self, X, session: int | None = None):
        """Embed every time bin.

        Parameters
        ----------
        X : DataArray ("time", "unit"), array (n_samples, n_units), or list of them
        session : int, optional
            Session (input layer) of ``X``; default 0, or each list entry its own.

        Returns
        -------
        DataArray ("time", "latent") with ``X``'s time coords, or ndarray
        (n_samples, output_dimension) float32, or a list of these.
        """
        import torch

        from neurodecode.models.contrastive.training import embed_sequence

        check_is_fitted(self, "encoder_")
        multi = _is_multi(X)
        Xs = list(X) if multi else [X]
        sessions = list(range(len(Xs))) if (multi and session is None) else \
            [0 if session is None else session] * len(Xs)
        outs = []
        device = next(self.encoder_.parameters()).device
        left, right = self._offsets
        self.encoder_.eval()
        for i, (Xi, s) in enumerate(zip(Xs, sessions, strict=True)):
            if not 0 <= s < len(self.n_units_):
                raise ValueError(f"`session`={s} but the model has {len(self.n_units_)} "
                                 "session(s).")
            values, time = self._values(Xi, f"X[{i}]" if multi else "X", False, s)
            with torch.no_grad():
                z = embed_sequence(self.encoder_, torch.as_tensor(values, device=device),
                                   left, right, s).cpu().numpy()
            outs.append(self._wrap(z, time))
        self.encoder_.train()
        return outs if multi else outs[0]

    def _wrap(self, z, time):
        if time is None:
            return z
        coords = {name: c for name, c in time.coords.items() if c.dims == ("time",)}
        coords["latent"] = np.arange(z.shape[1])
        return xr.DataArray(z, dims=("time", "latent"), coords=coords,
                            attrs={k: v for k, v in time.attrs.items()
                                   if k in ("bin_size", "session_id", "source")},
                            name="embedding")

    def fit_transform(self, X, y=None, y_discrete=None):
        """``fit(X, y, y_discrete).transform(X)``."""
        return self.fit(X, y, y_discrete).transform(X)

    # ------------------------------------------------------------------- score
    def score(self, X, y=None, y_discrete=None, session: int = 0, n_batches: int = 8):
        """Negative InfoNCE loss on the given data (greater is better, as in scikit-learn).

        Batches are drawn with a fixed seed, so the same data give the same score.

        Parameters
        ----------
        X, y, y_discrete : as in :meth:`fit` (one session)
        session : int
            Input layer to use.
        n_batches : int
            Batches averaged.

        Returns
        -------
        float
        """
        import torch

        check_is_fitted(self, "encoder_")
        recs, _ = self._recordings(X, y, y_discrete, fitting=False)
        values, _, yc, yd = recs[0]
        if self.has_discrete_ and yd is not None:
            yd = np.searchsorted(self.classes_, yd)
        cond = self.conditional_
        if cond != "time" and yc is None and cond != "discrete":
            raise ValueError(f"the model was trained with `conditional`={cond!r}; "
                             "score needs the labels `y`.")
        if cond == "discrete" and yd is None:
            raise ValueError("the model was trained on discrete labels; pass `y_discrete`.")
        from neurodecode.models.contrastive.sampling import PairSampler
        from neurodecode.models.contrastive.training import SessionData

        device = next(self.encoder_.parameters()).device
        left, right = self._offsets
        n = len(values)
        need = left + right + self.time_offsets + 2
        if n < need:
            raise ValueError(f"`X` has {n} sample(s) (time bins); scoring needs at least {need}.")
        sampler = PairSampler(n, left, n - right, cond, continuous=yc, discrete=yd,
                              time_offset=self.time_offsets, delta=self.delta,
                              hybrid=self.hybrid, device=device,
                              balance_classes=self.negatives == "class" and yd is not None)
        data = SessionData(torch.as_tensor(values, device=device), sampler)
        generator = torch.Generator(device=device).manual_seed(0)
        losses = []
        with torch.no_grad():
            for _ in range(n_batches):
                batch = sampler.sample(self.batch_size, generator)
                from neurodecode.models.contrastive.training import batch_loss

                loss = batch_loss(_SessionView(self.encoder_, session), self.temperature_module_,
                                  self.distance, [batch], [data], [0], left=left,
                                  time_offset=self.time_offsets,
                                  time_positives=cond == "time",
                                  reference_negatives=self.negatives == "batch")[0]
                losses.append(float(loss))
        return -float(np.mean(losses))

    # ------------------------------------------------------------------- adapt
    def adapt(self, X, y=None, y_discrete=None, max_iterations: int | None = None,
              train_trunk: bool = False):
        """Add a new session (any number of units) and train its input layer.

        The shared trunk is kept fixed (unless ``train_trunk``). For a model
        trained with labels, the new session's references are contrasted with
        stored training embeddings (``anchor_embeddings_``, 4096 bins drawn at
        the end of :meth:`fit`) whose labels match, so the new session lands in
        the space learned before. A time-contrastive model has no labels to
        align by: the new layer is trained time-contrastively on its own.
        ``loss_history_`` then describes this adaptation.

        Parameters
        ----------
        X : DataArray ("time", "unit") or array
            The new recording.
        y, y_discrete : labels of the new recording, as in :meth:`fit`
        max_iterations : int, optional
            Steps (default ``max_iterations``).
        train_trunk : bool
            Fine-tune the shared layers too.

        Returns
        -------
        self
            The new session's index is ``n_sessions_ - 1``; pass it to
            ``transform(..., session=)``.
        """
        import torch

        check_is_fitted(self, "encoder_")
        if _is_multi(X):
            raise ValueError("`adapt` takes one recording at a time.")
        values, _ = self._values(X, "X", True, None) if isinstance(X, xr.DataArray) else (
            _check_2d(X), None)
        yc = self._labels(y, "y", len(values), False)
        yd = self._labels(y_discrete, "y_discrete", len(values), True)
        if self.has_discrete_:
            if yd is None:
                raise ValueError("the model was trained with `y_discrete`; pass it to adapt.")
            unknown = ~np.isin(yd, self.classes_)
            if unknown.any():
                raise ValueError(f"`y_discrete` has classes not seen in fit: "
                                 f"{np.unique(yd[unknown])[:5].tolist()}.")
            yd = np.searchsorted(self.classes_, yd)
        self._conditional_for(yc is not None, yd is not None)
        device = next(self.encoder_.parameters()).device
        new = self.encoder_.add_session(values.shape[1])
        self.n_units_.append(int(values.shape[1]))
        self.n_sessions_ = len(self.n_units_)
        left, right = self._offsets
        sessions = self._sessions([(values, None, yc, yd)], self.conditional_, device, left,
                                  right)
        params = (list(self.encoder_.parameters()) if train_trunk
                  else list(self.encoder_.inputs[new].parameters()))
        seed = self._seed() + new
        generator = torch.Generator(device=device).manual_seed(seed)
        torch.manual_seed(seed)
        view = _SessionView(self.encoder_, new)
        draw = loss_fn = None
        if getattr(self, "anchor_embeddings_", None) is not None:
            draw, loss_fn = self._anchor_steps(device, view)
        full, self.encoder_ = self.encoder_, view
        try:
            self._train(sessions, params, generator, max_iterations or self.max_iterations,
                        draw, loss_fn)
        finally:
            self.encoder_ = full
        return self

    def _anchor_steps(self, device, view):
        """Draw/loss of :meth:`adapt`: new-session references, positives among the anchors.

        Positives are stored training embeddings whose labels are nearest the
        reference's target label, negatives uniform anchors, so the new input
        layer maps the new session into the space learned before.
        """
        import torch

        from neurodecode.models.contrastive.losses import infonce
        from neurodecode.models.contrastive.sampling import PairSampler
        from neurodecode.models.contrastive.training import embed_windows

        n = len(self.anchor_embeddings_)
        anchors = PairSampler(n, 0, n, self.conditional_, continuous=self.anchor_labels_,
                              discrete=self.anchor_classes_, time_offset=1, delta=self.delta,
                              device=device)
        anchor_z = torch.as_tensor(self.anchor_embeddings_, device=device)
        left = self._offsets[0]

        def draw(sessions, generator, which="sampler"):
            sampler = getattr(sessions[0], which)
            batch = sampler.sample(self.batch_size, generator)
            ref = batch["reference"]
            classes = None if sampler.classes is None else sampler.classes[ref]
            if self.conditional_ == "discrete":
                batch["positive"] = anchors.pool.draw(classes, generator)
            else:
                batch["positive"] = anchors.nearest(sampler.targets(ref, generator), generator,
                                                    classes)
            batch["negative"] = torch.randint(0, n, (self.batch_size,), generator=generator,
                                              device=device)
            return [batch], [0]

        def loss_fn(sessions, batches, pos_sessions):
            batch = batches[0]
            ref = embed_windows(view, sessions[0].values, batch["reference"], left,
                                view.receptive_field, rows=sessions[0].rows)[:, 0]
            return infonce(ref, anchor_z[batch["positive"]], anchor_z[batch["negative"]],
                           self.temperature_module_(), self.distance)

        return draw, loss_fn

    # ------------------------------------------------------------- persistence
    def save(self, path):
        """Write the fitted model to one file (JSON parameters + torch tensors, no pickle)."""
        from neurodecode.utils.persistence import save_state

        check_is_fitted(self, "encoder_")
        tensors = {f"encoder.{k}": v for k, v in self.encoder_.state_dict().items()}
        tensors.update({f"temperature.{k}": v
                        for k, v in self.temperature_module_.state_dict().items()})
        arrays = {"loss_history": self.loss_history_,
                  "validation_history": self.validation_history_}
        if self.has_discrete_:
            arrays["classes"] = self.classes_
        for name in ("anchor_embeddings", "anchor_labels", "anchor_classes"):
            if getattr(self, name + "_", None) is not None:
                arrays[name] = getattr(self, name + "_")
        extra = {"n_units": self.n_units_, "conditional": self.conditional_,
                 "label_dim": self.label_dim_, "has_discrete": self.has_discrete_,
                 "multi_session": self.multi_session_, "n_iter": self.n_iter_,
                 "best_iteration": self.best_iteration_, "interrupted": self.interrupted_,
                 "temperature": self.temperature_}
        params = self.get_params()
        if not isinstance(params["random_state"], (int, type(None))):
            params["random_state"] = None
        return save_state(path, kind=_KIND, params=params, arrays=arrays, tensors=tensors,
                          extra=extra)

    @classmethod
    def load(cls, path, device: str | None = None):
        """Read a model written by :meth:`save`; ``device`` overrides the saved one."""
        from neurodecode.models.contrastive.encoders import OffsetEncoder, window_offsets
        from neurodecode.models.contrastive.losses import Temperature
        from neurodecode.utils.persistence import load_state
        from neurodecode.utils.torch import resolve_device

        state = load_state(path, kind=_KIND)
        try:
            model = cls(**state["params"])
            extra = state["extra"]
            dev = resolve_device(device or model.device)
            model.encoder_ = OffsetEncoder(extra["n_units"], model.num_hidden_units,
                                           model.output_dimension, model.model_architecture,
                                           model.normalize).to(dev)
            model.temperature_module_ = Temperature(model.temperature,
                                                    model.temperature_mode == "auto",
                                                    model.min_temperature).to(dev)
            tensors = state["tensors"] or {}
            model.encoder_.load_state_dict({k[8:]: v for k, v in tensors.items()
                                            if k.startswith("encoder.")})
            model.temperature_module_.load_state_dict({k[12:]: v for k, v in tensors.items()
                                                       if k.startswith("temperature.")})
        except (TypeError, KeyError, RuntimeError) as exc:
            raise DataFormatError(f"{path}: model file does not match this version of "
                                  f"ContrastiveEmbedding ({exc}).") from exc
        model.n_units_ = list(extra["n_units"])
        model.n_features_in_ = model.n_units_[0]
        model.n_sessions_ = len(model.n_units_)
        model.conditional_ = extra["conditional"]
        model.label_dim_ = extra["label_dim"]
        model.has_discrete_ = extra["has_discrete"]
        model.multi_session_ = extra["multi_session"]
        model.n_iter_ = extra["n_iter"]
        model.best_iteration_ = extra["best_iteration"]
        model.interrupted_ = extra["interrupted"]
        model.temperature_ = extra["temperature"]
        model.loss_history_ = state["arrays"]["loss_history"]
        model.validation_history_ = state["arrays"]["validation_history"]
        if model.has_discrete_:
            model.classes_ = state["arrays"]["classes"]
        for name in ("anchor_embeddings", "anchor_labels", "anchor_classes"):
            setattr(model, name + "_", state["arrays"].get(name))
        model._offsets = window_offsets(model.model_architecture, model.causal)
        return model

    # ------------------------------------------------------------- sklearn glue
    @property
    def _n_features_out(self):
        return self.output_dimension

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        return tags

    def __setstate__(self, state):
        self.__dict__.update(state)


class _SessionView:
    """Route every call of a multi-session encoder to one fixed input layer."""

    def __init__(self, encoder, session: int):
        self.encoder = encoder
        self.session = session
        self.receptive_field = encoder.receptive_field

    def __call__(self, x, session=0):
        return self.encoder(x, self.session)

    def forward_windows(self, values, starts, length, session=0, rows=None):
        return self.encoder.forward_windows(values, starts, length, self.session, rows=rows)

    def parameters(self):
        return self.encoder.parameters()

    def state_dict(self):
        return self.encoder.state_dict()

    def load_state_dict(self, state):
        return self.encoder.load_state_dict(state)


def _is_multi(X) -> bool:
    """A list of recordings (DataArrays / 2-D arrays), not one nested-list array."""
    return isinstance(X, (list, tuple)) and len(X) > 0 and all(
        isinstance(x, (xr.DataArray, np.ndarray)) and np.ndim(x) == 2 for x in X)


def _check_2d(X, name: str = "X", min_samples: int = 2):
    from sklearn.utils import check_array

    return check_array(X, dtype=[np.float32, np.float64], input_name=name,
                       ensure_min_samples=min_samples).astype(np.float32, copy=False)
