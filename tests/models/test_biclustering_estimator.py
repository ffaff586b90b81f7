"""BayesianBiclustering: input checks, outputs, determinism, checkpoint/resume, recovery."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurodecode.datasets.biclustering import make_biclustering_data
from neurodecode.errors import SpikeTensorError
from neurodecode.models import BayesianBiclustering


@pytest.fixture(scope="module")
def small():
    return make_biclustering_data(n_clusters=2, neurons_per_cluster=4, n_time=80,
                                  random_state=3)


def _model(**kw):
    params = dict(n_iter=8, n_chains=2, n_jobs=1, max_states=3, verbose=False, random_state=0,
                  checkpoint_every=4, label_warmup=2)
    params.update(kw)
    return BayesianBiclustering(**params)


@pytest.mark.parametrize("bad,match", [
    (lambda X: X.values.astype(float) + 0.5, "non-integer"),
    (lambda X: -X.values, "negative"),
    (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X.values), "NaN"),
    (lambda X: X.values[:, :1], "at least 2"),
    (lambda X: X.values[:2], "fewer than `max_states`"),
    (lambda X: X.values[None], "expected"),
])
def test_bad_input_raises_clear_error(small, bad, match):
    X, _ = small
    with pytest.raises(SpikeTensorError, match=match):
        _model().fit(bad(X))


def test_bad_parameters_raise(small):
    X, _ = small
    with pytest.raises(ValueError, match="n_iter"):
        _model(n_iter=0).fit(X)
    with pytest.raises(ValueError, match="dispersion"):
        _model(dispersion=-1.0).fit(X)
    with pytest.raises(ValueError, match="state_moves"):
        _model(state_moves=-1).fit(X)
    with pytest.raises(ValueError, match="dynamics"):
        _model(dynamics="full").fit(X)
    with pytest.raises(ValueError, match="split_merge"):
        _model(dynamics="coupled", split_merge=2).fit(X)


def test_coupled_dynamics_run_deterministically_and_resume(small, tmp_path):
    """dynamics='coupled': stacked dynamics in the chain states, same seed same draws, and a
    checkpointed run resumes bit-for-bit."""
    X, _ = small
    full = _model(dynamics="coupled").fit(X)
    for st in full.chain_states_:
        K, d = st["x"].shape[0], st["x"].shape[2]
        assert st["A"].shape == (1, 3, K * d, K * d) and st["b"].shape == (1, 3, K * d)
    path = tmp_path / "chain.npz"
    _model(dynamics="coupled", n_iter=4, checkpoint=path).fit(X)
    resumed = _model(dynamics="coupled", checkpoint=path).fit(X)
    np.testing.assert_array_equal(resumed.trace_["loglik"], full.trace_["loglik"])
    np.testing.assert_array_equal(resumed.label_samples_, full.label_samples_)


def test_state_moves_and_sticky_resampling_run_deterministically(small):
    """The collapsed state moves and learned sticky hyper-parameters: same seed, same draws."""
    X, _ = small
    a = _model(state_moves=5, resample_sticky=True).fit(X)
    b = _model(state_moves=5, resample_sticky=True).fit(X)
    np.testing.assert_array_equal(a.state_samples_, b.state_samples_)
    sticky = np.array([st["sticky"] for st in a.chain_states_])
    assert sticky.shape == (2, 2) and np.all(sticky > 0)
    assert not np.allclose(sticky, [a.hdp_alpha, a.sticky_kappa])  # learned, not fixed


def test_fit_outputs_shapes_coords_and_determinism(small):
    X, _ = small
    model = _model().fit(X)
    N, T = X.sizes["unit"], X.sizes["time"]
    assert model.labels_.dims == ("unit",) and np.array_equal(model.labels_["unit"], X["unit"])
    assert model.states_.dims == ("time",) and model.states_.sizes["time"] == T
    assert model.neuron_coclustering_.shape == (N, N)
    assert np.allclose(np.diag(model.time_coclustering_), 1.0)
    assert model.label_samples_.shape == (2, 4, N)
    assert model.trace_["loglik"].shape == (2, 8)
    assert set(model.posterior_.posterior.data_vars) >= {"n_clusters", "loglik", "dispersion"}
    assert {"r_hat", "ess_bulk"} <= set(model.diagnostics_.columns)
    again = _model().fit(X.values)
    assert isinstance(again.labels_, np.ndarray)
    np.testing.assert_array_equal(again.label_samples_, model.label_samples_)
    np.testing.assert_array_equal(again.trace_["loglik"], model.trace_["loglik"])


def test_parallel_chains_match_in_process(small):
    X, _ = small
    serial = _model(n_iter=4).fit(X)
    parallel = _model(n_iter=4, n_jobs=2).fit(X)
    np.testing.assert_array_equal(serial.trace_["loglik"], parallel.trace_["loglik"])


def test_checkpoint_resume_loses_nothing(small, tmp_path):
    X, _ = small
    full = _model().fit(X)
    path = tmp_path / "chain.npz"
    first = _model(n_iter=4, checkpoint=path)
    first.fit(X)
    assert path.exists() and first.n_iter_done_ == 4
    # a longer run with the same data/parameters continues the saved chains
    resumed = _model(checkpoint=path)
    resumed.fit(X)
    assert resumed.n_iter_done_ == 8
    np.testing.assert_array_equal(resumed.trace_["loglik"], full.trace_["loglik"])


def test_interrupt_keeps_draws_and_resumes(small, tmp_path, monkeypatch):
    import neurodecode.models.biclustering.estimator as est

    X, _ = small
    full = _model().fit(X)
    path = tmp_path / "chain.npz"
    calls = {"n": 0}
    real = est.run_chunk

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 3:  # first chunk of both chains done, then Ctrl-C
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(est, "run_chunk", flaky)
    with pytest.warns(UserWarning, match="interrupted after 4"):
        partial = _model(checkpoint=path).fit(X)
    assert partial.n_iter_done_ == 4
    monkeypatch.setattr(est, "run_chunk", real)
    resumed = _model(checkpoint=path).fit(X)
    np.testing.assert_array_equal(resumed.trace_["loglik"], full.trace_["loglik"])


def test_checkpoint_for_other_data_is_not_used(small, tmp_path):
    X, _ = small
    path = tmp_path / "chain.npz"
    _model(n_iter=4, checkpoint=path).fit(X)
    other = xr.DataArray(X.values[::-1].copy(), dims=X.dims, coords=X.coords, attrs=X.attrs)
    with pytest.warns(UserWarning, match="other data"):
        model = _model(n_iter=4, checkpoint=path).fit(other)
    assert model.n_iter_done_ == 4


def test_save_load_roundtrip(small, tmp_path):
    X, _ = small
    model = _model(n_iter=4).fit(X)
    path = model.save(tmp_path / "bicluster.zip")
    loaded = BayesianBiclustering.load(path)
    assert loaded.get_params() == model.get_params()
    xr.testing.assert_identical(loaded.labels_, model.labels_)
    np.testing.assert_array_equal(loaded.time_coclustering_, model.time_coclustering_)
    np.testing.assert_array_equal(loaded.trace_["loglik"], model.trace_["loglik"])
    np.testing.assert_allclose(loaded.diagnostics_.values, model.diagnostics_.values)
    with pytest.raises(RuntimeError, match="not fitted"):
        _model().save(tmp_path / "x.zip")
