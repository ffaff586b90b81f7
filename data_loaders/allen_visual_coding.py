"""Recipe: Allen Brain Observatory Visual Coding Neuropixels sessions (Siegle et al. 2021).

Each session is one NWB file (spikes, units, channels, stimulus presentations,
running speed, eye tracking), published two ways:

- the Allen Institute's S3 bucket, the AllenSDK ``EcephysProjectCache`` layout:
  ``<ALLEN_S3>/session_<id>/session_<id>.nwb`` (with ``sessions.csv``, ``units.csv``…
  beside them); no checksums are published there, so pass ``known_hash`` to pin one;
- DANDI:000021 as ``sub-<specimen>/sub-<specimen>_ses-<id>.nwb``, with SHA-256
  checksums from the DANDI API (found by session id; see :mod:`data_loaders.dandi`).

:func:`fetch_allen_session` downloads one into the local cache (resumable, checked
when a checksum is known); :func:`read_allen_session` also reads it with
:func:`neurodecode.io.read_allen_ecephys`; :func:`open_allen_session` streams it.

Examples
--------
>>> from data_loaders.allen_visual_coding import read_allen_session
>>> session = read_allen_session(715093703)                        # doctest: +SKIP
>>> session.metadata["unit_filter"]["n_units_kept"]               # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from data_loaders.dandi import DANDI_API, dandi_asset, fetch_dandi_asset, find_dandi_assets
from neurodecode.io.remote import DownloadError, download, open_remote

__all__ = ["ALLEN_S3", "DANDISET", "EXAMPLE_SESSION", "session_url", "fetch_allen_session",
           "fetch_session_table", "read_allen_session", "open_allen_session", "dandi_session_path"]

ALLEN_S3 = ("https://allen-brain-observatory.s3.us-west-2.amazonaws.com/"
            "visual-coding-neuropixels/ecephys-cache")
DANDISET = "000021"
#: A Brain Observatory 1.1 session (6 probes, ~2,800 units), for examples.
EXAMPLE_SESSION = 715093703
_SOURCES = ("allen", "dandi")


def _session_id(session_id) -> int:
    try:
        value = int(session_id)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`session_id` must be an integer ecephys session id such as "
                         f"{EXAMPLE_SESSION}, got {session_id!r}.") from exc
    if value <= 0:
        raise ValueError(f"`session_id` must be positive, got {session_id!r}.")
    return value


def session_url(session_id, *, base_url: str = ALLEN_S3) -> str:
    """The session file's address in the Allen S3 cache.

    Examples
    --------
    >>> session_url(715093703).rsplit("/", 2)[1:]
    ['session_715093703', 'session_715093703.nwb']
    """
    sid = _session_id(session_id)
    return f"{base_url.rstrip('/')}/session_{sid}/session_{sid}.nwb"


def dandi_session_path(session_id, *, api_url: str = DANDI_API, version: str = "draft") -> str:
    """The session file's path in DANDI:000021, found by its id (``*_ses-<id>.nwb``)."""
    sid = _session_id(session_id)
    found = [a["path"] for a in find_dandi_assets(DANDISET, glob=f"*_ses-{sid}.nwb",
                                                  version=version, api_url=api_url)]
    if not found:
        raise DownloadError(f"DANDI:{DANDISET} ({version}) has no session file for session "
                            f"{sid} (looked for '*_ses-{sid}.nwb').")
    return sorted(found)[0]


def fetch_allen_session(session_id, cache_dir=None, *, source: str = "allen",
                        known_hash: str | None = None, base_url: str = ALLEN_S3,
                        api_url: str = DANDI_API, version: str = "draft",
                        progressbar: bool = True, retries: int = 2) -> Path:
    """Download a Visual Coding Neuropixels session NWB into the cache and return its path.

    Parameters
    ----------
    session_id : int
        Ecephys session id (e.g. 715093703).
    cache_dir : str or Path, optional
        Cache root (default ``$NEURODECODE_CACHE`` or the user cache folder); files go
        to ``allen/visual_coding_neuropixels/`` (S3) or ``dandi/000021/`` (DANDI).
    source : {"allen", "dandi"}
        The Allen S3 cache, or DANDI:000021 (checksummed).
    known_hash : str, optional
        ``"sha256:<hex>"`` or ``"md5:<hex>"`` to check an S3 download against.
    base_url, api_url, version
        Where to look (S3 cache root; DANDI API and dandiset version).
    progressbar : bool
    retries : int
        Extra attempts, each resuming the last.

    Raises
    ------
    DownloadError
        Offline, unknown session, interrupted (call again to resume) or checksum
        mismatch (nothing is cached).
    """
    if source not in _SOURCES:
        raise ValueError(f"fetch_allen_session: `source` must be one of {_SOURCES}, not "
                         f"{source!r}.")
    sid = _session_id(session_id)
    if source == "dandi":
        path = dandi_session_path(sid, api_url=api_url, version=version)
        return fetch_dandi_asset(DANDISET, path, version=version, cache_dir=cache_dir,
                                 api_url=api_url, progressbar=progressbar, retries=retries)
    return download(session_url(sid, base_url=base_url), known_hash=known_hash,
                    cache_dir=cache_dir, subdir="allen/visual_coding_neuropixels",
                    progressbar=progressbar, retries=retries)


def fetch_session_table(cache_dir=None, *, base_url: str = ALLEN_S3, progressbar: bool = False):
    """The project's ``sessions.csv`` (one row per session) as a DataFrame, cached."""
    import pandas as pd

    path = download(f"{base_url.rstrip('/')}/sessions.csv", cache_dir=cache_dir,
                    subdir="allen/visual_coding_neuropixels", progressbar=progressbar)
    return pd.read_csv(path, index_col="id")


def read_allen_session(session_id, cache_dir=None, *, source: str = "allen", quality_filter=True,
                       **fetch_kwargs):
    """Fetch (if needed) and read a session with :func:`neurodecode.io.read_allen_ecephys`.

    ``quality_filter`` is passed to the reader (AllenSDK's default unit filter when
    ``True``); other keywords go to :func:`fetch_allen_session`.
    """
    from neurodecode.io.allen_ecephys import read_allen_ecephys

    path = fetch_allen_session(session_id, cache_dir, source=source, **fetch_kwargs)
    return read_allen_ecephys(path, quality_filter=quality_filter)


def open_allen_session(session_id, *, source: str = "allen", base_url: str = ALLEN_S3,
                       api_url: str = DANDI_API, version: str = "draft",
                       method: str = "remfile"):
    """Stream a session file without downloading it (``remote`` extra); give it to the reader.

    Examples
    --------
    >>> from neurodecode.io import read_allen_ecephys
    >>> session = read_allen_ecephys(open_allen_session(715093703))  # doctest: +SKIP
    """
    if source not in _SOURCES:
        raise ValueError(f"open_allen_session: `source` must be one of {_SOURCES}, not "
                         f"{source!r}.")
    if source == "dandi":
        path = dandi_session_path(session_id, api_url=api_url, version=version)
        url = dandi_asset(DANDISET, path, version=version, api_url=api_url)["download_url"]
    else:
        url = session_url(session_id, base_url=base_url)
    return open_remote(url, method=method)
