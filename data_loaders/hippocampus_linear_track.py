"""Recipe: rat hippocampus on a linear track (nelpy example data, ``linear-track/``).

Tetrode recording of 31 sorted units (15 min running, 15 min rest) with 60 Hz LED
position tracking. The raw files are a MatClust ``spikes.mat`` (spike times nested
per tetrode and cluster) and a ``trajectory.videoPositionTracking`` binary; the
same data converted to NWB is read with :func:`neurodecode.io.read_nwb`.

Source: github.com/nelpy/example-data, folder ``linear-track/``, commit
099548c0608ffaa92933c66346c0d96f05a18622, MIT licence.

Examples
--------
>>> from data_loaders.hippocampus_linear_track import read_linear_track
>>> session = read_linear_track("path/to/linear-track")  # doctest: +SKIP
>>> session.n_units
31
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neurodecode.data import Session, SpikeTrains
from neurodecode.errors import DataFormatError

__all__ = ["read_linear_track", "read_matclust_spikes", "read_position_tracking",
           "fetch_linear_track", "FILES", "BASE_URL"]

BASE_URL = ("https://raw.githubusercontent.com/nelpy/example-data/"
            "099548c0608ffaa92933c66346c0d96f05a18622/linear-track/")
FILES = {
    "spikes.mat": "sha256:615b05a9228a5eaea7f99d5fc5b11848a4d94fc154104612410c887875b65bc7",
    "trajectory.videoPositionTracking":
        "sha256:10a883302c50e26d5f659ac4ee08d8901f7881c71f6800cd56d999a620b31cb5",
}
CLOCK_RATE = 30_000.0  # Hz; position ticks and spike times share this clock
_RECORD = np.dtype([("time", "<u4"), ("x", "<u2"), ("y", "<u2"), ("x2", "<u2"), ("y2", "<u2")])
_END_OF_HEADER = b"<End settings>\n"


def fetch_linear_track(cache_dir=None, *, base_url: str = BASE_URL, progressbar: bool = True
                       ) -> Path:
    """Download the raw files into ``cache_dir`` (checked against their SHA-256) and return it.

    Already-downloaded files whose checksum matches are not fetched again.
    """
    import pooch

    cache_dir = Path(cache_dir or pooch.os_cache("neurodecode")) / "hippocampus_linear_track"
    for name, known_hash in FILES.items():
        pooch.retrieve(base_url + name, known_hash=known_hash, fname=name, path=cache_dir,
                       progressbar=progressbar)
    return cache_dir


def read_matclust_spikes(path) -> tuple[SpikeTrains, pd.DataFrame]:
    """Spike trains and a (tetrode, cluster) units table from a MatClust ``spikes.mat``.

    Units are the non-empty clusters in tetrode then cluster order; ``tetrode`` and
    ``cluster`` are 0-based positions in the file's nested arrays, and unit ids are
    0 .. n_units - 1 in that order (as in the NWB conversion of the same data).
    """
    from scipy.io import loadmat

    path = Path(path)
    try:
        mat = loadmat(path, squeeze_me=True)
    except Exception as exc:
        raise DataFormatError(f"{path}: not a readable MATLAB file ({exc}).") from exc
    if "spikes" not in mat:
        raise DataFormatError(f"{path}: no variable 'spikes'; expected MatClust spike output.")
    trains, tetrodes, clusters = [], [], []
    for tetrode, clusters_of_tetrode in enumerate(np.atleast_1d(mat["spikes"])):
        entries = (np.atleast_1d(clusters_of_tetrode)
                   if isinstance(clusters_of_tetrode, np.ndarray)
                   and clusters_of_tetrode.dtype == object else [clusters_of_tetrode])
        for cluster, entry in enumerate(entries):
            if not isinstance(entry, np.ndarray) or entry.dtype.names is None:
                continue  # an unsorted tetrode or an empty cluster slot
            if "time" not in entry.dtype.names:
                raise DataFormatError(f"{path}: tetrode {tetrode} cluster {cluster} has no "
                                      "'time' field.")
            times = np.asarray(entry["time"].item() if entry.shape == () else entry["time"],
                               dtype=np.float64).reshape(-1)
            if times.size:
                trains.append(times)
                tetrodes.append(tetrode)
                clusters.append(cluster)
    spikes = SpikeTrains.from_list(trains, sort="sort")
    units = pd.DataFrame({"tetrode": tetrodes, "cluster": clusters},
                         index=pd.Index(spikes.unit_ids, name="unit_id"))
    return spikes, units


def read_position_tracking(path, *, clock_rate: float = CLOCK_RATE) -> xr.DataArray:
    """LED position from a ``.videoPositionTracking`` file, ``("position_time", "position_axis")``.

    Times are clock ticks divided by ``clock_rate`` (the header's ``clockrate``
    when present); x/y are camera pixels. Only the first LED is returned when the
    second one is all zeros.
    """
    path = Path(path)
    raw = path.read_bytes()
    end = raw.find(_END_OF_HEADER)
    if not raw.startswith(b"<Start settings>") or end < 0:
        raise DataFormatError(f"{path}: no '<Start settings>' ... '<End settings>' header; "
                              "expected a videoPositionTracking file.")
    header = raw[:end].decode("ascii", errors="replace")
    for line in header.splitlines():
        if line.startswith("clockrate:"):
            clock_rate = float(line.split(":", 1)[1])
    body = raw[end + len(_END_OF_HEADER):]
    if len(body) % _RECORD.itemsize:
        raise DataFormatError(f"{path}: {len(body)} data bytes is not a whole number of "
                              f"{_RECORD.itemsize}-byte records (truncated file?).")
    records = np.frombuffer(body, dtype=_RECORD)
    axes = ["x", "y"]
    columns = [records["x"], records["y"]]
    if records["x2"].any() or records["y2"].any():
        axes += ["x2", "y2"]
        columns += [records["x2"], records["y2"]]
    return xr.DataArray(np.column_stack(columns).astype(np.float64),
                        dims=("position_time", "position_axis"),
                        coords={"position_time": records["time"] / clock_rate,
                                "position_axis": axes},
                        attrs={"units": "pixels", "description": "LED position, camera pixels"})


def read_linear_track(folder) -> Session:
    """The raw linear-track recording in ``folder`` as a :class:`~neurodecode.data.Session`.

    Parameters
    ----------
    folder : str or Path
        Holds ``spikes.mat`` and ``trajectory.videoPositionTracking`` (e.g. the
        folder :func:`fetch_linear_track` returns).

    Returns
    -------
    Session
        31 units (``tetrode``, ``cluster``, ``brain_area`` = "hippocampus"), behaviour
        variable ``position`` in pixels.
    """
    folder = Path(folder)
    for name in FILES:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: missing {name}; expected the nelpy "
                                    "linear-track files (see fetch_linear_track).")
    spikes, units = read_matclust_spikes(folder / "spikes.mat")
    units["brain_area"] = "hippocampus"
    position = read_position_tracking(folder / "trajectory.videoPositionTracking")
    return Session(spikes, units, behavior=xr.Dataset({"position": position}),
                   metadata={"session_id": "nelpy-linear-track", "source": str(folder),
                             "description": "rat hippocampus, linear track, tetrodes"})
