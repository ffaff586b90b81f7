"""Shared fixtures: the real recordings in ../shared/data, quiet single-threaded torch."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# Before anything imports torch: one thread (2 shared cores; 2 threads measured 3-8x slower).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]


def _shared_data() -> Path:
    env = os.environ.get("NEURODECODE_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


SHARED_DATA = _shared_data()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of real recordings (see its README); tests that need it skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (set NEURODECODE_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _single_thread_torch():
    """Torch with 2 threads was measured 3-8x slower than 1 on the 2-core CI machines."""
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run tests marked slow (long recovery / benchmark-scale runs)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow") or os.environ.get("NEURODECODE_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (or NEURODECODE_RUN_SLOW=1)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
