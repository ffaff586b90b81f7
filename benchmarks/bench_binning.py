"""Binning and event alignment: neurodecode against pynapple, same data, same process.

Builds a synthetic population (default 1,000 units, 10 M spikes) and times
1. continuous binning at 10 ms: ``Session.bin`` vs ``TsGroup.count``;
2. an event-aligned tensor (default 2,000 trials x 1,000 units x 40 bins):
   ``Session.align`` vs ``pynapple.build_tensor``.
Counts are checked to be identical, and one line per task is printed with the
median time of each package and their ratio (pynapple / neurodecode).

Run: ``python benchmarks/bench_binning.py [--units 1000 --spikes 10000000 --trials 2000]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def median_time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), result


def make_population(n_units: int, n_spikes: int, duration: float, seed: int = 0):
    """Spike trains with log-normal rates summing to ``n_spikes`` spikes."""
    from neurodecode.data import SpikeTrains

    rng = np.random.default_rng(seed)
    rates = rng.lognormal(0.0, 0.8, n_units)
    counts = rng.multinomial(n_spikes, rates / rates.sum())
    labels = np.repeat(np.arange(n_units), counts)
    times = rng.uniform(0.0, duration, n_spikes)
    return SpikeTrains.from_labels(times, labels)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--spikes", type=int, default=10_000_000)
    parser.add_argument("--duration", type=float, default=1000.0, help="seconds")
    parser.add_argument("--bin-size", type=float, default=0.01)
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--trial-bins", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    import pynapple as nap

    from neurodecode.data import Session

    spikes = make_population(args.units, args.spikes, args.duration)
    session = Session(spikes)
    group = nap.TsGroup({i: nap.Ts(t=spikes[i]) for i in range(spikes.n_units)})
    print(f"data: {spikes.n_units} units, {spikes.n_spikes:,} spikes over {args.duration:g} s; "
          f"pynapple {nap.__version__}")

    # 1. continuous binning
    start, stop = 0.0, args.duration
    t_nd, X = median_time(lambda: session.bin(args.bin_size, start=start, stop=stop),
                          args.repeats)
    epoch = nap.IntervalSet(start=start, end=stop)
    t_nap, counts = median_time(lambda: group.count(args.bin_size, epoch), args.repeats)
    nap_counts = np.asarray(counts.values)
    n = min(len(nap_counts), X.sizes["time"])  # pynapple may add a partial last bin
    same = np.array_equal(nap_counts[:n].astype(np.int64), X.values[:n].astype(np.int64))
    print(f"bin      {X.sizes['time']} bins x {X.sizes['unit']} units: neurodecode "
          f"{t_nd:.3f} s, pynapple {t_nap:.3f} s, ratio {t_nap / t_nd:.1f}x, "
          f"identical counts: {same}")

    # 2. event-aligned tensor; pynapple needs non-overlapping trials
    window = args.trial_bins * args.bin_size
    rng = np.random.default_rng(1)
    spacing = 1.125 * window  # non-overlapping windows with a small random gap
    slots = np.sort(rng.choice(int((args.duration - spacing) / spacing), args.trials,
                               replace=False))
    events = slots * spacing + rng.uniform(0, window / 10, args.trials)
    t_nd, Y = median_time(lambda: session.align(events, (0.0, window), args.bin_size),
                          args.repeats)
    trials = nap.IntervalSet(start=events, end=events + window)
    t_nap, tensor = median_time(lambda: nap.build_tensor(group, trials, bin_size=args.bin_size),
                                args.repeats)
    nap_tensor = np.moveaxis(np.nan_to_num(np.asarray(tensor), nan=-1), 0, -1)
    m = min(nap_tensor.shape[1], Y.sizes["time"])
    differ = nap_tensor[:, :m].astype(np.int64) != Y.values[:, :m].astype(np.int64)
    same = not differ.any()
    if not same:  # say where: pynapple keeps times to 1 ns, so spikes that close to an edge
        trials_units = {(int(k), int(u)) for k, _, u in np.argwhere(differ)}
        explained = 0
        for k, u in trials_units:
            edges = (events[k] + 0.0) + np.arange(args.trial_bins + 1) * args.bin_size
            near = np.abs(spikes[u][:, None] - edges[None, :]) < 1e-9
            explained += bool(near.any())
        print(f"  {int(differ.sum())} cells differ, in {len(trials_units)} (trial, unit) "
              f"pairs; {explained} of them have a spike within 1 ns of a bin edge, where "
              "pynapple's nanosecond time rounding decides the bin")
    print(f"align    {Y.sizes['trial']} trials x {Y.sizes['unit']} units x {Y.sizes['time']} bins: "
          f"neurodecode {t_nd:.3f} s, pynapple {t_nap:.3f} s, ratio {t_nap / t_nd:.1f}x, "
          f"identical counts: {same}")


if __name__ == "__main__":
    main()
