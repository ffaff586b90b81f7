"""An Allen-scale session binned epoch by epoch, never as one dense matrix.

Builds spike trains of Visual Coding Neuropixels size (default 2,800 units,
130 M spikes over 3 h), then bins it at 10 ms one epoch at a time with
``Session.bin(epoch=...)`` and prints, per epoch and overall, the time taken and
the process's peak memory next to the size a whole-session count matrix would
have had. pynapple is timed on the first epoch for comparison (``--no-peer`` to
skip it: building its TsGroup copies all 130 M spikes).

Run: ``python benchmarks/bench_allen_scale.py [--units 2800 --spikes 130000000]``
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def make_spike_trains(n_units: int, n_spikes: int, duration: float, seed: int = 0):
    """Sorted Poisson-like trains per unit, written straight into the flat layout."""
    from neurodecode.data import SpikeTrains

    rng = np.random.default_rng(seed)
    rates = rng.lognormal(0.0, 1.0, n_units)
    counts = rng.multinomial(n_spikes, rates / rates.sum())
    offsets = np.concatenate([[0], np.cumsum(counts)])
    times = np.empty(n_spikes)
    for u in range(n_units):  # uniform order statistics per unit, sorted in place
        seg = times[offsets[u]:offsets[u + 1]]
        seg[:] = rng.uniform(0.0, duration, seg.size)
        seg.sort()
    return SpikeTrains(times, offsets, sort="assume")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=2800)
    parser.add_argument("--spikes", type=int, default=130_000_000)
    parser.add_argument("--duration", type=float, default=3 * 3600.0, help="seconds")
    parser.add_argument("--epoch", type=float, default=600.0, help="epoch length, seconds")
    parser.add_argument("--bin-size", type=float, default=0.01)
    parser.add_argument("--no-peer", action="store_true", help="skip the pynapple timing")
    args = parser.parse_args(argv)

    import pandas as pd

    from neurodecode.data import Session

    t0 = time.perf_counter()
    spikes = make_spike_trains(args.units, args.spikes, args.duration)
    starts = np.arange(0.0, args.duration, args.epoch)
    epochs = pd.DataFrame({"start_time": starts,
                           "stop_time": np.minimum(starts + args.epoch, args.duration)})
    session = Session(spikes, intervals={"epochs": epochs})
    print(f"built {spikes.n_units} units, {spikes.n_spikes:,} spikes over {args.duration:g} s "
          f"in {time.perf_counter() - t0:.1f} s; spike times take "
          f"{spikes.times.nbytes / 1024**3:.2f} GB; peak RSS {peak_rss_gb():.2f} GB")
    whole = int(args.duration / args.bin_size) * spikes.n_units
    print(f"a whole-session {args.bin_size * 1000:g} ms count matrix would be {whole:,} cells "
          f"({whole / 1024**3:.1f} GB even as uint8)")

    times, total = [], 0
    for row in range(len(epochs)):
        t = time.perf_counter()
        X = session.bin(args.bin_size, epoch=("epochs", row))
        times.append(time.perf_counter() - t)
        total += int(X.sum())
        del X
    assert total == spikes.n_spikes, "every spike must be counted exactly once"
    print(f"binned {len(epochs)} epochs of {args.epoch:g} s: median {np.median(times):.2f} s "
          f"per epoch, {sum(times):.1f} s in all, all {total:,} spikes counted once; "
          f"peak RSS {peak_rss_gb():.2f} GB")

    if not args.no_peer:
        import pynapple as nap

        group = nap.TsGroup({u: nap.Ts(t=spikes[u]) for u in range(spikes.n_units)})
        ep = nap.IntervalSet(start=epochs.start_time.iloc[0], end=epochs.stop_time.iloc[0])
        t = time.perf_counter()
        group.count(args.bin_size, ep)
        t_nap = time.perf_counter() - t
        print(f"first epoch: neurodecode {times[0]:.2f} s, pynapple TsGroup.count {t_nap:.2f} s, "
              f"ratio {t_nap / times[0]:.1f}x; peak RSS {peak_rss_gb():.2f} GB")


if __name__ == "__main__":
    main()
