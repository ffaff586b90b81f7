from __future__ import annotations

import numpy as np

from neurodecode.data.tensor import validate_spike_tensor
from neurodecode.datasets.biclustering import make_biclustering_data


def test_simulator_contract_truth_and_determinism():
    X, truth = make_biclustering_data(n_clusters=3, neurons_per_cluster=4, n_time=300,
                                      random_state=5)
    validate_spike_tensor(X, dims=("time", "unit"), allow_float=False)
    assert X.shape == (300, 12) and X.dtype.kind == "i"
    np.testing.assert_array_equal(X["cluster"].values, np.repeat(np.arange(3), 4))
    assert truth["latents"].shape == (3, 300, 2) and truth["loadings"].shape == (12, 2)
    assert set(np.unique(truth["states"])) == {0, 1}
    X2, truth2 = make_biclustering_data(n_clusters=3, neurons_per_cluster=4, n_time=300,
                                        random_state=5)
    np.testing.assert_array_equal(X.values, X2.values)


def test_simulator_dynamics_match_the_paper():
    _, truth = make_biclustering_data(n_time=2000, mean_duration=50, random_state=0)
    A = truth["A"]
    np.testing.assert_allclose(A[:, 0], 0.01 * np.eye(2)[None].repeat(3, 0))
    for k in range(3):  # 1.01 R(pi/20) in a rotated basis: eigenvalues 1.01 e^{±i pi/20}
        eig = np.linalg.eigvals(A[k, 1])
        np.testing.assert_allclose(np.abs(eig), 1.01)
        np.testing.assert_allclose(np.sort(np.abs(np.angle(eig))), np.pi / 20)
    runs = np.diff(np.flatnonzero(np.diff(truth["states"])))
    assert 40 < runs.mean() < 60                          # durations ~ 50 bins
    assert np.all(np.diff(truth["states"])[np.diff(truth["states"]) != 0] != 0)
    # counts follow NB(r=10) around the rates: variance ≈ mean + mean²/r
    rates = truth["rates"]
    X, _ = make_biclustering_data(n_time=2000, mean_duration=50, random_state=0)
    resid = (X.values - rates) ** 2 - (rates + rates**2 / 10)
    assert abs(resid.mean()) < 0.1 * rates.mean()
