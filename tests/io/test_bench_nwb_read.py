"""The read benchmark script runs and its readers agree (a smoke test, not a timing)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_nwb_read.py"


def test_benchmark_script_runs_small():
    spec = importlib.util.spec_from_file_location("bench_nwb_read", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    line = module.main(["--units", "20", "--spikes", "2000", "--repeats", "1"])
    assert line.startswith("bench_nwb_read units=20 spikes=2000 ")
    assert "ratio_read_nwb/h5py=" in line
