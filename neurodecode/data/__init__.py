"""Spike data model: ragged spike trains, sessions, binning, alignment, tensor checks."""

from neurodecode.data.behavior import resample_series
from neurodecode.data.binning import align_spike_trains, bin_spike_trains
from neurodecode.data.session import Session
from neurodecode.data.spiketrains import SpikeTrains
from neurodecode.data.tensor import (
    spike_tensor_values,
    to_pynapple,
    validate_spike_tensor,
)

__all__ = [
    "SpikeTrains",
    "Session",
    "bin_spike_trains",
    "align_spike_trains",
    "resample_series",
    "validate_spike_tensor",
    "spike_tensor_values",
    "to_pynapple",
]
