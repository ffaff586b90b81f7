"""Decoders: neural activity → labels, behaviour, images, video (fit / predict)."""

from __future__ import annotations

import importlib

_NAMES: dict[str, str] = {}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'neurodecode.decoders' has no attribute {name!r}")


def __dir__():
    return __all__
