"""Exceptions and warnings raised by neurodecode.

Every error names the file, table or argument at fault and what was expected,
so that a user reading only the message knows what to fix.
"""

from __future__ import annotations

__all__ = [
    "NeurodecodeError",
    "NWBFormatError",
    "SpikeTensorError",
    "SpikeTimesWarning",
    "DataFormatError",
]


class NeurodecodeError(Exception):
    """Base class of all neurodecode errors."""


class DataFormatError(NeurodecodeError, ValueError):
    """A data file or table does not have the layout that was expected."""


class NWBFormatError(DataFormatError):
    """An NWB file cannot be read: not HDF5, not NWB, or a required table is missing."""


class SpikeTensorError(NeurodecodeError, ValueError):
    """A spike tensor (DataArray or array) breaks the spike-tensor contract."""


class SpikeTimesWarning(UserWarning):
    """Spike times were repaired on read (sorted, or NaNs dropped); the message names the units."""
