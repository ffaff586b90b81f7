"""The visual-cortex demo: simulate an Allen session → NWB → read → align to movie frames → decode.

Run it with ``neurodecode demo`` or :func:`run_visual_demo`. It identifies which
frame of a natural movie the (simulated) mouse was watching from the spikes of
held-out repeats, as in CEBRA's natural-movie benchmark (Schneider, Lee & Mathis
2023): a k-nearest-neighbour classifier on binned responses, trained on 9 repeats
and tested on the 10th, every repeat in turn; a frame counts as identified
"within 1 s" when the decoded frame is at most 30 frames (1 s at 30 frames/s)
from the true one.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from neurodecode.metrics.frames import frame_identification_chance
from neurodecode.pipeline.demo import demo_folders

__all__ = ["run_visual_demo", "frame_identification_chance", "VISUAL_DEMO_SETTINGS"]

#: Decoding settings: responses 0-500 ms after each frame onset in 100-ms bins,
#: square-root counts, kNN (k=15, cosine distance on standardised features),
#: leave-one-repeat-out; "within 1 s" = 30 frames at 30 frames/s.
VISUAL_DEMO_SETTINGS = {"window": (0.0, 0.5), "bin_size": 0.1, "n_neighbors": 15,
                        "metric": "cosine", "tolerance_frames": 30}


def _load(nwb_path):
    """The session and its per-frame movie table with ``frame`` and ``repeat``; the reader used."""
    try:
        from neurodecode.io.allen_ecephys import read_allen_ecephys
    except ImportError:  # the Allen reader is optional for this demo
        read_allen_ecephys = None
    if read_allen_ecephys is not None:
        session = read_allen_ecephys(nwb_path)
        return session, session.intervals["natural_movie_one"], "read_allen_ecephys"
    from neurodecode.io import read_nwb

    session = read_nwb(nwb_path)
    table = session.intervals["natural_movie_one_presentations"].copy()
    frame = table["frame"].to_numpy()
    table["repeat"] = np.cumsum(np.r_[0, np.diff(frame) < 0])
    return session, table, "read_nwb"


def run_visual_demo(out_dir=None, cache_dir=None, *, random_state: int = 0,
                    verbose: bool = True) -> dict:
    """Simulate a Visual Coding Neuropixels session and identify natural-movie frames from spikes.

    Steps: :func:`~neurodecode.datasets.make_visual_coding_session` writes a
    simulated session (~140 units in VISp, VISl, VISal, LGd and hippocampus;
    drifting gratings, a 10-s natural movie shown 10 times, natural scenes,
    spontaneous activity) to ``cache_dir`` in the Allen NWB layout; the Allen
    reader (:func:`~neurodecode.io.allen_ecephys.read_allen_ecephys`, AllenSDK's
    default unit filter) reads it back; spike counts 0-500 ms after every movie
    frame's onset (100-ms bins) are classified into frame identities by a
    :class:`~neurodecode.decoders.KNNDecoder`, leaving one repeat out at a time
    (:class:`~neurodecode.decoders.HeldOutGroups`); a figure of movie frames and
    true vs decoded frame index is saved in ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path, optional
        Where the figure goes; default ``./neurodecode_output``.
    cache_dir : str or Path, optional
        Where the NWB file goes; default :func:`~neurodecode.pipeline.demo.default_cache_dir`.
    random_state : int
        Simulation seed.
    verbose : bool
        Print progress and results.

    Returns
    -------
    dict
        ``nwb_path``, ``figure_path`` (Path); ``accuracy_within_1s`` and
        ``accuracy_exact`` (all held-out frames), ``chance_within_1s`` and
        ``chance_exact`` (uniform guessing), ``fold_accuracy_within_1s`` (per held-out
        repeat), ``median_error_frames``; ``n_units`` (after the unit filter),
        ``n_units_file``, ``n_frames``, ``n_repeats``, ``reader``; ``timings`` (s per
        step), ``elapsed_s``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> result = run_visual_demo(folder / "out", folder / "cache", verbose=False)
    >>> result["figure_path"].is_file(), result["accuracy_within_1s"] > 0.8
    (True, True)
    """
    from neurodecode.datasets.visual_cortex import make_visual_coding_session
    from neurodecode.decoders.baselines import KNNDecoder
    from neurodecode.decoders.cv import HeldOutGroups, cross_val_predict

    started = time.perf_counter()
    timings = {}
    say = print if verbose else (lambda *a, **k: None)
    cfg = VISUAL_DEMO_SETTINGS
    out_dir, cache_dir = demo_folders(out_dir, cache_dir)

    nwb_path = cache_dir / f"visual_coding_sim_seed{random_state}.nwb"
    say(f"[1/5] simulating a Visual Coding Neuropixels session (LNP units in VISp, VISl, VISal, "
        f"LGd; gratings, natural movie x10, scenes) -> {nwb_path}")
    tick = time.perf_counter()
    sim = make_visual_coding_session(random_state=random_state, path=nwb_path, overwrite=True)
    timings["simulate_and_write"] = time.perf_counter() - tick

    tick = time.perf_counter()
    session, movie_table, reader = _load(nwb_path)
    timings["read"] = time.perf_counter() - tick
    n_file = int(sim.session.n_units)
    say(f"[2/5] read back with {reader}: {session!r}")

    tick = time.perf_counter()
    X = session.align(movie_table, cfg["window"], cfg["bin_size"])
    frame = movie_table["frame"].to_numpy().astype(np.int64)
    repeat = movie_table["repeat"].to_numpy().astype(np.int64)
    features = np.sqrt(X.transpose("trial", "time", "unit").values.reshape(X.sizes["trial"], -1))
    timings["align"] = time.perf_counter() - tick
    n_frames, n_repeats = int(frame.max()) + 1, int(np.unique(repeat).size)
    say(f"[3/5] aligned to {X.sizes['trial']} movie-frame presentations ({n_frames} frames x "
        f"{n_repeats} repeats): {cfg['window'][1] * 1000:.0f} ms after onset in "
        f"{cfg['bin_size'] * 1000:.0f}-ms bins, {session.n_units} units")

    tick = time.perf_counter()
    decoder = KNNDecoder(n_neighbors=cfg["n_neighbors"], task="classification",
                         metric=cfg["metric"])
    decoded, folds = cross_val_predict(decoder, features, frame, cv=HeldOutGroups(),
                                       groups=repeat)
    decoded = decoded.astype(np.int64)
    timings["decode"] = time.perf_counter() - tick
    error = np.abs(decoded - frame)
    tol = cfg["tolerance_frames"]
    within = float(np.mean(error <= tol))
    exact = float(np.mean(error == 0))
    fold_within = [float(np.mean(error[folds == k] <= tol)) for k in np.unique(folds)]
    chance_within = frame_identification_chance(n_frames, tol)
    chance_exact = frame_identification_chance(n_frames, 0)
    say(f"[4/5] kNN frame identification, leave-one-repeat-out ({n_repeats} folds): "
        f"within 1 s {within:.1%} (chance {chance_within:.1%}), exact frame {exact:.1%} "
        f"(chance {chance_exact:.2%}), median error {np.median(error):.0f} frames")

    tick = time.perf_counter()
    figure_path = _figure(session.stimuli.get("natural_movie_one", sim.truth["movie_frames"]),
                          frame, decoded, repeat, out_dir / "visual_demo.png",
                          title=(f"Simulated visual cortex ({session.n_units} units): movie frame "
                                 f"identified within 1 s {within:.0%} (chance "
                                 f"{chance_within:.0%}), exact {exact:.0%} (chance "
                                 f"{chance_exact:.1%})"))
    timings["figure"] = time.perf_counter() - tick
    elapsed = time.perf_counter() - started
    say(f"[5/5] figure written to {figure_path.resolve()}  ({elapsed:.1f} s)")
    return {"nwb_path": nwb_path, "figure_path": figure_path, "accuracy_within_1s": within,
            "accuracy_exact": exact, "chance_within_1s": chance_within,
            "chance_exact": chance_exact, "fold_accuracy_within_1s": fold_within,
            "median_error_frames": float(np.median(error)), "n_units": int(session.n_units),
            "n_units_file": n_file, "n_frames": n_frames, "n_repeats": n_repeats,
            "reader": reader, "timings": timings, "elapsed_s": elapsed}


def _figure(movie, frame, decoded, repeat, path, *, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from neurodecode.utils.atomic import atomic_path

    movie = np.asarray(getattr(movie, "values", movie))
    n_show = 6
    shown = np.linspace(0, movie.shape[0] - 1, n_show).round().astype(int)
    fig = plt.figure(figsize=(12, 6.5), constrained_layout=True)
    grid = fig.add_gridspec(2, n_show, height_ratios=[1, 2.2])
    for i, f in enumerate(shown):
        ax = fig.add_subplot(grid[0, i])
        ax.imshow(movie[f], cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"frame {f}", fontsize=9)
        ax.set_axis_off()
    ax = fig.add_subplot(grid[1, :])
    last = repeat == repeat.max()
    ax.plot(frame[last], frame[last], color="k", lw=1, label="true frame")
    ax.plot(frame[last], decoded[last], ".", ms=4, color="tab:red",
            label=f"decoded (held-out repeat {int(repeat.max()) + 1})")
    ax.fill_between(frame[last], frame[last] - 30, frame[last] + 30, color="0.85",
                    label="within 1 s")
    ax.set_xlabel("movie frame shown")
    ax.set_ylabel("decoded movie frame")
    ax.legend(loc="upper left", fontsize=9)
    fig.suptitle(title, fontsize=10)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
