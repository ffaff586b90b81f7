"""Metrics: decoding, reconstruction, latent recovery, clustering, event detection.

One submodule per family (``decoding``, ``clustering``, ``events``, ``embedding``,
``reconstruction``); every public name is importable from ``neurodecode.metrics``.
"""

from __future__ import annotations

import importlib

_NAMES: dict[str, str] = {}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'neurodecode.metrics' has no attribute {name!r}")


def __dir__():
    return __all__
