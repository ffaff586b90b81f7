"""Download public recordings into a local cache (checksummed, resumable) or stream them.

:func:`download` fetches a URL into the cache with pooch: the file is checked
against its known hash before it gets its final name, so a corrupt transfer never
leaves a poisoned cache entry; an interrupted transfer keeps its bytes in
``<cache>/.partial/<name>.part`` and the next call resumes with an HTTP ``Range``
request (falling back to a fresh download when the server ignores ranges).
Errors are :class:`DownloadError` with a message that says what to do (offline,
bad checksum, interrupted).

:func:`open_remote` opens a URL as a read-only file-like object for
:func:`neurodecode.io.read_nwb` without downloading it (``remfile`` or
``fsspec``; install the ``remote`` extra).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlsplit

from neurodecode.errors import NeurodecodeError

__all__ = ["DownloadError", "ResumableDownloader", "download", "open_remote", "file_hash",
           "cache_root"]

_CHUNK = 1 << 16


class DownloadError(NeurodecodeError, OSError):
    """A download failed: unreachable host, HTTP error, interrupted transfer or bad checksum."""


def cache_root(cache_dir=None) -> Path:
    """``cache_dir``, else ``$NEURODECODE_CACHE``, else the user cache folder (pooch.os_cache).

    Examples
    --------
    >>> cache_root("/tmp/somewhere")
    PosixPath('/tmp/somewhere')
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("NEURODECODE_CACHE")
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("neurodecode"))


def file_hash(path, algorithm: str = "sha256") -> str:
    """``"<algorithm>:<hex digest>"`` of a file (the form :func:`download` takes).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
    >>> _ = p.write_bytes(b"abc")
    >>> file_hash(p)[:20]
    'sha256:ba7816bf8f01c'
    """
    import pooch

    return f"{algorithm}:{pooch.file_hash(str(path), alg=algorithm)}"


class ResumableDownloader:
    """A pooch downloader that streams into a ``.part`` file and resumes it with ``Range``.

    Parameters
    ----------
    partial_path : Path
        Where the bytes received so far live between attempts.
    progressbar : bool
        Show a tqdm progress bar (bytes).
    timeout : float
        Seconds to wait for the server (connect and between bytes).
    resume : bool
        Continue an existing ``.part`` file; ``False`` starts over.
    headers : dict, optional
        Extra HTTP headers.

    Notes
    -----
    pooch calls the downloader with a temporary output file beside the final one;
    the completed ``.part`` file is moved there, and pooch checks the hash before
    giving the file its final name.
    """

    def __init__(self, partial_path, *, progressbar: bool = True, timeout: float = 60.0,
                 resume: bool = True, headers=None):
        self.partial_path = Path(partial_path)
        self.progressbar = progressbar
        self.timeout = timeout
        self.resume = resume
        self.headers = headers

    def __call__(self, url, output_file, pooch_instance=None, check_only: bool = False):
        import requests

        if check_only:
            try:
                response = requests.head(url, allow_redirects=True, timeout=self.timeout)
            except requests.exceptions.RequestException:
                return False
            return response.status_code == 200
        part = self.partial_path
        part.parent.mkdir(parents=True, exist_ok=True)
        have = part.stat().st_size if (self.resume and part.exists()) else 0
        headers = dict(self.headers or {})
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            response = requests.get(url, stream=True, timeout=self.timeout, headers=headers,
                                    allow_redirects=True)
        except requests.exceptions.ConnectionError as exc:
            raise DownloadError(_offline_message(url, exc)) from exc
        except requests.exceptions.Timeout as exc:
            raise DownloadError(f"{url}: no answer within {self.timeout:g} s ({exc}). "
                                "Check the network and retry.") from exc
        with response:
            if have and response.status_code == 416:  # nothing left to send: start over
                part.unlink()
                return self(url, output_file, pooch_instance)
            if response.status_code not in (200, 206):
                raise DownloadError(f"{url}: the server answered HTTP {response.status_code} "
                                    f"{response.reason}; expected the file (200).")
            append = have and response.status_code == 206
            if not append:
                have = 0
            length = response.headers.get("Content-Length")
            total = have + int(length) if length is not None else None
            received = have
            bar = _progress(total, have, part.name) if self.progressbar else None
            try:
                with open(part, "ab" if append else "wb") as out:
                    for chunk in response.iter_content(chunk_size=_CHUNK):
                        out.write(chunk)
                        received += len(chunk)
                        if bar is not None:
                            bar.update(len(chunk))
            except (requests.exceptions.RequestException, OSError) as exc:
                raise DownloadError(
                    f"{url}: download interrupted after {received} of "
                    f"{total if total is not None else '?'} bytes ({exc}). The bytes received "
                    f"are kept in {part}; call again to resume.") from exc
            finally:
                if bar is not None:
                    bar.close()
        if total is not None and received < total:
            raise DownloadError(f"{url}: the server closed the connection after {received} of "
                                f"{total} bytes. The bytes received are kept in {part}; call "
                                "again to resume.")
        os.replace(part, output_file)


