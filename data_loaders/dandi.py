"""Recipe: any asset of a DANDI Archive dandiset, downloaded into the cache or streamed.

The DANDI REST API (``https://api.dandiarchive.org/api``) is asked, without the
``dandi`` client, for

- the asset at a path (``/dandisets/<id>/versions/<version>/assets/?path=...``) or
  matching a glob (``?glob=...``);
- its metadata (``/dandisets/<id>/versions/<version>/assets/<asset_id>/``), whose
  ``digest["dandi:sha2-256"]`` is the checksum every download is checked against;
- its content at ``/assets/<asset_id>/download/`` (a redirect to S3).

Files land in ``<cache>/dandi/<dandiset>/<asset path>``; an interrupted download
resumes (see :func:`neurodecode.io.remote.download`).

Examples
--------
>>> from data_loaders.dandi import fetch_dandi_asset
>>> path = fetch_dandi_asset("000021", "sub-699733573/sub-699733573_ses-715093703.nwb"
...                          )                                      # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from neurodecode.io.remote import DownloadError, download, open_remote

__all__ = ["DANDI_API", "DandiAsset", "find_dandi_assets", "dandi_asset", "fetch_dandi_asset",
           "open_dandi_asset"]

DANDI_API = "https://api.dandiarchive.org/api"
_SHA256 = "dandi:sha2-256"


class DandiAsset(dict):
    """One asset: ``asset_id``, ``path``, ``size``, ``sha256`` (or None), ``download_url``."""

    @property
    def known_hash(self) -> str | None:
        return f"sha256:{self['sha256']}" if self.get("sha256") else None


def _get_json(url: str, params=None, timeout: float = 30.0):
    import requests

    try:
        response = requests.get(url, params=params, timeout=timeout)
    except requests.exceptions.ConnectionError as exc:
        raise DownloadError(f"cannot reach the DANDI API at {url} ({type(exc).__name__}). Are "
                            "you offline? Files already in the cache can still be read with "
                            "neurodecode.io.read_nwb.") from exc
    if response.status_code == 404:
        raise DownloadError(f"{response.url}: not found on the DANDI Archive (HTTP 404); check "
                            "the dandiset id, version and asset path.")
    if response.status_code != 200:
        raise DownloadError(f"{response.url}: the DANDI API answered HTTP "
                            f"{response.status_code} {response.reason}.")
    try:
        return response.json()
    except ValueError as exc:
        raise DownloadError(f"{response.url}: the DANDI API did not answer JSON.") from exc


def _dandiset_id(dandiset_id) -> str:
    text = str(dandiset_id).removeprefix("DANDI:")
    if not text.isdigit():
        raise ValueError(f"`dandiset_id` must be a number such as '000021', got {dandiset_id!r}.")
    return text.zfill(6)


def find_dandi_assets(dandiset_id, *, path: str | None = None, glob: str | None = None,
                      version: str = "draft", api_url: str = DANDI_API) -> list[DandiAsset]:
    """Assets of a dandiset whose path starts with ``path`` or matches ``glob`` (all pages).

    Checksums are not filled in here (see :func:`dandi_asset`).
    """
    dandiset = _dandiset_id(dandiset_id)
    url = f"{api_url}/dandisets/{dandiset}/versions/{version}/assets/"
    params = {"page_size": 100}
    if path is not None:
        params["path"] = path
    if glob is not None:
        params["glob"] = glob
    found = []
    while url:
        page = _get_json(url, params)
        for item in page.get("results", []):
            found.append(DandiAsset(asset_id=item["asset_id"], path=item["path"],
                                    size=item.get("size"), sha256=None,
                                    download_url=f"{api_url}/assets/{item['asset_id']}/download/"))
        url, params = page.get("next"), None
    return found


def dandi_asset(dandiset_id, path: str, *, version: str = "draft",
                api_url: str = DANDI_API) -> DandiAsset:
    """The asset at exactly ``path``, with its SHA-256 from the asset metadata."""
    matches = [a for a in find_dandi_assets(dandiset_id, path=path, version=version,
                                            api_url=api_url) if a["path"] == path]
    if not matches:
        raise DownloadError(f"DANDI:{_dandiset_id(dandiset_id)} ({version}) has no asset at "
                            f"{path!r}.")
    asset = matches[0]
    meta = _get_json(f"{api_url}/dandisets/{_dandiset_id(dandiset_id)}/versions/{version}/"
                     f"assets/{asset['asset_id']}/")
    asset["sha256"] = (meta.get("digest") or {}).get(_SHA256)
    return asset


def fetch_dandi_asset(dandiset_id, path: str, *, version: str = "draft", cache_dir=None,
                      api_url: str = DANDI_API, progressbar: bool = True,
                      retries: int = 2) -> Path:
    """Download a dandiset's asset into the cache (checked against its SHA-256) and return it.

    Parameters
    ----------
    dandiset_id : str or int
        e.g. ``"000021"`` (Visual Coding Neuropixels) or ``"DANDI:000713"``.
    path : str
        The asset's path in the dandiset, e.g. ``"sub-X/sub-X_ses-Y.nwb"``.
    version : str
        ``"draft"`` or a published version such as ``"0.210812.1457"``.
    cache_dir : str or Path, optional
        Cache root (default ``$NEURODECODE_CACHE`` or the user cache folder).
    api_url : str
        The DANDI API (another instance, or a mirror).
    progressbar : bool
    retries : int
        Extra attempts (each resumes the previous one).

    Raises
    ------
    DownloadError
        Offline, no such asset, interrupted (resumable), or checksum mismatch.
    """
    dandiset = _dandiset_id(dandiset_id)
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise ValueError(f"fetch_dandi_asset: `path` must be relative inside the dandiset, got "
                         f"{path!r}.")
    asset = dandi_asset(dandiset, path, version=version, api_url=api_url)
    subdir = str(PurePosixPath("dandi", dandiset, *pure.parts[:-1]))
    return download(asset["download_url"], known_hash=asset.known_hash, fname=pure.name,
                    cache_dir=cache_dir, subdir=subdir, progressbar=progressbar,
                    retries=retries)


def open_dandi_asset(dandiset_id, path: str, *, version: str = "draft",
                     api_url: str = DANDI_API, method: str = "remfile"):
    """Stream an asset without downloading it: a file-like object for ``read_nwb``.

    Needs the ``remote`` extra (``pip install "neurodecode[remote]"``).
    """
    asset = dandi_asset(dandiset_id, path, version=version, api_url=api_url)
    return open_remote(asset["download_url"], method=method)
