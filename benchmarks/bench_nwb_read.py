"""Reading all spike times of a large NWB file: neurodecode.io.read_nwb vs raw h5py (and pynwb).

Writes an NWB file with a Units table only (``--units`` units, ``--spikes`` spikes in total,
Poisson-like sorted times) with :func:`neurodecode.io.write_nwb` into a temporary
folder, then times, best of ``--repeats`` interleaved rounds (page cache warm for all):

- ``h5py``: open the file, read ``units/spike_times`` and ``units/spike_times_index``
  whole (the floor any reader must pay);
- ``read_nwb``: the full neurodecode read (spikes checked for order/NaN, units
  table, intervals, behaviour, metadata) into a Session;
- ``read_nwb(mmap=True)``: the same with spike_times mapped copy-on-write
  instead of copied (every page is still touched by the order check);
- ``pynwb``: ``NWBHDF5IO(...).read()`` and the units' spike times and index as
  arrays (for context; its open builds every container).

Prints one line: ``bench_nwb_read units=... spikes=... h5py=...s read_nwb=...s
pynwb=...s ratio_read_nwb/h5py=... (target <= 1.5) cpu_ratio=... read_nwb(mmap=True)=...s
ratio_mmap/h5py=... ratio_pynwb/read_nwb=...``
(times are the best wall-clock time; ``cpu_ratio`` compares best CPU time, which a
busy shared machine disturbs less).

Usage: ``python benchmarks/bench_nwb_read.py [--units 1000] [--spikes 10000000]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np


def make_session(n_units: int, n_spikes: int, seed: int = 0, columns: bool = False):
    from neurodecode.data import Session, SpikeTrains

    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_spikes, rng.dirichlet(np.ones(n_units)))
    duration = 3600.0
    times = rng.uniform(0.0, duration, n_spikes)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    labels = np.repeat(np.arange(n_units), counts)
    times = times[np.lexsort((times, labels))]
    import pandas as pd

    units = None
    if columns:
        units = pd.DataFrame({"brain_area": rng.choice(["CA1", "V1", "LP"], n_units),
                              "quality": rng.choice(["good", "mua"], n_units)},
                             index=pd.Index(np.arange(n_units), name="unit_id"))
    return Session(SpikeTrains(times, offsets, np.arange(n_units), sort="assume"), units)


def read_h5py(path):
    with h5py.File(path, "r") as f:
        times = f["units/spike_times"][()]
        index = f["units/spike_times_index"][()].astype(np.int64)
    return times, index


def read_neurodecode(path):
    from neurodecode.io import read_nwb

    return read_nwb(path)


def read_neurodecode_mmap(path):
    from neurodecode.io import read_nwb

    return read_nwb(path, mmap=True)


def read_pynwb(path):
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        times = nwbfile.units["spike_times"].target.data[()]
        index = nwbfile.units["spike_times"].data[()]
    return times, index


def best_times(readers: dict, path, repeats: int) -> dict:
    """Best wall time of each reader; repetitions interleaved so load spikes hit all alike."""
    best = {name: [np.inf, np.inf] for name in readers}  # wall, CPU (all threads)
    for _ in range(repeats):
        for name, fn in readers.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn(path)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
    return best


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--spikes", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--no-pynwb", action="store_true", help="skip the pynwb timing")
    parser.add_argument("--columns", action="store_true",
                        help="also store brain_area and quality text columns (read_nwb reads "
                             "them, the raw h5py read does not)")
    args = parser.parse_args(argv)

    from neurodecode.io import write_nwb

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.nwb"
        session = make_session(args.units, args.spikes, columns=args.columns)
        write_nwb(session, path)
        del session
        # Same numbers from both readers before timing anything.
        times, index = read_h5py(path)
        s = read_neurodecode(path)
        assert np.array_equal(s.spikes.times, times)
        assert np.array_equal(s.spikes.offsets[1:], index)
        del s, times, index
        readers = {"h5py": read_h5py, "read_nwb": read_neurodecode,
                   "read_nwb_mmap": read_neurodecode_mmap}
        if not args.no_pynwb:
            readers["pynwb"] = read_pynwb
        best = best_times(readers, path, args.repeats)
    (t_h5, c_h5), (t_nd, c_nd) = best["h5py"], best["read_nwb"]
    t_mm = best["read_nwb_mmap"][0]
    t_py = best["pynwb"][0] if "pynwb" in best else np.nan
    line = (f"bench_nwb_read units={args.units} spikes={args.spikes} columns={args.columns} "
            f"h5py={t_h5:.4f}s read_nwb={t_nd:.4f}s pynwb={t_py:.4f}s "
            f"ratio_read_nwb/h5py={t_nd / t_h5:.2f} (target <= 1.5) "
            f"cpu_ratio={c_nd / c_h5:.2f} read_nwb(mmap=True)={t_mm:.4f}s "
            f"ratio_mmap/h5py={t_mm / t_h5:.2f} ratio_pynwb/read_nwb={t_py / t_nd:.2f}")
    print(line)
    return line


if __name__ == "__main__":
    main()
