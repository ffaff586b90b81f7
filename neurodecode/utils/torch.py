"""Torch helpers shared by the neural models: device choice and seeding.

Imported only by modules that already need torch.
"""

from __future__ import annotations

import numpy as np

__all__ = ["resolve_device", "seed_torch"]


def resolve_device(device: str = "auto"):
    """``"auto"`` → CUDA when available else CPU; ``"cpu"``/``"cuda"``/``"cuda:N"`` as given.

    Raises a clear error when CUDA is asked for but not available.
    """
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"`device`={device!r} but CUDA is not available; use 'cpu' or 'auto'.")
    return dev


def seed_torch(random_state) -> np.random.Generator:
    """Seed torch from ``random_state`` and return a numpy Generator drawn from the same seed.

    Same seed, same numbers on CPU: a torch.Generator is not enough because layers
    initialise from the global generator, so the global one is seeded too.
    """
    import torch

    rng = np.random.default_rng(random_state)
    torch.manual_seed(int(rng.integers(0, 2**62)))
    return rng
