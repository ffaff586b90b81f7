"""neurodecode: analyse and decode neural population recordings.

NWB files and Allen Brain Observatory sessions are read into a
:class:`~neurodecode.data.Session`, binned or aligned into ``xarray`` spike
tensors, and fed to latent-variable models and decoders.

Submodules and the most used names are imported on first use, so
``import neurodecode`` stays fast and pulls in neither torch, pynwb nor
matplotlib.

Examples
--------
>>> import neurodecode as nd
>>> st = nd.SpikeTrains.from_list([[0.1, 0.4], [0.2]])
>>> nd.Session(st).bin(0.25, start=0.0, stop=0.5).sum().item()
3
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0.dev0"

_SUBMODULES = {"data", "io", "datasets", "models", "decoders", "metrics", "plot", "pipeline",
               "errors", "cli"}
_NAMES = {
    "SpikeTrains": "neurodecode.data",
    "Session": "neurodecode.data",
    "validate_spike_tensor": "neurodecode.data",
    "read_nwb": "neurodecode.io",
    "write_nwb": "neurodecode.io",
}

__all__ = sorted(_SUBMODULES | set(_NAMES) | {"__version__"})


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"neurodecode.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'neurodecode' has no attribute {name!r}")


def __dir__():
    return __all__
