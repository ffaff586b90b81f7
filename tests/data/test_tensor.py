import numpy as np
import pytest
import xarray as xr

from neurodecode.data import spike_tensor_values, to_pynapple, validate_spike_tensor
from neurodecode.errors import SpikeTensorError


def make(values, dims=("time", "unit"), **attrs):
    coords = {d: np.arange(n) for d, n in zip(dims, np.shape(values), strict=True)}
    return xr.DataArray(values, dims=dims, coords=coords, attrs={"bin_size": 0.1, **attrs})


def test_accepts_both_layouts():
    validate_spike_tensor(make(np.zeros((5, 3), np.uint8)))
    validate_spike_tensor(make(np.zeros((2, 5, 3), np.uint16), ("trial", "time", "unit")))


@pytest.mark.parametrize("X, message", [
    (np.zeros((5, 3)), "must be an xarray.DataArray"),
    (make(np.zeros((3, 5)), ("unit", "time")), r"'unit' last"),
    (make(np.array([[1.0, np.nan]])), "NaN"),
    (make(np.array([[1, -1]])), "negative"),
    (make(np.zeros((0, 2))), "at least 1"),
    (make(np.zeros((2, 2)), bin_size=-1.0), "bin_size"),
    (make(np.array([["a", "b"]])), "dtype"),
])
def test_errors_name_the_argument(X, message):
    with pytest.raises(SpikeTensorError, match=message) as info:
        validate_spike_tensor(X, name="spikes")
    assert "spikes" in str(info.value)


def test_missing_coord_is_reported():
    X = xr.DataArray(np.zeros((2, 2)), dims=("time", "unit"))
    with pytest.raises(SpikeTensorError, match="no 'time' coordinate"):
        validate_spike_tensor(X)


def test_float_rejected_when_counts_required():
    with pytest.raises(SpikeTensorError, match="integer spike counts"):
        validate_spike_tensor(make(np.zeros((2, 2))), allow_float=False)


def test_values_from_arrays_and_tensors():
    assert spike_tensor_values(make(np.ones((4, 2), np.uint8))).dtype == np.float32
    assert spike_tensor_values([[1, 2], [3, 4]]).shape == (2, 2)
    with pytest.raises(SpikeTensorError, match="shape"):
        spike_tensor_values(np.zeros(3))
    with pytest.raises(SpikeTensorError, match="NaN"):
        spike_tensor_values(np.array([[np.inf, 1.0]]))


def test_to_pynapple():
    pytest.importorskip("pynapple")
    X = make(np.arange(6, dtype=np.uint8).reshape(3, 2))
    frame = to_pynapple(X)
    np.testing.assert_array_equal(np.asarray(frame.values), X.values)