def _progress(total, initial, name):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
                desc=name, leave=False)


def _offline_message(url: str, exc) -> str:
    host = urlsplit(url).netloc or url
    return (f"cannot reach {host} to download {url} ({type(exc).__name__}). Are you offline? "
            "Connect to the internet, or copy the file into the neurodecode cache "
            "(cache_dir / $NEURODECODE_CACHE) on a machine that has it.")


def download(url: str, *, known_hash: str | None = None, fname: str | None = None,
             cache_dir=None, subdir: str | None = None, progressbar: bool = True,
             resume: bool = True, timeout: float = 60.0, retries: int = 0) -> Path:
    """Download ``url`` into the cache (once) and return the local path.

    Parameters
    ----------
    url : str
        HTTP(S) address.
    known_hash : str, optional
        ``"sha256:<hex>"`` (or ``md5:``/``sha1:``; bare hex means SHA-256). When
        given, a cached file is used only if it matches, and a download is kept only
        if it matches. ``None``: no check (the cached file is trusted).
    fname : str, optional
        File name in the cache; default the last part of the URL path.
    cache_dir : str or Path, optional
        Cache root (see :func:`cache_root`).
    subdir : str, optional
        Folder inside the cache root, e.g. ``"allen/visual_coding"``.
    progressbar : bool
        Show a progress bar.
    resume : bool
        Resume an interrupted download from its ``.part`` file.
    timeout : float
        Seconds to wait for the server.
    retries : int
        Extra attempts after a failure (waiting 1, 2, … s in between); an
        interrupted attempt is resumed by the next one.

    Returns
    -------
    Path

    Raises
    ------
    DownloadError
        Host unreachable (offline), HTTP error, interrupted transfer (the bytes
        received are kept for resuming), or checksum mismatch (the download is
        discarded; nothing is cached).

    Examples
    --------
    >>> path = download("https://example.org/session.nwb",
    ...                 known_hash="sha256:...")                   # doctest: +SKIP
    """
    import pooch
    import requests

    name = fname or Path(urlsplit(url).path).name
    if not name:
        raise ValueError(f"download: cannot tell a file name from {url!r}; pass `fname`.")
    folder = cache_root(cache_dir) / subdir if subdir else cache_root(cache_dir)
    downloader = ResumableDownloader(folder / ".partial" / f"{name}.part",
                                     progressbar=progressbar, timeout=timeout, resume=resume)
    for attempt in range(int(retries) + 1):
        try:
            return Path(pooch.retrieve(url, known_hash=known_hash, fname=name, path=folder,
                                       downloader=downloader, progressbar=False))
        except ValueError as exc:
            if "hash" not in str(exc).lower():
                raise
            error = DownloadError(
                f"{url}: the downloaded file does not match its checksum ({exc}). The corrupt "
                f"download was discarded; nothing was cached at {folder / name}. Retry; if it "
                "keeps failing, the file on the server has changed.")
            error.__cause__ = exc
        except requests.exceptions.RequestException as exc:
            error = DownloadError(f"{url}: download failed ({exc}).")
            error.__cause__ = exc
        except DownloadError as exc:
            error = exc
        if attempt < retries:
            time.sleep(min(attempt + 1, 10))
    raise error


def open_remote(url: str, *, method: str = "remfile"):
    """A read-only, seekable file-like object over HTTP, for ``read_nwb`` / ``h5py``.

    Parameters
    ----------
    url : str
    method : {"remfile", "fsspec"}
        ``remfile`` (range requests tuned for HDF5) or ``fsspec``'s HTTP file system
        (needs ``aiohttp``). Both come with ``pip install "neurodecode[remote]"``.

    Examples
    --------
    >>> from neurodecode.io import read_nwb
    >>> session = read_nwb(open_remote("https://.../session.nwb"))  # doctest: +SKIP
    """
    if method == "remfile":
        try:
            import remfile
        except ImportError as exc:
            raise ImportError("open_remote(method='remfile') needs remfile: "
                              "pip install 'neurodecode[remote]'.") from exc
        return remfile.File(url)
    if method == "fsspec":
        try:
            import fsspec

            fs = fsspec.filesystem("http")
        except ImportError as exc:
            raise ImportError("open_remote(method='fsspec') needs fsspec and aiohttp: "
                              "pip install 'neurodecode[remote]'.") from exc
        return fs.open(url, "rb")
    raise ValueError(f"open_remote: `method` must be 'remfile' or 'fsspec', not {method!r}.")
