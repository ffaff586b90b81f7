"""Running chains in chunks (in worker processes), and checkpoints without pickle.

A chunk is a pure function of (counts, config, chain state, RNG state), so
chains run in ``spawn``-started processes and a run can stop after any chunk and
resume bit-for-bit from the saved chain states and RNG states.
"""

from __future__ import annotations

import json

import numpy as np

from neurodecode.utils.atomic import atomic_path

from .sampler import ChainState, SamplerConfig, gibbs_step, record

__all__ = ["run_chunk", "save_checkpoint", "load_checkpoint"]


def run_chunk(y, cfg_json: dict, state_arrays: dict, rng_state: dict, start: int,
              n_steps: int, label_start: int):
    """Advance one chain by ``n_steps`` iterations.

    Returns
    -------
    state_arrays : dict, rng_state : dict, records : dict of arrays (n_steps, ...)
    """
    from threadpoolctl import threadpool_limits

    cfg = SamplerConfig(**cfg_json)
    state = ChainState.from_arrays(state_arrays)
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = rng_state
    log_v = cfg.log_v(y.shape[0])
    records = []
    # one chain is one core: every matrix here is tiny (d <= 4, bands of width 2d), so BLAS
    # threads only add contention between the chains sharing the machine
    with threadpool_limits(limits=1):
        for it in range(start, start + n_steps):
            state = gibbs_step(state, y, cfg, log_v, rng, update_labels=it >= label_start)
            records.append(record(state, y, cfg))
    stacked = {k: np.stack([r[k] for r in records]) for k in records[0]}
    return state.to_arrays(), rng.bit_generator.state, stacked


def save_checkpoint(path, meta: dict, states: list, records: dict) -> None:
    """Write meta (JSON), every chain's state and all records so far to one ``.npz``, atomically."""
    arrays = {"meta": np.array(json.dumps(meta))}
    for c, st in enumerate(states):
        arrays.update({f"chain{c}_{k}": v for k, v in st.items()})
    arrays.update({f"rec_{k}": v for k, v in records.items()})
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def load_checkpoint(path):
    """Inverse of :func:`save_checkpoint`: ``(meta, states, records)``; never unpickles."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        states = [{k.split("_", 1)[1]: np.array(data[k]) for k in data.files
                   if k.startswith(f"chain{c}_")} for c in range(meta["n_chains"])]
        records = {k[4:]: np.array(data[k]) for k in data.files if k.startswith("rec_")}
    return meta, states, records
