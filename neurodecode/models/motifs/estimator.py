"""``SpikingMotifDetector``: find spiking motifs with a layer of heterogeneous-delay detectors."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.base import BaseEstimator

from neurodecode.data.tensor import validate_spike_tensor
from neurodecode.errors import SpikeTensorError
from neurodecode.metrics.events import event_f1, local_maxima

__all__ = ["SpikingMotifDetector", "motif_spike_values", "motif_label_values"]

_PARAMETRIZATIONS = ("dense", "sparse", "rate")


def motif_spike_values(X, name: str = "X", compact: bool = False) -> tuple[np.ndarray, bool]:
    """Spike counts as an int64 array (n_trials, n_time, n_units) and whether X had trials.

    With ``compact``, byte-sized counts (uint8 or bool input) stay one byte
    each instead of eight (for fits that only read them, on long recordings).

    Raises :class:`SpikeTensorError` for anything that is not non-negative
    integer spike counts (rates, negative values, NaN), or has no units.
    """
    if isinstance(X, xr.DataArray):
        validate_spike_tensor(X, name=name)
        values = X.values
    else:
        values = np.asarray(X)
        if values.ndim not in (2, 3):
            raise SpikeTensorError(f"`{name}` has shape {values.shape}; expected (n_time, n_units)"
                                   " or (n_trials, n_time, n_units) spike counts.")
        if values.dtype.kind not in "biuf":
            raise SpikeTensorError(f"`{name}` has dtype {values.dtype}; expected spike counts.")
    if values.shape[-1] == 0:
        raise SpikeTensorError(f"`{name}` has no units (its 'unit' axis is empty).")
    if values.size == 0:
        raise SpikeTensorError(f"`{name}` is empty (shape {values.shape}).")
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)):
            raise SpikeTensorError(f"`{name}` contains NaN or infinite values.")
        fractional = values != np.round(values)
        if np.any(fractional):
            raise SpikeTensorError(
                f"`{name}` holds non-integer values (e.g. {values[fractional][0]!r})"
                "; the motif detector expects binned spike counts, not rates or smoothed traces.")
    if values.dtype.kind in "if" and values.min() < 0:
        raise SpikeTensorError(f"`{name}` contains negative values ({values.min()!r}); spike "
                               "counts must be >= 0.")
    has_trials = values.ndim == 3
    small = compact and values.dtype in (np.uint8, np.bool_)
    values = values.astype(np.uint8 if small else np.int64, copy=False)
    return (values if has_trials else values[None]), has_trials


def motif_label_values(y, X, n_time: int, n_trials: int, name: str = "y") -> np.ndarray:
    """Onset labels as uint8 (n_trials, n_time, n_motifs), checked against ``X``.

    Bytes, not floats: with hundreds of motifs the labels are the largest
    array of a fit (233 motifs × 10⁶ bins is 233 MB as bytes, 4× more as
    float32); the torch code converts the rows it uses.
    """
    if isinstance(y, xr.DataArray):
        expected = ("time", "motif") if n_trials == 1 and (
            not isinstance(X, xr.DataArray) or "trial" not in X.dims) else ("trial", "time",
                                                                             "motif")
        if tuple(y.dims) != expected:
            raise SpikeTensorError(f"`{name}` has dims {tuple(y.dims)}; expected {expected} "
                                   "(the sample dims of X, then 'motif').")
        if isinstance(X, xr.DataArray) and "time" in y.coords and "time" in X.coords:
            if y.sizes["time"] != X.sizes["time"] or not np.allclose(
                    y["time"].values, X["time"].values):
                raise SpikeTensorError(f"`{name}`'s 'time' coordinate does not match X's: labels "
                                       "must be on the same bins as the spikes.")
        values = y.values
    else:
        values = np.asarray(y)
    if values.ndim == 2:
        values = values[None]
    if values.ndim != 3 or values.shape[:2] != (n_trials, n_time):
        raise SpikeTensorError(
            f"`{name}` has shape {np.shape(y)}; expected (n_time={n_time}, n_motifs)"
            + (f" with n_trials={n_trials} first" if n_trials > 1 else "")
            + ": one label per bin of X.")
    if values.shape[2] == 0:
        raise SpikeTensorError(f"`{name}` has no motifs (its 'motif' axis is empty).")
    if values.dtype.kind not in "biuf" or not (
            values.dtype == np.bool_ or ((values == 0) | (values == 1)).all()):
        raise SpikeTensorError(f"`{name}` must be binary onset labels (0/1 per bin and motif).")
    if not values.any():
        raise SpikeTensorError(f"`{name}` contains no onset; supervised fitting needs at least "
                               "one labelled occurrence (or call fit(X) for discovery).")
    return values.astype(np.uint8, copy=False)


class SpikingMotifDetector(BaseEstimator):
    """Detect spiking motifs with a layer of neurons with learned heterogeneous delays.

    The log-odds of an onset of motif ``b`` at bin ``t`` is ``bias_b + Σ_{a,δ}
    A(a, t+δ) K(b, a, δ)`` (Perrinet, ICANN 2023). With labels, ``K`` is learned
    by weighted binary cross-entropy; ``parametrization="sparse"`` then refits
    it as a few weights at learned continuous delays per synapse (Gaussian
    interpolation with an annealed width, initialised from the dense fit);
    ``"rate"`` is the timing-blind baseline (one weight per neuron). Without
    labels, motifs are discovered from sharp cross-correlogram lags (or, as an
    option, by convolutive non-negative factorisation), refined by alternating
    detection and kernel re-estimation, and turned into matched filters whose
    threshold comes from dithered surrogates.

    Parameters
    ----------
    n_motifs : int, optional
        Number of motifs; required without labels, else taken from ``y``.
    n_delays : int
        Delay bins ``D`` of each kernel (the motif window).
    parametrization : {"dense", "sparse", "rate"}
    n_positions : int
        Delay positions per synapse of the sparse parametrization.
    learn_width : bool
        Sparse parametrization: each synapse also learns its Gaussian width
        on top of the annealed one (spike jitter), see ``MotifConv``.
    offset : bool
        Sparse parametrization: each synapse also has one weight constant over
        delays (evidence from a motif neuron firing at other times).
    position_lr : float
        Learning rate of the delay positions relative to ``lr`` (they start
        where a Gaussian bump of the initial width best matches the dense
        kernel, see :func:`~neurodecode.models.motifs.detection.init_positions_from_dense`,
        so they need to move little).
    objective : {"discriminative", "generative"}
        Dense fit: ``"discriminative"`` learns the detector directly by
        weighted BCE on the onset labels; ``"generative"`` fits the ICANN
        generative model of the spikes given the labelled onsets (a sparse
        logistic regression of each neuron on the lagged onsets, the authors'
        supervised scheme) and uses its log-likelihood ratio as the detector.
        The generative fit is cheaper with many motifs (cost grows with
        onsets, not bins × motifs) and uses ``sparsity`` and ``l2`` as its
        penalties.
    nonnegative : bool
        Generative objective: keep the kernel >= 0 (motifs only raise spiking;
        see :func:`~neurodecode.models.motifs.training.fit_generative`).
    excitation_cut : "auto", float or None
        Generative objective: positive kernel weights below this log-odds are
        set to 0 after the fit (chance coincidences of background spikes with
        onsets; :func:`~neurodecode.models.motifs.training.prune_weak_excitation`);
        ``"auto"`` picks the cut among
        :data:`~neurodecode.models.motifs.training.EXCITATION_CUTS` that detects
        best (top-k recall within ``tolerance``) on the held-out bins
        (``validation_fraction``; without them nothing is pruned). ``None`` or 0
        keeps every weight. The choice is in ``fit_info_["dense"]["excitation_cut"]``.
    max_iter : int
        Adam steps of the dense (or rate) fit.
    sparse_iter : int
        Adam steps of the sparse refit.
    lr : float
        Adam learning rate.
    l2, sparsity : float
        L2 and L1 penalties on the kernel; L2 in the dense fit and in the
        sparse refit (without L2 the refit overfits: synapses of neurons
        outside the motif keep noise bumps; recording regime, seed 0: F1 0.919
        without, 0.966 with, oracle 0.970), L1 in the dense (or rate) fit.
    synapse_sparsity : float
        L1 penalty on the synapse weights of the sparse refit (the kernel of a
        sparse synapse sums to its weight). Most neurons belong to no motif:
        without it every (motif, neuron) synapse keeps a small bump at its
        dense fit's peak, and the bumps of 48 non-members add noise to every
        window; with it they go to ~0 (recording regime at 4 ms jitter, median
        non-member weight 0.31 -> 0.01, member weights ~5; with the bump-matched
        starting positions, held-out F1 over seeds 0-5 0.711 -> 0.730, oracle
        0.733; at 2 ms jitter 0.960 -> 0.958, oracle 0.973).
    smoothness : float
        Penalty on squared kernel differences between neighbouring delays
        (dense fit), a prior for jittered spike times.
    class_weight : {"balanced", None}
        Weight onsets by negatives / positives per motif.
    ignore_radius : int
        Bins either side of a labelled onset left out of the loss.
    sigma : (float, float)
        Start and end Gaussian width (bins) of the sparse delays' annealing.
    tolerance : int
        Bins within which a detection matches an onset (event F1).
    min_distance : int, optional
        Minimum bins between two detections of one motif; default ``2 * tolerance``.
    threshold : "auto" or float
        Log-odds threshold; "auto" maximises event F1 on the held-out part of
        the training data (supervised) or sets the ``1 - alpha`` quantile of
        surrogate scores (discovery).
    validation_fraction : float
        Last fraction of each trial's time held out of the gradient; its event
        F1 sets the threshold. 0 uses all bins for both.
    early_stopping : bool
        Keep the state with the lowest held-out loss (instead of the last one).
    discovery : {"lags", "cnmf"}
        Discovery without labels: ``"lags"`` seeds motifs from sharp
        cross-correlogram lags and refines them by alternating detection and
        kernel re-estimation (``discovery_rounds`` rounds); ``"cnmf"`` is a
        convolutive non-negative factorisation (``discovery_iter``,
        ``discovery_sparsity``, ``discovery_smooth``).
    discovery_rounds : int
    discovery_min_z : float
        "lags" only: z-score (against a local, dither-like baseline) a
        correlogram lag must reach to seed or join a motif. Lower finds smaller,
        weaker motifs (and more chance ones: check them with surrogates).
    discovery_iter, discovery_sparsity, discovery_smooth : int, float, float
        Iterations, onset L1 penalty and raster smoothing (bins) of "cnmf".
    n_surrogates : int
        Dithered surrogates used to set the discovery threshold.
    dither : int, optional
        Maximum shift (bins) of the dithered surrogates; default ``2 * n_delays``
        (timing destroyed at the scale of the whole motif window).
    alpha : float
        Per-bin false-positive rate of the discovery threshold.
    random_state : int, optional
    device : {"auto", "cpu", "cuda"}
    verbose : bool
        tqdm progress bars.

    Attributes
    ----------
    kernels_ : ndarray (n_motifs, n_units, n_delays)
    bias_ : ndarray (n_motifs,)
    threshold_ : ndarray (n_motifs,)
    delays_ : ndarray (n_motifs, n_units)
        Delay (bin) of each synapse's strongest weight.
    positions_, synapse_weights_, synapse_widths_ : ndarray (n_motifs, n_units, n_positions)
        Sparse parametrization only: delay (bins), weight and Gaussian width.
    templates_ : ndarray (n_motifs, n_units, n_delays)
        Discovery only: the factorisation's non-negative motif templates.
    mode_ : {"supervised", "discovery", "fixed"}
    fit_info_ : dict
        Loss curves, time, whether training was interrupted; after discovery,
        ``fit_info_["discovery"]["n_found"]`` motifs were found (``n_motifs`` is
        an upper bound; the rest are empty templates that detect nothing).

    Examples
    --------
    >>> from neurodecode.datasets.motifs import make_recording_motifs
    >>> data = make_recording_motifs(n_units=16, n_motifs=1, motif_size=8, duration=20.0,
    ...                              max_delay=0.010, motif_rate=2.0, random_state=0)
    >>> det = SpikingMotifDetector(n_delays=11, max_iter=100, random_state=0)
    >>> det.fit(data.spikes, data.labels).predict(data.spikes).dims
    ('time', 'motif')
    """

    def __init__(self, n_motifs=None, n_delays: int = 31, parametrization: str = "dense",
                 n_positions: int = 1, learn_width: bool = False, offset: bool = False,
                 position_lr: float = 0.5, objective: str = "discriminative",
                 nonnegative: bool = False, excitation_cut="auto",
                 max_iter: int = 300,
                 sparse_iter: int = 200,
                 lr: float = 0.05, l2: float = 3e-3, smoothness: float = 1e-2,
                 sparsity: float = 0.0, synapse_sparsity: float = 1e-3,
                 class_weight="balanced", ignore_radius: int = 1, sigma=(2.0, 1.0),
                 tolerance: int = 2, min_distance=None, threshold="auto",
                 validation_fraction: float = 0.2, early_stopping: bool = False,
                 discovery: str = "lags", discovery_rounds: int = 5,
                 discovery_min_z: float = 5.0,
                 discovery_iter: int = 200, discovery_sparsity: float = 0.5,
                 discovery_smooth: float = 1.0, n_surrogates: int = 5, dither=None,
                 alpha: float = 1e-4, random_state=None, device="auto", verbose: bool = False):
        self.n_motifs = n_motifs
        self.n_delays = n_delays
        self.parametrization = parametrization
        self.n_positions = n_positions
        self.learn_width = learn_width
        self.offset = offset
        self.position_lr = position_lr
        self.objective = objective
        self.nonnegative = nonnegative
        self.excitation_cut = excitation_cut
        self.max_iter = max_iter
        self.sparse_iter = sparse_iter
        self.lr = lr
        self.l2 = l2
        self.smoothness = smoothness
        self.sparsity = sparsity
        self.synapse_sparsity = synapse_sparsity
        self.class_weight = class_weight
        self.ignore_radius = ignore_radius
        self.sigma = sigma
        self.tolerance = tolerance
        self.min_distance = min_distance
        self.threshold = threshold
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.discovery = discovery
        self.discovery_rounds = discovery_rounds
        self.discovery_min_z = discovery_min_z
        self.discovery_iter = discovery_iter
        self.discovery_sparsity = discovery_sparsity
        self.discovery_smooth = discovery_smooth
        self.n_surrogates = n_surrogates
        self.dither = dither
        self.alpha = alpha
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        if int(self.n_delays) < 1:
            raise ValueError(f"`n_delays` must be >= 1 bin, got {self.n_delays!r}")
        if self.parametrization not in _PARAMETRIZATIONS:
            raise ValueError(f"`parametrization` must be one of {_PARAMETRIZATIONS}; got "
                             f"{self.parametrization!r}")
        if self.objective not in ("discriminative", "generative"):
            raise ValueError(f"`objective` must be 'discriminative' or 'generative'; got "
                             f"{self.objective!r}")
        if int(self.n_positions) < 1:
            raise ValueError(f"`n_positions` must be >= 1, got {self.n_positions!r}")
        if self.tolerance < 0:
            raise ValueError(f"`tolerance` must be >= 0 bins, got {self.tolerance!r}")
        cut = self.excitation_cut
        if not (cut is None or cut == "auto" or (
                isinstance(cut, (int, float, np.number)) and not isinstance(cut, bool)
                and cut >= 0)):
            raise ValueError(f"`excitation_cut` must be 'auto', None or a number >= 0; got "
                             f"{cut!r}")

    def _min_distance(self):
        return int(self.min_distance) if self.min_distance is not None else max(
            2 * int(self.tolerance), 1)

    def _dither(self):
        return 2 * int(self.n_delays) if self.dither is None else int(self.dither)

    def _check_window(self, n_time, name="X"):
        if self.n_delays > n_time:
            raise SpikeTensorError(
                f"`n_delays`={self.n_delays} bins is longer than `{name}` ({n_time} time bins): "
                "the motif window must fit in the recording.")

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None):
        """Learn motif kernels from spikes ``X`` and onset labels ``y`` (or discover them).

        Parameters
        ----------
        X : xr.DataArray ("time", "unit") or ("trial", "time", "unit"), or array
            Spike counts (non-negative integers).
        y : xr.DataArray (..., "time", "motif") or array, optional
            1 at each motif onset bin. Without it, ``n_motifs`` motifs are discovered.

        Returns
        -------
        self
        """
        import torch
        from tqdm.auto import tqdm

        from neurodecode.models.motifs.detection import (
            MotifConv,
            init_positions_from_dense,
        )
        from neurodecode.models.motifs.training import (
            onset_prior_logit,
            to_torch,
            train_detector,
        )
        from neurodecode.utils.torch import resolve_device, seed_torch

        self._check_params()
        # the generative fit only reads the spikes: byte counts can stay bytes
        generative = self.objective == "generative" and self.parametrization == "dense"
        values, _ = motif_spike_values(X, compact=generative and y is not None)
        n_trials, n_time, n_units = values.shape
        self._check_window(n_time)
        rng = seed_torch(self.random_state)
        device = resolve_device(self.device)
        self._remember_input(X, n_units)
        start = time.perf_counter()
        info: dict = {}
        if y is None:
            self._discover(values, rng, device, info)
        else:
            labels = motif_label_values(y, X, n_time, n_trials)
            n_motifs = labels.shape[2]
            if self.n_motifs is not None and int(self.n_motifs) != n_motifs:
                raise ValueError(f"`n_motifs`={self.n_motifs} but `y` has {n_motifs} motifs")
            self.motifs_ = (y["motif"].values if isinstance(y, xr.DataArray) and "motif" in
                            y.coords else np.arange(n_motifs))
            # the generative fit never convolves the spikes: no spike index to build
            inputs = None if generative else self._inputs(values, device, self.n_delays)
            Y = None if generative else to_torch(labels, device)
            split = self._validation_split(labels)
            if split is not None:
                masks = torch.zeros(2, n_trials, 1, n_time, device=device)
                masks[0, :, :, :split] = 1
                masks[1, :, :, split:] = 1
                fit_mask, val_mask = masks[0], masks[1]
            else:
                fit_mask = val_mask = None
            first = "rate" if self.parametrization == "rate" else "dense"
            layer = MotifConv(n_motifs, n_units, self.n_delays, first).to(device)
            if Y is not None:
                with torch.no_grad():
                    layer.bias.copy_(onset_prior_logit(Y))
            common = dict(lr=self.lr, ignore_radius=self.ignore_radius,
                          class_weight=self.class_weight, fit_mask=fit_mask,
                          val_mask=val_mask if self.early_stopping else None)
            with tqdm(total=self.max_iter, desc=f"{first} kernels", disable=not self.verbose,
                      leave=False) as bar:
                progress = lambda s, v: (bar.update(1), bar.set_postfix(loss=v))  # noqa: E731
                if self.objective == "generative" and first == "dense":
                    info["dense"] = self._fit_generative(layer, values, labels, split, device,
                                                         progress)
                else:
                    info["dense"] = train_detector(
                        layer, inputs, Y, max_iter=self.max_iter, l2=self.l2,
                        smoothness=self.smoothness, sparsity=self.sparsity,
                        progress=progress, **common)
            if self.parametrization == "sparse" and not info["dense"]["interrupted"]:
                weights, positions = init_positions_from_dense(
                    layer.weight.detach(), self.n_positions, sigma=float(self.sigma[0]))
                sparse = MotifConv(n_motifs, n_units, self.n_delays, "sparse", self.n_positions,
                                   self.sigma[0], learn_width=self.learn_width,
                                   offset=self.offset).to(device)
                with torch.no_grad():
                    if sparse.offset is not None:
                        base = layer.weight.detach().median(dim=-1, keepdim=True).values
                        sparse.offset.copy_(base)
                        weights = weights - base
                    # scale so the initial Gaussian bump peaks at the dense weight
                    grid = torch.arange(-self.n_delays + 1, self.n_delays, dtype=weights.dtype)
                    peak = 1.0 / torch.exp(-0.5 * (grid / float(self.sigma[0])) ** 2).sum()
                    sparse.weight.copy_(weights / peak)
                    sparse.position.copy_(positions)
                    sparse.bias.copy_(layer.bias)
                with tqdm(total=self.sparse_iter, desc="sparse delays",
                          disable=not self.verbose, leave=False) as bar:
                    info["sparse"] = train_detector(
                        sparse, inputs, Y, max_iter=self.sparse_iter,
                        sparsity=float(self.synapse_sparsity),
                        l2=self.l2, sigma_schedule=tuple(self.sigma),
                        position_lr_scale=float(self.position_lr),
                        progress=lambda s, v: (bar.update(1), bar.set_postfix(loss=v)), **common)
                layer = sparse
                self.positions_ = layer.position.detach().clamp(0, self.n_delays - 1).cpu() \
                    .numpy().astype(np.float64)
                self.synapse_weights_ = layer.weight.detach().cpu().numpy().astype(np.float64)
                if layer.offset is not None:
                    self.synapse_offsets_ = layer.offset.detach().cpu().numpy()[..., 0] \
                        .astype(np.float64)
                widths = layer.widths()
                self.synapse_widths_ = (widths.detach().cpu().numpy().astype(np.float64)
                                        if isinstance(widths, torch.Tensor) else
                                        np.full_like(self.synapse_weights_, widths))
            with torch.no_grad():
                self.kernels_ = layer.kernel().detach().cpu().numpy().astype(np.float64)
                self.bias_ = layer.bias.detach().cpu().numpy().astype(np.float64)
            self.delays_ = layer.delays()
            self.mode_ = "supervised"
            if isinstance(self.threshold, str):
                if self.threshold != "auto":
                    raise ValueError(f"`threshold` must be 'auto' or a number, got "
                                     f"{self.threshold!r}")
                cut = 0 if split is None else split
                self.calibrate_threshold(values[:, cut:], labels[:, cut:])
            else:
                self.threshold_ = np.full(n_motifs, float(self.threshold))
        info["seconds"] = time.perf_counter() - start
        info["interrupted"] = any(v.get("interrupted", False) for v in info.values()
                                  if isinstance(v, dict))
        self.fit_info_ = info
        return self

    def _fit_generative(self, layer, values, labels, split, device, progress):
        """Dense kernels and bias of ``layer`` from the generative fit (``objective``)."""
        import torch

        from neurodecode.models.motifs.training import (
            OnsetDesign,
            fit_generative,
            generative_detector,
            prune_weak_excitation,
        )

        cut = values.shape[1] if split is None else split
        design = OnsetDesign(labels[:, :cut], self.n_delays)
        result = fit_generative(design, values[:, :cut], max_iter=self.max_iter, lr=self.lr,
                                sparsity=self.sparsity, l2=self.l2,
                                nonnegative=bool(self.nonnegative), device=device,
                                progress=progress)
        rate = torch.as_tensor(labels[:, :cut].mean(axis=(0, 1)), dtype=torch.float32,
                               device=device).clamp(1e-6, 1 - 1e-6)
        choice = self._excitation_cut(result["kernels"], result["baseline"], rate, values,
                                      labels, split, device)
        kernels, bias = generative_detector(
            prune_weak_excitation(result["kernels"], choice["cut"]), result["baseline"], rate)
        with torch.no_grad():
            layer.weight.copy_(kernels)
            layer.bias.copy_(bias)
        self.baseline_ = result["baseline"].cpu().numpy().astype(np.float64)
        return {"loss": result["loss"], "interrupted": result["interrupted"],
                "excitation_cut": choice}

    def _excitation_cut(self, kernels, baseline, rate, values, labels, split, device) -> dict:
        """The ``excitation_cut`` to prune with: given, or the best on the held-out bins."""
        from neurodecode.metrics.events import oracle_threshold_recall
        from neurodecode.models.motifs.training import (
            EXCITATION_CUTS,
            generative_detector,
            prune_weak_excitation,
        )

        cut = self.excitation_cut  # checked by _check_params
        if cut is None:
            return {"cut": 0.0}
        if cut != "auto":
            return {"cut": float(cut)}
        if split is None:  # no held-out bins to choose on: keep every weight
            return {"cut": 0.0, "validation_recall": {}}
        inputs = self._inputs(values[:, split:], device, self.n_delays)
        recall = {}
        for candidate in EXCITATION_CUTS:
            k, b = generative_detector(prune_weak_excitation(kernels, candidate), baseline, rate)
            recall[candidate] = oracle_threshold_recall(
                self._scores(inputs, k, b), labels[:, split:],
                tolerance=int(self.tolerance), min_distance=self._min_distance())
        # the smallest cut among the best (ties keep more of the fit)
        return {"cut": max(recall, key=recall.get), "validation_recall": recall}

    def _validation_split(self, labels):
        """First held-out bin, or None when nothing is held out (or it has no onset)."""
        frac = float(self.validation_fraction)
        if not 0 <= frac < 1:
            raise ValueError(f"`validation_fraction` must be in [0, 1), got {frac!r}")
        n_time = labels.shape[1]
        split = int(round(n_time * (1 - frac)))
        if frac == 0 or split >= n_time or split < self.n_delays:
            return None
        if not labels[:, split:].any(axis=(0, 1)).all() or not labels[:, :split].any():
            return None
        return split

    def _remember_input(self, X, n_units):
        self.n_units_ = n_units
        if isinstance(X, xr.DataArray):
            self.units_ = np.asarray(X["unit"].values)
            self.bin_size_ = float(X.attrs.get("bin_size", np.nan))
        else:
            self.units_ = np.arange(n_units)
            self.bin_size_ = np.nan

    @staticmethod
    def _inputs(values, device, n_delays):
        """Spike-driven index for sparse rasters (cheaper), a dense tensor otherwise."""
        from neurodecode.models.motifs.detection import SpikeIndex
        from neurodecode.models.motifs.training import to_torch

        if np.count_nonzero(values) < 0.1 * values.size:
            return SpikeIndex(values, n_delays, device)
        return to_torch(values.astype(np.float32), device)

    def _discover(self, values, rng, device, info):
        import torch
        from tqdm.auto import tqdm

        from neurodecode.models.motifs.training import to_torch
        from neurodecode.models.motifs.unsupervised import conv_nmf, templates_to_kernels

        if self.n_motifs is None or int(self.n_motifs) < 1:
            raise ValueError("discovery (fit without `y`) needs `n_motifs` >= 1")
        n_motifs = int(self.n_motifs)
        self.motifs_ = np.arange(n_motifs)
        if self.discovery == "lags":
            from neurodecode.models.motifs.unsupervised import discover_motifs

            result = discover_motifs(values, n_motifs, self.n_delays,
                                     n_rounds=self.discovery_rounds,
                                     min_z=float(self.discovery_min_z), rng=rng, device=device,
                                     dither=self._dither(), alpha=float(self.alpha),
                                     min_distance=self._min_distance())
            self.templates_ = result["W"].astype(np.float64)
            self.kernels_ = result["kernels"].astype(np.float64)
            self.bias_ = result["bias"].astype(np.float64)
            null_threshold = result["threshold"]
            info["discovery"] = {"seeds": result["seeds"], "n_found": result["n_found"]}
        elif self.discovery == "cnmf":
            gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
            with tqdm(total=self.discovery_iter, desc="discovery", disable=not self.verbose,
                      leave=False) as bar:
                last = [0]

                def progress(step, loss):
                    bar.update(step + 1 - last[0])
                    last[0] = step + 1
                    bar.set_postfix(loss=loss)

                result = conv_nmf(to_torch(values.astype(np.float32), device), n_motifs,
                                  self.n_delays, max_iter=self.discovery_iter,
                                  sparsity=self.discovery_sparsity,
                                  smooth=self.discovery_smooth, generator=gen,
                                  progress=progress)
            kernels, bias = templates_to_kernels(result["W"], result["H"], result["baseline"])
            self.templates_ = result["W"].cpu().numpy().astype(np.float64)
            self.kernels_ = kernels.cpu().numpy().astype(np.float64)
            self.bias_ = bias.cpu().numpy().astype(np.float64)
            null_threshold = None
            info["discovery"] = {"loss": result["loss"]}
        else:
            raise ValueError(f"`discovery` must be 'lags' or 'cnmf', got {self.discovery!r}")
        self.delays_ = self.templates_.argmax(axis=-1).astype(np.float64)
        self.mode_ = "discovery"
        if isinstance(self.threshold, str) and null_threshold is not None:
            self.threshold_ = np.asarray(null_threshold, dtype=np.float64)
        elif isinstance(self.threshold, str):
            null = self._surrogate_scores(values, self.n_surrogates, "dither", rng)
            flat = null.transpose(3, 0, 1, 2).reshape(n_motifs, -1)
            self.threshold_ = np.quantile(flat, 1 - self.alpha, axis=1)
        else:
            self.threshold_ = np.full(n_motifs, float(self.threshold))

    @classmethod
    def from_kernels(cls, kernels, bias=None, threshold=0.0, **params):
        """A fitted detector with given kernels: the matched-filter oracle, or replay templates.

        Parameters
        ----------
        kernels : array (n_motifs, n_units, n_delays)
        bias : array (n_motifs,), optional
        threshold : float or array (n_motifs,)
            Log-odds threshold (use :meth:`calibrate_threshold` to set it from data).
        **params
            Other constructor parameters (``tolerance``, ``min_distance``...).
        """
        k = np.asarray(kernels, dtype=np.float64)
        if k.ndim != 3:
            raise ValueError(f"`kernels` must be (n_motifs, n_units, n_delays), got {k.shape}")
        det = cls(**{**params, "n_motifs": k.shape[0], "n_delays": k.shape[2]})
        det.kernels_ = k
        det.bias_ = np.zeros(k.shape[0]) if bias is None else np.asarray(bias, np.float64)
        det.threshold_ = np.broadcast_to(np.asarray(threshold, np.float64), (k.shape[0],)).copy()
        det.delays_ = k.argmax(axis=-1).astype(np.float64)
        det.n_units_ = k.shape[1]
        det.units_ = np.arange(k.shape[1])
        det.bin_size_ = np.nan
        det.motifs_ = np.arange(k.shape[0])
        det.mode_ = "fixed"
        det.fit_info_ = {}
        return det

    # ------------------------------------------------------------------ inference
    def _check_fitted(self):
        if not hasattr(self, "kernels_"):
            raise RuntimeError("this SpikingMotifDetector is not fitted yet; call fit() first")

    def _logits(self, values):
        import torch

        from neurodecode.utils.torch import resolve_device

        device = resolve_device(self.device)
        kernels = torch.as_tensor(self.kernels_, dtype=torch.float32, device=device)
        bias = torch.as_tensor(self.bias_, dtype=torch.float32, device=device)
        return self._scores(self._inputs(values, device, kernels.shape[-1]), kernels, bias)

    @staticmethod
    def _scores(inputs, kernels, bias) -> np.ndarray:
        """Log-odds (R, T, M) of ``kernels``/``bias`` on :meth:`_inputs` output."""
        import torch

        from neurodecode.models.motifs.detection import SpikeIndex, motif_logits

        with torch.no_grad():
            if isinstance(inputs, SpikeIndex):
                out = inputs.logits(kernels, bias)
            else:
                out = motif_logits(inputs, kernels, bias)
        return out.cpu().numpy().transpose(0, 2, 1).astype(np.float64)

    def _prepare(self, X, name="X"):
        self._check_fitted()
        values, has_trials = motif_spike_values(X, name)
        if values.shape[2] != self.n_units_:
            raise SpikeTensorError(f"`{name}` has {values.shape[2]} units; the detector was "
                                   f"fitted on {self.n_units_}.")
        if isinstance(X, xr.DataArray) and self.mode_ != "fixed" and not np.array_equal(
                np.asarray(X["unit"].values), self.units_):
            raise SpikeTensorError(f"`{name}`'s unit ids differ from those seen in fit (same "
                                   "units, same order expected).")
        self._check_window(values.shape[1], name)
        return values, has_trials

    def _wrap(self, X, out, has_trials, name):
        if not isinstance(X, xr.DataArray):
            return out if has_trials else out[0]
        v = out if has_trials else out[0]
        coords = {d: X.coords[d] for d in X.dims if d != "unit" and d in X.coords}
        return xr.DataArray(v, dims=(*[d for d in X.dims if d != "unit"], "motif"),
                            coords={**coords, "motif": self.motifs_}, name=name,
                            attrs={k: v for k, v in X.attrs.items()
                                   if k in ("bin_size", "session_id", "source")})

    def decision_function(self, X):
        """Onset log-odds of every motif at every bin, dims ``(..., "time", "motif")``."""
        values, has_trials = self._prepare(X)
        return self._wrap(X, self._logits(values), has_trials, "motif_log_odds")

    def predict_proba(self, X):
        """Onset probability σ(log-odds), dims ``(..., "time", "motif")``."""
        values, has_trials = self._prepare(X)
        return self._wrap(X, 1 / (1 + np.exp(-self._logits(values))), has_trials,
                          "motif_probability")

    def _detect(self, logits):
        return local_maxima(logits, -np.inf, self._min_distance()) & (logits >= self.threshold_)

    def predict(self, X):
        """Detected onsets (1 at each), dims ``(..., "time", "motif")``, uint8."""
        values, has_trials = self._prepare(X)
        return self._wrap(X, self._detect(self._logits(values)).astype(np.uint8), has_trials,
                          "motif_onsets")

    def predict_events(self, X, n_surrogates: int = 0, surrogate: str = "dither",
                       max_statistic: bool = False, random_state=None) -> pd.DataFrame:
        """Table of detections with onset times and optional surrogate p-values.

        Parameters
        ----------
        X : spike tensor or array
        n_surrogates : int
            Surrogate rasters for p-values (0: none).
        surrogate : {"dither", "trial_shuffle"}
            Dither every spike by up to ``dither`` bins, or shuffle trials per unit.
        max_statistic : bool
            Family-wise p-values (max over the recording) instead of per-bin ones.
        random_state : int, optional

        Returns
        -------
        DataFrame
            ``trial``, ``motif``, ``onset_bin``, ``time`` (s; from X's coords, else
            NaN), ``score`` (log-odds) and ``p_value`` when surrogates are used.
        """
        from neurodecode.models.motifs.surrogates import surrogate_p_values

        values, has_trials = self._prepare(X)
        logits = self._logits(values)
        r, t, m = np.nonzero(self._detect(logits))
        if isinstance(X, xr.DataArray):
            times = np.asarray(X["time"].values, dtype=np.float64)[t]
        else:
            times = (t + 0.5) * self.bin_size_
        table = pd.DataFrame({"trial": r, "motif": np.asarray(self.motifs_)[m], "onset_bin": t,
                              "time": times, "score": logits[r, t, m]})
        if n_surrogates:
            rng = np.random.default_rng(random_state)
            null = self._surrogate_scores(values, n_surrogates, surrogate, rng)
            table["p_value"] = surrogate_p_values(table["score"].to_numpy(), m, null,
                                                  max_statistic=max_statistic)
        return table

    def _surrogate_scores(self, values, n_surrogates, surrogate, rng):
        from neurodecode.models.motifs.surrogates import dither_spikes, shuffle_trials

        if surrogate not in ("dither", "trial_shuffle"):
            raise ValueError(f"`surrogate` must be 'dither' or 'trial_shuffle', got {surrogate!r}")
        out = []
        for _ in range(int(n_surrogates)):
            sur = (dither_spikes(values, self._dither(), rng) if surrogate == "dither"
                   else shuffle_trials(values, rng))
            out.append(self._logits(sur))
        return np.stack(out)

    def score(self, X, y) -> float:
        """Event F1 of :meth:`predict` against onset labels ``y`` within ``tolerance`` bins."""
        values, has_trials = self._prepare(X)
        labels = motif_label_values(y, X, values.shape[1], values.shape[0])
        pred = self._detect(self._logits(values))
        return event_f1(labels, pred, self.tolerance)

    def calibrate_threshold(self, X, y, n_candidates: int = 200):
        """Set ``threshold_`` per motif to maximise event F1 on ``(X, y)``; returns self.

        Used on the training data by ``fit(threshold="auto")``; call it on a
        calibration set for a pruned or oracle detector. All motifs and
        ``n_candidates`` thresholds are scored at once
        (:func:`~neurodecode.models.motifs.calibration.f1_thresholds`).
        """
        from neurodecode.models.motifs.calibration import f1_thresholds

        if isinstance(X, np.ndarray) and X.ndim == 3 and X.dtype == np.int64:
            values = X
        else:
            values, _ = self._prepare(X)
        labels = y if (isinstance(y, np.ndarray) and y.ndim == 3 and y.dtype == np.uint8) \
            else motif_label_values(y, X, values.shape[1], values.shape[0])
        logits = self._logits(values)
        peaks = local_maxima(logits, -np.inf, self._min_distance())
        self.threshold_ = f1_thresholds(logits, peaks, labels, self.tolerance, n_candidates)
        return self

    # ------------------------------------------------------------------ pruning
    def n_synapses(self) -> int:
        """Non-zero weights: (motif, neuron, delay) entries, or sparse delay positions."""
        self._check_fitted()
        if hasattr(self, "synapse_weights_"):
            return int(np.count_nonzero(self.synapse_weights_)) + int(
                np.count_nonzero(getattr(self, "synapse_offsets_", 0)))
        return int(np.count_nonzero(self.kernels_))

    def prune(self, n_keep: int):
        """Copy keeping the ``n_keep`` largest-magnitude synapses (others set to 0).

        For the sparse parametrization a synapse is one (motif, neuron,
        position) weight; otherwise one (motif, neuron, delay) kernel entry.
        """
        import copy

        self._check_fitted()
        det = copy.deepcopy(self)
        if hasattr(det, "synapse_weights_"):
            import torch

            from neurodecode.models.motifs.detection import gaussian_delay_kernel

            w = det.synapse_weights_.copy()
            off = getattr(det, "synapse_offsets_", np.zeros(w.shape[:2]))
            both = np.concatenate([w.ravel(), off.ravel()])
            both[np.argsort(-np.abs(both), kind="stable")[int(n_keep):]] = 0.0
            w = both[:w.size].reshape(w.shape)
            if hasattr(det, "synapse_offsets_"):
                det.synapse_offsets_ = both[w.size:].reshape(off.shape)
            det.synapse_weights_ = w
            det.kernels_ = gaussian_delay_kernel(
                torch.as_tensor(w), torch.as_tensor(det.positions_),
                torch.as_tensor(det.synapse_widths_), self.kernels_.shape[-1]).numpy()
            if hasattr(det, "synapse_offsets_"):
                det.kernels_ = det.kernels_ + det.synapse_offsets_[..., None]
        else:
            k = det.kernels_.copy()
            k.ravel()[np.argsort(-np.abs(k).ravel(), kind="stable")[int(n_keep):]] = 0.0
            det.kernels_ = k
        return det

    # ------------------------------------------------------------------ persistence
    def save(self, path):
        """Write the fitted detector to one zip file (no pickle)."""
        from neurodecode.utils.persistence import save_state

        self._check_fitted()
        arrays = {name: getattr(self, name) for name in
                  ("kernels_", "bias_", "threshold_", "delays_", "units_", "motifs_",
                   "positions_", "synapse_weights_", "synapse_widths_", "synapse_offsets_",
                   "templates_", "baseline_")
                  if hasattr(self, name)}
        extra = {"mode_": self.mode_, "n_units_": self.n_units_, "bin_size_": self.bin_size_,
                 "fit_seconds": self.fit_info_.get("seconds")}
        return save_state(path, kind=type(self).__name__, params=self.get_params(),
                          arrays=arrays, extra=extra)

    @classmethod
    def load(cls, path):
        """Read a detector written by :meth:`save`."""
        from neurodecode.utils.persistence import load_state

        state = load_state(path, kind=cls.__name__)
        params = dict(state["params"])
        if isinstance(params.get("sigma"), list):
            params["sigma"] = tuple(params["sigma"])
        det = cls(**params)
        for name, value in state["arrays"].items():
            setattr(det, name, value)
        det.mode_ = state["extra"]["mode_"]
        det.n_units_ = int(state["extra"]["n_units_"])
        det.bin_size_ = float(state["extra"]["bin_size_"]) if state["extra"][
            "bin_size_"] is not None else np.nan
        det.fit_info_ = {"seconds": state["extra"].get("fit_seconds")}
        return det
