"""The baseline decoders pass scikit-learn's estimator checks, except where spike-count
decoders deliberately differ (listed with the reason)."""

from __future__ import annotations

import pytest

sklearn_checks = pytest.importorskip("sklearn.utils.estimator_checks")

from neurodecode.decoders.baselines import (  # noqa: E402
    KNNDecoder,
    PoissonBayesClassifier,
    PoissonBayesDecoder,
    RidgeDecoder,
)

# Messages come from the shared spike-tensor validation, which names the argument and the
# expected layout instead of using scikit-learn's exact wording; 1-D targets given as a
# column are accepted without a warning; DataArray-like inputs are converted explicitly.
_COMMON = {
    "check_complex_data": "spike-tensor validation words the dtype error its own way",
    "check_dtype_object": "spike-tensor validation words the dtype error its own way",
    "check_fit2d_predict1d": "spike-tensor validation words the shape error its own way",
    "check_supervised_y_2d": "a (n, 1) target is taken as 1-D without a warning",
    "check_regressor_data_not_an_array": "inputs are converted with numpy, not duck-typed",
    "check_classifier_data_not_an_array": "inputs are converted with numpy, not duck-typed",
}
_POISSON_REGRESSION = {
    "check_regressors_train": "a Poisson count model; the check feeds Gaussian features",
    "check_regressors_no_decision_function": "predict_proba is the posterior over the grid",
    "check_fit2d_1sample": "one sample gives an empty grid; the error says so",
}


def _expected_failures(estimator):
    failures = dict(_COMMON)
    if isinstance(estimator, PoissonBayesDecoder):
        failures.update(_POISSON_REGRESSION)
    return failures


@sklearn_checks.parametrize_with_checks(
    [PoissonBayesDecoder(n_bins=5), PoissonBayesClassifier(), KNNDecoder(n_neighbors=3),
     KNNDecoder(n_neighbors=3, task="classification"), RidgeDecoder(),
     RidgeDecoder(task="classification")],
    expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)
