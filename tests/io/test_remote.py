"""Download/cache/stream helpers against a real HTTP server on 127.0.0.1 (no internet).

The server is a ``http.server`` thread serving bytes the test makes; it honours
``Range`` requests, can cut the connection mid-file once, can serve corrupt
bytes, and shuts itself down after 60 s at most.
"""

from __future__ import annotations

import hashlib
import http.server
import threading

import numpy as np
import pytest

from neurodecode.io.remote import DownloadError, download, file_hash, open_remote


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10

    def log_message(self, *args):  # keep the test output clean
        pass

    def _send(self, head_only: bool):
        srv = self.server
        srv.requests.append((self.command, self.path, self.headers.get("Range")))
        body = srv.files.get(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path in srv.corrupt:
            body = bytes(b ^ 0xFF for b in body)
        start, status = 0, 200
        wanted = self.headers.get("Range")
        if wanted and srv.ranges:
            start = int(wanted.split("=")[1].split("-")[0])
            end = wanted.split("=")[1].split("-")[1]
            stop = int(end) + 1 if end else len(body)
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
            part = body[start:stop]
        else:
            part = body
        self.send_response(status)
        self.send_header("Content-Length", str(len(part)))
        self.send_header("Accept-Ranges", "bytes" if srv.ranges else "none")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{start + len(part) - 1}/{len(body)}")
        self.end_headers()
        if head_only:
            return
        cut = srv.cut_once.pop(self.path, None)
        if cut is not None:  # send part of the body, then drop the connection
            self.wfile.write(part[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(part)

    def do_GET(self):
        self._send(head_only=False)

    def do_HEAD(self):
        self._send(head_only=True)


class LoopbackServer:
    """Serve ``files`` ({url path: bytes}) on 127.0.0.1 in a daemon thread, for at most 60 s."""

    def __init__(self, files, *, ranges: bool = True):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.files = dict(files)
        self.httpd.corrupt = set()
        self.httpd.cut_once = {}
        self.httpd.ranges = ranges
        self.httpd.requests = []
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.deadline = threading.Timer(60.0, self.httpd.shutdown)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        self.deadline.start()
        return self

    def __exit__(self, *exc):
        self.deadline.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def payload():
    return np.random.default_rng(0).bytes(300_000)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_download_checks_hash_and_caches(tmp_path, payload):
    with LoopbackServer({"/data/file.bin": payload}) as srv:
        path = download(srv.url + "/data/file.bin", known_hash=_sha(payload), cache_dir=tmp_path,
                        subdir="allen", progressbar=False)
        assert path == tmp_path / "allen" / "file.bin"
        assert path.read_bytes() == payload
        assert file_hash(path) == _sha(payload)
        n_requests = len(srv.httpd.requests)
        again = download(srv.url + "/data/file.bin", known_hash=_sha(payload),
                         cache_dir=tmp_path, subdir="allen", progressbar=False)
        assert again == path and len(srv.httpd.requests) == n_requests  # served from the cache


def test_corrupt_download_is_discarded(tmp_path, payload):
    with LoopbackServer({"/f.bin": payload}) as srv:
        srv.httpd.corrupt.add("/f.bin")
        with pytest.raises(DownloadError, match="does not match its checksum") as info:
            download(srv.url + "/f.bin", known_hash=_sha(payload), cache_dir=tmp_path,
                     progressbar=False)
        assert "nothing was cached" in str(info.value)
        assert not (tmp_path / "f.bin").exists()
        leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert leftovers == []  # no temporary file, no partial file
        srv.httpd.corrupt.clear()  # the server is fixed: the next call succeeds
        path = download(srv.url + "/f.bin", known_hash=_sha(payload), cache_dir=tmp_path,
                        progressbar=False)
        assert path.read_bytes() == payload


def test_interrupted_download_resumes(tmp_path, payload):
    with LoopbackServer({"/big.nwb": payload}) as srv:
        srv.httpd.cut_once["/big.nwb"] = 100_000
        with pytest.raises(DownloadError, match="call again to resume"):
            download(srv.url + "/big.nwb", known_hash=_sha(payload), cache_dir=tmp_path,
                     progressbar=False)
        assert not (tmp_path / "big.nwb").exists()  # no half-written cache entry
        part = tmp_path / ".partial" / "big.nwb.part"
        kept = part.stat().st_size
        assert 0 < kept <= 100_000 and part.read_bytes() == payload[:kept]
        path = download(srv.url + "/big.nwb", known_hash=_sha(payload), cache_dir=tmp_path,
                        progressbar=True)
        assert path.read_bytes() == payload
        assert srv.httpd.requests[-1][2] == f"bytes={kept}-"  # only the rest was fetched
        assert not part.exists()


def test_interrupted_download_restarts_without_range_support(tmp_path, payload):
    with LoopbackServer({"/x.bin": payload}, ranges=False) as srv:
        srv.httpd.cut_once["/x.bin"] = 50_000
        with pytest.raises(DownloadError):
            download(srv.url + "/x.bin", known_hash=_sha(payload), cache_dir=tmp_path,
                     progressbar=False)
        path = download(srv.url + "/x.bin", known_hash=_sha(payload), cache_dir=tmp_path,
                        progressbar=False)
        assert path.read_bytes() == payload  # a 200 answer to a Range request starts over


def test_retries_resume_within_one_call(tmp_path, payload):
    with LoopbackServer({"/r.bin": payload}) as srv:
        srv.httpd.cut_once["/r.bin"] = 10_000
        path = download(srv.url + "/r.bin", known_hash=_sha(payload), cache_dir=tmp_path,
                        progressbar=False, retries=1)
        assert path.read_bytes() == payload


def test_http_error_and_offline_messages(tmp_path):
    with LoopbackServer({}) as srv:
        with pytest.raises(DownloadError, match="HTTP 404"):
            download(srv.url + "/missing.nwb", cache_dir=tmp_path, progressbar=False)
        url = srv.url
    # The server is gone: nothing listens on that port any more.
    with pytest.raises(DownloadError, match="Are you offline"):
        download(url + "/gone.nwb", cache_dir=tmp_path, progressbar=False, timeout=5)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_download_needs_a_file_name(tmp_path):
    with pytest.raises(ValueError, match="fname"):
        download("http://127.0.0.1:9/", cache_dir=tmp_path)


def test_open_remote_streams_an_nwb_file(tmp_path):
    pytest.importorskip("remfile")
    from neurodecode.data import Session, SpikeTrains
    from neurodecode.io import read_nwb, write_nwb

    session = Session(SpikeTrains.from_list([[0.1, 0.5, 0.9], [0.2]], unit_ids=[7, 8]))
    data = write_nwb(session, tmp_path / "s.nwb").read_bytes()
    with LoopbackServer({"/s.nwb": data}) as srv:
        handle = open_remote(srv.url + "/s.nwb")
        back = read_nwb(handle)
        assert back.unit_ids.tolist() == [7, 8] and back.spikes.n_spikes == 4
        assert any(r[2] for r in srv.httpd.requests)  # read by byte ranges, not downloaded


def test_open_remote_rejects_unknown_method():
    with pytest.raises(ValueError, match="remfile"):
        open_remote("http://127.0.0.1:9/x.nwb", method="ftp")
