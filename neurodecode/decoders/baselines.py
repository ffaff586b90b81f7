"""Baseline decoders: Poisson naive Bayes (Zhang et al. 1998), k-nearest neighbours, ridge.

All are scikit-learn estimators that take spike counts as a numpy array
``(n_samples, n_units)`` / ``(n_trials, n_time, n_units)`` or as a spike-tensor
DataArray. With a DataArray in, predictions come out as a DataArray on the same
sample dims and coords, and the target may be named by one of its coords
(``fit(X, "position")``).

The Bayesian decoder's maths lives in two pure functions,
:func:`occupancy_tuning_curves` and :func:`poisson_log_posterior`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.sparse import issparse
from sklearn.base import BaseEstimator
from sklearn.utils.metaestimators import available_if

from neurodecode.data.tensor import spike_tensor_values, validate_spike_tensor
from neurodecode.errors import SpikeTensorError

__all__ = ["occupancy_tuning_curves", "poisson_log_posterior", "PoissonBayesDecoder",
           "PoissonBayesClassifier", "KNNDecoder", "RidgeDecoder"]


# ----------------------------------------------------------------------------- maths
def occupancy_tuning_curves(counts, y, edges, *, smoothing: float = 0.0,
                            pseudocount: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Tuning curves of every unit over bins of a variable: smoothed counts / smoothed occupancy.

    ``tuning[b, j] = (S[b, j] + a * m[j]) / (O[b] + a)``, where ``S`` is unit ``j``'s
    spike count summed over samples whose ``y`` falls in bin ``b``, ``O`` the number
    of such samples (occupancy), both Gaussian-smoothed along the bins, ``m[j]``
    the unit's mean count per sample and ``a = pseudocount``. The pseudocount is a
    gamma prior that pulls rarely visited bins towards the unit's mean instead of
    to 0 or to infinity.

    Parameters
    ----------
    counts : ndarray, shape (n_samples, n_units)
    y : ndarray, shape (n_samples,)
        The variable; samples outside ``[edges[0], edges[-1]]`` or NaN are ignored.
    edges : ndarray, shape (n_bins + 1,)
        Ascending bin edges.
    smoothing : float
        Standard deviation of the Gaussian smoothing, in bins (0: none).
    pseudocount : float
        ``a`` above, in samples (>= 0).

    Returns
    -------
    tuning : ndarray, shape (n_bins, n_units)
        Expected count per sample in each bin.
    occupancy : ndarray, shape (n_bins,)
        Smoothed number of samples per bin.

    Examples
    --------
    >>> counts = np.array([[2, 0], [2, 0], [0, 1], [0, 1]])
    >>> tuning, occ = occupancy_tuning_curves(counts, [0.2, 0.3, 0.7, 0.8], [0, 0.5, 1],
    ...                                       pseudocount=0.0)
    >>> tuning.tolist(), occ.tolist()
    ([[2.0, 0.0], [0.0, 1.0]], [2.0, 2.0])
    """
    from scipy.ndimage import gaussian_filter1d

    counts = np.asarray(counts, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    edges = np.asarray(edges, dtype=np.float64)
    n_bins = edges.size - 1
    inside = np.isfinite(y) & (y >= edges[0]) & (y <= edges[-1])
    which = np.clip(np.searchsorted(edges, y[inside], side="right") - 1, 0, n_bins - 1)
    occupancy = np.bincount(which, minlength=n_bins).astype(np.float64)
    summed = np.zeros((n_bins, counts.shape[1]))
    np.add.at(summed, which, counts[inside])
    if smoothing > 0:
        occupancy = gaussian_filter1d(occupancy, smoothing, mode="constant")
        summed = gaussian_filter1d(summed, smoothing, axis=0, mode="constant")
    mean_count = counts[inside].mean(axis=0) if inside.any() else np.zeros(counts.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        tuning = (summed + pseudocount * mean_count) / (occupancy + pseudocount)[:, None]
    tuning[~np.isfinite(tuning)] = 0.0
    return tuning, occupancy


def poisson_log_posterior(counts, tuning, log_prior=None) -> np.ndarray:
    """Normalised log posterior over states given independent Poisson counts.

    ``log p(b | n) = sum_j [n_j log lambda_bj - lambda_bj] + log prior_b - log Z``.

    Parameters
    ----------
    counts : ndarray, shape (n_samples, n_units)
    tuning : ndarray, shape (n_states, n_units)
        Expected count per sample ``lambda``; values below 1e-10 are raised to it.
    log_prior : ndarray, shape (n_states,), optional
        ``-inf`` excludes a state; default flat.

    Returns
    -------
    ndarray, shape (n_samples, n_states)
        Rows ``logsumexp`` to 0.

    Examples
    --------
    >>> post = np.exp(poisson_log_posterior([[3, 0]], [[3.0, 0.1], [0.1, 3.0]]))
    >>> post.round(3).tolist()
    [[1.0, 0.0]]
    """
    from scipy.special import logsumexp

    counts = np.asarray(counts, dtype=np.float64)
    lam = np.maximum(np.asarray(tuning, dtype=np.float64), 1e-10)
    log_like = counts @ np.log(lam).T - lam.sum(axis=1)[None, :]
    if log_prior is not None:
        log_like = log_like + np.asarray(log_prior, dtype=np.float64)[None, :]
    return log_like - logsumexp(log_like, axis=1, keepdims=True)


# ------------------------------------------------------------------ input / output
class _SpikeDecoderMixin:
    """Conversion of spike tensors / arrays to sample rows, and of predictions back."""

    _task = "regression"
    _counts_only = False

    def __sklearn_tags__(self):  # scikit-learn >= 1.6 only calls this
        from sklearn.utils import ClassifierTags, RegressorTags

        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self._counts_only
        if self._task == "classification":
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
            tags.regressor_tags = None
        else:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        return tags

    def _rows(self, X, *, fitting: bool) -> tuple[np.ndarray, xr.DataArray | None]:
        if not fitting:
            self._check_fitted()
        if issparse(X):
            raise TypeError(f"{type(self).__name__} does not accept sparse input; pass "
                            "X.toarray() or a spike-tensor DataArray.")
        if isinstance(X, xr.DataArray):
            X = self._embedding_as_features(X)
            validate_spike_tensor(X, name="X")
            values = X.values.astype(np.float64)
            template = X
        else:
            values = spike_tensor_values(X, name="X", dtype=np.float64)
            template = None
        values = values.reshape(int(np.prod(values.shape[:-1])), values.shape[-1])
        if values.shape[0] == 0:
            raise SpikeTensorError("`X` has 0 samples; at least 1 is needed.")
        if values.shape[1] == 0:
            raise SpikeTensorError(f"`X` has 0 feature(s) (shape={values.shape}) while a "
                                   "minimum of 1 is required (one column per unit).")
        if self._counts_only and values.size and values.min() < 0:
            raise SpikeTensorError(f"Negative values in data passed to {type(self).__name__}: "
                                   "it models spike counts, which are >= 0.")
        if fitting:
            self.n_features_in_ = values.shape[1]
        elif values.shape[1] != getattr(self, "n_features_in_", values.shape[1]):
            raise SpikeTensorError(f"X has {values.shape[1]} features, but {type(self).__name__} "
                                   f"is expecting {self.n_features_in_} features as input "
                                   "(one per unit, as in fit).")
        return values, template

    def _embedding_as_features(self, X: xr.DataArray) -> xr.DataArray:
        """An embedding ``(..., "latent")`` read as features: decoders that do not model
        counts take the output of a model's ``transform`` as they take a spike tensor."""
        if self._counts_only or not X.dims or X.dims[-1] != "latent":
            return X
        X = X.rename(latent="unit")
        if "unit" not in X.coords:
            X = X.assign_coords(unit=np.arange(X.sizes["unit"]))
        return X

    @staticmethod
    def _target(y, X, n_rows: int, *, numeric: bool) -> np.ndarray:
        if isinstance(y, str):
            if not isinstance(X, xr.DataArray) or y not in X.coords:
                raise ValueError(f"`y`={y!r} names no coord of `X`; pass the target values or "
                                 "bin with behavior=True so that it is a coord.")
            y = X.coords[y]
        values = np.asarray(y.values if isinstance(y, xr.DataArray) else y)
        sample_shape = tuple(np.shape(X)[:-1])
        if values.ndim == 0 or values.size % n_rows or (
                values.shape[0] != n_rows and values.shape[:len(sample_shape)] != sample_shape):
            raise ValueError(f"`y` has shape {values.shape}; expected one value (or one row) "
                             f"per sample of `X` ({n_rows} samples).")
        values = values.reshape(n_rows, -1)
        if values.shape[1] == 1:
            values = values[:, 0]
        if not numeric:
            from sklearn.utils.multiclass import check_classification_targets

            check_classification_targets(values)
        else:
            if values.dtype.kind not in "uifb":
                raise ValueError(f"`y` has dtype {values.dtype}; a regression target must be "
                                 "numeric (use task='classification' for labels).")
            values = values.astype(np.float64)
        return values

    @staticmethod
    def _wrap(values: np.ndarray, template, name: str, extra_dims=(), extra_coords=None):
        if template is None:
            return values
        sample_dims = template.dims[:-1]
        shape = tuple(template.sizes[d] for d in sample_dims)
        values = values.reshape(shape + values.shape[1:])
        dims = tuple(sample_dims) + tuple(extra_dims)
        if values.ndim > len(dims):
            dims = dims + ("output",)
        coords = {k: c for k, c in template.coords.items() if set(c.dims) <= set(sample_dims)}
        coords.update(extra_coords or {})
        return xr.DataArray(values, dims=dims, coords=coords, name=name,
                            attrs={k: v for k, v in template.attrs.items()
                                   if k in ("bin_size", "session_id", "source")})

    def _standardized_training_rows(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        """Training rows z-scored (``mean_``/``scale_`` set here) and their targets;
        regression rows with a non-finite target are dropped."""
        _check_task(self.task)
        values, _ = self._rows(X, fitting=True)
        target = self._target(y, X, values.shape[0], numeric=self.task == "regression")
        if self.task == "regression":
            values, target = _finite_targets(values, target)
        self.mean_, self.scale_ = _standardize_fit(values) if self.standardize else (
            np.zeros(values.shape[1]), np.ones(values.shape[1]))
        return (values - self.mean_) / self.scale_, target

    def score(self, X, y, sample_weight=None) -> float:
        """R² (regression) or accuracy (classification) of the predictions on ``X``."""
        from neurodecode.metrics.decoding import accuracy, r2_score

        values, _ = self._rows(X, fitting=False)
        target = self._target(y, X, values.shape[0], numeric=self._task == "regression")
        pred = np.asarray(self.predict(X)).reshape(target.shape)
        return accuracy(target, pred) if self._task == "classification" else r2_score(target,
                                                                                       pred)

    def _check_fitted(self):
        if not hasattr(self, "n_features_in_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit first.")

    def save(self, path):
        """Write the fitted decoder to ``path`` (a zip: JSON parameters + numpy arrays)."""
        from neurodecode.utils.persistence import save_state

        self._check_fitted()
        arrays = {k: _storable(v) for k, v in vars(self).items()
                  if k.endswith("_") and isinstance(v, np.ndarray)}
        extra = {k: v for k, v in vars(self).items()
                 if k.endswith("_") and isinstance(v, (int, float, str, type(None)))
                 and not isinstance(v, bool)}
        return save_state(path, kind=type(self).__name__, params=self.get_params(),
                          arrays=arrays, extra=extra)

    @classmethod
    def load(cls, path):
        """Read a decoder written by :meth:`save`."""
        from neurodecode.utils.persistence import load_state

        state = load_state(path, kind=cls.__name__)
        est = cls(**state["params"])
        for k, v in {**state["extra"], **state["arrays"]}.items():
            setattr(est, k, v)
        est._restore()
        return est

    def _restore(self):
        """Rebuild derived state after :meth:`load` (nothing by default)."""


def _storable(values: np.ndarray) -> np.ndarray:
    return values.astype(str) if values.dtype == object else values


def _finite_targets(values: np.ndarray, target: np.ndarray):
    """Leave out samples whose target is NaN (e.g. lost tracking); fail if none is left."""
    ok = np.isfinite(target) if target.ndim == 1 else np.isfinite(target).all(axis=1)
    if not ok.any():
        raise ValueError("`y` has no finite value: nothing to fit.")
    return values[ok], target[ok]


def _standardize_fit(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = values.mean(axis=0)
    scale = values.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


def _check_task(task: str):
    if task not in ("regression", "classification"):
        raise ValueError(f"`task` must be 'regression' or 'classification', not {task!r}.")


# ----------------------------------------------------------------- Poisson Bayes
class PoissonBayesDecoder(_SpikeDecoderMixin, BaseEstimator):
    """Decode a continuous 1-D variable from spike counts with a Poisson naive-Bayes model.

    Each unit's expected count is a smoothed, occupancy-normalised histogram over a
    grid of the variable (:func:`occupancy_tuning_curves`); units are independent
    Poisson given the variable, giving a posterior over the grid
    (:func:`poisson_log_posterior`; Zhang et al. 1998, J. Neurophysiol. 79:1017).

    Parameters
    ----------
    n_bins : int
        Grid bins over ``value_range``.
    value_range : (float, float), optional
        Grid span; default the training targets' min and max.
    smoothing : float
        Gaussian smoothing of the tuning curves, standard deviation in grid bins.
    pseudocount : float
        Gamma-prior strength (in samples) pulling sparsely visited bins to the unit's
        mean count.
    prior : {"flat", "occupancy"}
        Flat over visited bins, or proportional to the training occupancy.
    estimate : {"mean", "map"}
        ``predict`` returns the posterior mean or the most probable bin centre.

    Attributes
    ----------
    edges_, centers_ : ndarray, shapes (n_bins + 1,), (n_bins,)
    tuning_curves_ : ndarray, shape (n_units, n_bins)
        Expected count per sample (``/ bin_size_`` for Hz).
    occupancy_ : ndarray, shape (n_bins,)
    log_prior_ : ndarray, shape (n_bins,)
        ``-inf`` on unvisited bins.
    preferred_values_ : ndarray, shape (n_units,)
        Grid centre of each unit's largest expected count (field centre).
    bin_size_ : float or None
        From ``X.attrs["bin_size"]`` when fitted on a spike tensor.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.uniform(0, 100, 2000)
    >>> centres = np.linspace(0, 100, 12)
    >>> X = rng.poisson(3 * np.exp(-0.5 * ((y[:, None] - centres) / 8) ** 2) + 0.05)
    >>> dec = PoissonBayesDecoder(n_bins=50).fit(X[:1500], y[:1500])
    >>> float(np.median(np.abs(dec.predict(X[1500:]) - y[1500:]))) < 5
    True
    """

    _counts_only = True

    def __init__(self, n_bins: int = 50, *, value_range=None, smoothing: float = 1.0,
                 pseudocount: float = 1.0, prior: str = "flat", estimate: str = "mean"):
        self.n_bins = n_bins
        self.value_range = value_range
        self.smoothing = smoothing
        self.pseudocount = pseudocount
        self.prior = prior
        self.estimate = estimate

    def fit(self, X, y):
        """Fit tuning curves.

        Parameters
        ----------
        X : DataArray or ndarray, shape (n_samples, n_units) or (n_trials, n_time, n_units)
            Spike counts.
        y : ndarray, DataArray or str, shape = sample shape of ``X``
            The variable, or the name of a coord of ``X``. NaN samples (e.g. lost
            tracking) are left out of the fit.

        Returns
        -------
        self
        """
        if self.prior not in ("flat", "occupancy"):
            raise ValueError(f"`prior` must be 'flat' or 'occupancy', not {self.prior!r}.")
        if self.estimate not in ("mean", "map"):
            raise ValueError(f"`estimate` must be 'mean' or 'map', not {self.estimate!r}.")
        if int(self.n_bins) < 2:
            raise ValueError(f"`n_bins` must be >= 2, got {self.n_bins!r}.")
        values, template = self._rows(X, fitting=True)
        target = self._target(y, X, values.shape[0], numeric=True)
        if target.ndim != 1:
            raise ValueError("PoissonBayesDecoder decodes one variable; `y` has "
                             f"{target.shape[1]} columns.")
        ok = np.isfinite(target)
        if not ok.any():
            raise ValueError("`y` has no finite value.")
        lo, hi = (np.nanmin(target), np.nanmax(target)) if self.value_range is None \
            else map(float, self.value_range)
        if not hi > lo:
            raise ValueError(f"the grid range ({lo}, {hi}) is empty; set `value_range`.")
        self.edges_ = np.linspace(lo, hi, int(self.n_bins) + 1)
        self.centers_ = (self.edges_[:-1] + self.edges_[1:]) / 2
        tuning, occupancy = occupancy_tuning_curves(values[ok], target[ok], self.edges_,
                                                    smoothing=float(self.smoothing),
                                                    pseudocount=float(self.pseudocount))
        self.tuning_curves_ = tuning.T
        self.occupancy_ = occupancy
        visited = occupancy > 0
        with np.errstate(divide="ignore"):
            self.log_prior_ = np.where(visited, 0.0, -np.inf) if self.prior == "flat" \
                else np.log(occupancy / occupancy.sum())
        bin_size = template.attrs.get("bin_size") if template is not None else None
        self.bin_size_ = None if bin_size is None else float(bin_size)
        self._restore()
        return self

    def _restore(self):
        self.log_prior_ = np.asarray(self.log_prior_, dtype=np.float64)
        self.preferred_values_ = self.centers_[np.argmax(self.tuning_curves_, axis=1)]

    def _log_posterior(self, X):
        self._check_fitted()
        values, template = self._rows(X, fitting=False)
        return poisson_log_posterior(values, self.tuning_curves_.T, self.log_prior_), template

    def predict_proba(self, X):
        """Posterior over the grid, shape (n_samples, n_bins); a DataArray with a ``grid``
        dim (coord = bin centres) when ``X`` is one."""
        logp, template = self._log_posterior(X)
        return self._wrap(np.exp(logp), template, "posterior", extra_dims=("grid",),
                          extra_coords={"grid": self.centers_})

    def predict(self, X):
        """Posterior mean or MAP estimate of the variable, one per sample."""
        logp, template = self._log_posterior(X)
        if self.estimate == "map":
            pred = self.centers_[np.argmax(logp, axis=1)]
        else:
            pred = np.exp(logp) @ self.centers_
        return self._wrap(pred, template, "decoded")


class PoissonBayesClassifier(_SpikeDecoderMixin, BaseEstimator):
    """Decode a discrete label with a Poisson naive-Bayes model (one mean count per class).

    Parameters
    ----------
    pseudocount : float
        Gamma-prior strength (samples) pulling each class's mean towards the unit's mean.
    prior : {"flat", "empirical"}
        Class prior: uniform or the training frequencies.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(0, 3, 600)
    >>> X = rng.poisson(np.array([[5, 1, 1], [1, 5, 1], [1, 1, 5]])[labels])
    >>> clf = PoissonBayesClassifier().fit(X[:400], labels[:400])
    >>> float(np.mean(clf.predict(X[400:]) == labels[400:])) > 0.9
    True
    """

    _task = "classification"
    _counts_only = True

    def __init__(self, *, pseudocount: float = 1.0, prior: str = "flat"):
        self.pseudocount = pseudocount
        self.prior = prior

    def fit(self, X, y):
        if self.prior not in ("flat", "empirical"):
            raise ValueError(f"`prior` must be 'flat' or 'empirical', not {self.prior!r}.")
        values, _ = self._rows(X, fitting=True)
        target = self._target(y, X, values.shape[0], numeric=False)
        self.classes_, index = np.unique(target, return_inverse=True)
        n_classes = self.classes_.size
        summed = np.zeros((n_classes, values.shape[1]))
        np.add.at(summed, index, values)
        n = np.bincount(index, minlength=n_classes).astype(np.float64)
        a = float(self.pseudocount)
        self.tuning_curves_ = ((summed + a * values.mean(axis=0)) / (n + a)[:, None]).T
        self.log_prior_ = np.zeros(n_classes) if self.prior == "flat" else np.log(n / n.sum())
        return self

    def predict_proba(self, X):
        """Class posterior, shape (n_samples, n_classes) (DataArray dim ``class``)."""
        self._check_fitted()
        values, template = self._rows(X, fitting=False)
        post = np.exp(poisson_log_posterior(values, self.tuning_curves_.T, self.log_prior_))
        return self._wrap(post, template, "posterior", extra_dims=("class",),
                          extra_coords={"class": self.classes_})

    def predict(self, X):
        """Most probable class per sample."""
        self._check_fitted()
        values, template = self._rows(X, fitting=False)
        logp = poisson_log_posterior(values, self.tuning_curves_.T, self.log_prior_)
        return self._wrap(self.classes_[np.argmax(logp, axis=1)], template, "decoded")


# ------------------------------------------------------------------ kNN and ridge
class KNNDecoder(_SpikeDecoderMixin, BaseEstimator):
    """k-nearest-neighbour decoder on (optionally standardised) spike counts.

    A thin wrapper over :class:`sklearn.neighbors.KNeighborsRegressor` /
    ``KNeighborsClassifier`` that takes spike tensors.

    Parameters
    ----------
    n_neighbors : int
    weights : {"uniform", "distance"}
    task : {"regression", "classification"}
    standardize : bool
        Scale every unit to zero mean and unit variance (training statistics) first.
    metric : str
        Any metric ``sklearn.neighbors`` accepts.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.uniform(0, 1, 500)
    >>> X = rng.poisson(np.c_[10 * y, 10 * (1 - y)] + 0.5)
    >>> dec = KNNDecoder(n_neighbors=15).fit(X[:400], y[:400])
    >>> float(np.median(np.abs(dec.predict(X[400:]) - y[400:]))) < 0.15
    True
    """

    def __init__(self, n_neighbors: int = 10, *, weights: str = "uniform",
                 task: str = "regression", standardize: bool = True,
                 metric: str = "minkowski"):
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.task = task
        self.standardize = standardize
        self.metric = metric

    @property
    def _task(self):
        return self.task

    def fit(self, X, y):
        self.train_X_, self.train_y_ = self._standardized_training_rows(X, y)
        self._restore()
        return self

    def _restore(self):
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        cls = KNeighborsRegressor if self.task == "regression" else KNeighborsClassifier
        self.model_ = cls(n_neighbors=self.n_neighbors, weights=self.weights,
                          metric=self.metric).fit(self.train_X_, self.train_y_)
        if self.task == "classification":
            self.classes_ = self.model_.classes_

    def predict(self, X):
        self._check_fitted()
        values, template = self._rows(X, fitting=False)
        return self._wrap(self.model_.predict((values - self.mean_) / self.scale_), template,
                          "decoded")

    @available_if(lambda self: self.task == "classification")
    def predict_proba(self, X):
        """Class probabilities (only with ``task="classification"``), (n_samples, n_classes)."""
        self._check_fitted()
        values, template = self._rows(X, fitting=False)
        proba = self.model_.predict_proba((values - self.mean_) / self.scale_)
        return self._wrap(proba, template, "probability", extra_dims=("class",),
                          extra_coords={"class": self.classes_})


class RidgeDecoder(_SpikeDecoderMixin, BaseEstimator):
    """Linear (ridge) decoder on standardised spike counts; regression or classification.

    Fitted with :class:`sklearn.linear_model.Ridge` / ``RidgeClassifier``; the learned
    weights are kept as arrays, so predicting is one matrix product.

    Parameters
    ----------
    alpha : float
        L2 penalty.
    task : {"regression", "classification"}
    standardize : bool
        Scale every unit to zero mean and unit variance (training statistics) first.

    Attributes
    ----------
    coef_ : ndarray, shape (n_outputs, n_units)
    intercept_ : ndarray, shape (n_outputs,)
    classes_ : ndarray (classification)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.uniform(0, 1, 500)
    >>> X = rng.poisson(np.c_[30 * y, 30 * (1 - y)] + 0.5)
    >>> dec = RidgeDecoder(alpha=1.0).fit(X[:400], y[:400])
    >>> dec.score(X[400:], y[400:]) > 0.85
    True
    """

    def __init__(self, alpha: float = 1.0, *, task: str = "regression",
                 standardize: bool = True):
        self.alpha = alpha
        self.task = task
        self.standardize = standardize

    @property
    def _task(self):
        return self.task

    def fit(self, X, y):
        from sklearn.linear_model import Ridge, RidgeClassifier

        z, target = self._standardized_training_rows(X, y)
        if self.task == "regression":
            model = Ridge(alpha=self.alpha).fit(z, target)
            self.n_outputs_ = 1 if target.ndim == 1 else target.shape[1]
        else:
            model = RidgeClassifier(alpha=self.alpha).fit(z, target)
            self.classes_ = model.classes_
            self.n_outputs_ = 1
        self.coef_ = np.atleast_2d(model.coef_)
        self.intercept_ = np.atleast_1d(model.intercept_).astype(np.float64)
        return self

    @available_if(lambda self: self.task == "classification")
    def decision_function(self, X):
        """Class scores ``z @ coef_.T + intercept_`` on standardised counts ``z``
        (only with ``task="classification"``).

        Shape (n_samples,) for one output or a binary classifier, else
        (n_samples, n_outputs) (DataArray dim ``output``).
        """
        scores, template = self._scores(X)
        return self._wrap(scores[:, 0] if scores.shape[1] == 1 else scores, template,
                          "decision")

    def _scores(self, X):
        self._check_fitted()
        values, template = self._rows(X, fitting=False)
        return ((values - self.mean_) / self.scale_) @ self.coef_.T + self.intercept_, template

    def predict(self, X):
        scores, template = self._scores(X)
        if self.task == "classification":
            index = (scores[:, 0] > 0).astype(int) if scores.shape[1] == 1 else \
                np.argmax(scores, axis=1)
            return self._wrap(self.classes_[index], template, "decoded")
        pred = scores[:, 0] if self.n_outputs_ == 1 else scores
        return self._wrap(pred, template, "decoded")
