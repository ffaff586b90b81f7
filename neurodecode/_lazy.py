"""Lazy name→module exports for package ``__init__`` files (keeps ``import neurodecode`` light)."""

from __future__ import annotations

import importlib


def lazy_exports(package: str, names: dict[str, str]):
    """``(__getattr__, __dir__, __all__)`` for a package exporting ``names`` lazily.

    Parameters
    ----------
    package : str
        The package's ``__name__`` (for error messages).
    names : dict of str to str
        Public name → module that defines it; the module is imported on first access.

    Examples
    --------
    >>> getattr_, dir_, all_ = lazy_exports("pkg", {"sqrt": "math"})
    >>> getattr_("sqrt")(4.0), all_
    (2.0, ['sqrt'])
    """
    exported = sorted(names)

    def __getattr__(name: str):
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return exported

    return __getattr__, __dir__, exported
