"""Allen / DANDI recipes against a loopback HTTP server that mimics the Allen S3 cache and
the DANDI API (asset search, metadata with SHA-256, download redirect). No internet."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from data_loaders.allen_visual_coding import (
    ALLEN_S3,
    dandi_session_path,
    fetch_allen_session,
    open_allen_session,
    read_allen_session,
    session_url,
)
from data_loaders.dandi import dandi_asset, fetch_dandi_asset, find_dandi_assets
from neurodecode.io.remote import DownloadError

SESSION = 790000123
SPECIMEN = 770000001
DANDI_PATH = f"sub-{SPECIMEN}/sub-{SPECIMEN}_ses-{SESSION}.nwb"
ASSET = "0a1b2c3d-0000-4000-8000-000000000001"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10

    def log_message(self, *args):
        pass

    def _reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, value):
        self._reply(200, json.dumps(value).encode(), [("Content-Type", "application/json")])

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        srv = self.server
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        srv.requests.append(self.path)
        api = "/api/dandisets/000021/versions/draft/assets/"
        if parts.path == f"/s3/session_{SESSION}/session_{SESSION}.nwb":
            data = srv.nwb
        elif parts.path == "/blobs/nwb":
            data = srv.nwb if not srv.corrupt else srv.nwb[:-1] + bytes([srv.nwb[-1] ^ 0xFF])
        elif parts.path == api:
            glob, path = query.get("glob", [""])[0], query.get("path", [""])[0]
            hit = (glob == f"*_ses-{SESSION}.nwb") or (path and DANDI_PATH.startswith(path))
            results = [{"asset_id": ASSET, "path": DANDI_PATH, "size": len(srv.nwb)}] if hit else []
            return self._json({"count": len(results), "next": None, "results": results})
        elif parts.path == f"{api}{ASSET}/":
            return self._json({"digest": {"dandi:sha2-256": srv.sha256,
                                          "dandi:dandi-etag": "x-1"}, "path": DANDI_PATH})
        elif parts.path == f"/api/assets/{ASSET}/download/":
            return self._reply(302, headers=[("Location", "/blobs/nwb")])
        else:
            return self._reply(404)
        ranges = self.headers.get("Range")
        if ranges:
            start, _, end = ranges.split("=")[1].partition("-")
            start, stop = int(start), (int(end) + 1 if end else len(data))
            return self._reply(206, data[start:stop], [
                ("Content-Range", f"bytes {start}-{stop - 1}/{len(data)}")])
        self._reply(200, data)


@pytest.fixture(scope="module")
def simulated_nwb(tmp_path_factory):
    from neurodecode.datasets.visual_cortex import make_visual_coding_session

    path = tmp_path_factory.mktemp("sim") / "session.nwb"
    sim = make_visual_coding_session({"VISp": 10, "LGd": 4, "": 1}, n_movie_frames=30,
                                     movie_repeats=2, n_scenes=3, scene_repeats=1,
                                     dg_temporal_frequencies=(2.0,), dg_repeats=1,
                                     spontaneous_duration=2.0, n_channels_per_probe=24,
                                     fraction_failing=0.3, random_state=3, path=path)
    return sim


@pytest.fixture
def server(simulated_nwb):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.nwb = simulated_nwb.path.read_bytes()
    httpd.sha256 = hashlib.sha256(httpd.nwb).hexdigest()
    httpd.corrupt = False
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    deadline = threading.Timer(60.0, httpd.shutdown)  # never outlives the test run
    thread.start()
    deadline.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    deadline.cancel()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_real_addresses_stay_in_the_code():
    assert session_url(715093703) == (f"{ALLEN_S3}/session_715093703/session_715093703.nwb")
    assert ALLEN_S3.startswith("https://allen-brain-observatory.s3")


def test_fetch_from_allen_cache_with_pinned_hash_and_read(server, simulated_nwb, tmp_path):
    pinned = f"sha256:{server.sha256}"
    path = fetch_allen_session(SESSION, tmp_path, base_url=server.url + "/s3",
                               known_hash=pinned, progressbar=False)
    assert path == tmp_path / "allen" / "visual_coding_neuropixels" / f"session_{SESSION}.nwb"
    assert path.read_bytes() == server.nwb
    session = read_allen_session(SESSION, tmp_path, base_url=server.url + "/s3",
                                 known_hash=pinned, progressbar=False)
    truth = simulated_nwb.truth
    assert session.metadata["unit_filter"]["n_units_file"] == truth.sizes["unit"]
    assert session.n_units == int(truth["passes_default_filter"].sum())
    assert set(session.unit_ids) == set(truth["unit"].values[truth["passes_default_filter"]])


def test_pinned_hash_mismatch_caches_nothing(server, tmp_path):
    with pytest.raises(DownloadError, match="checksum"):
        fetch_allen_session(SESSION, tmp_path, base_url=server.url + "/s3",
                            known_hash="sha256:" + "0" * 64, progressbar=False, retries=0)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_dandi_asset_lookup(server):
    api = server.url + "/api"
    assert dandi_session_path(SESSION, api_url=api) == DANDI_PATH
    found = find_dandi_assets("DANDI:000021", path="sub-", api_url=api)
    assert [a["path"] for a in found] == [DANDI_PATH]
    asset = dandi_asset(21, DANDI_PATH, api_url=api)
    assert asset.known_hash == f"sha256:{server.sha256}"
    with pytest.raises(DownloadError, match="no session file"):
        dandi_session_path(1, api_url=api)
    with pytest.raises(DownloadError, match="no asset"):
        dandi_asset("000021", "sub-0/none.nwb", api_url=api)


def test_fetch_from_dandi_checksummed_through_redirect(server, tmp_path):
    path = fetch_allen_session(SESSION, tmp_path, source="dandi", api_url=server.url + "/api",
                               progressbar=False)
    assert path == tmp_path / "dandi" / "000021" / DANDI_PATH
    assert path.read_bytes() == server.nwb
    assert any(r.startswith("/blobs/nwb") for r in server.requests)


def test_dandi_corrupt_download_is_not_cached_and_retry_succeeds(server, tmp_path):
    server.corrupt = True
    with pytest.raises(DownloadError, match="does not match its checksum"):
        fetch_dandi_asset("000021", DANDI_PATH, api_url=server.url + "/api", cache_dir=tmp_path,
                          progressbar=False, retries=0)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
    server.corrupt = False
    path = fetch_dandi_asset("000021", DANDI_PATH, api_url=server.url + "/api",
                             cache_dir=tmp_path, progressbar=False)
    assert path.read_bytes() == server.nwb


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="session_id"):
        session_url("abc")
    with pytest.raises(ValueError, match="source"):
        fetch_allen_session(1, tmp_path, source="ftp")
    with pytest.raises(ValueError, match="relative"):
        fetch_dandi_asset("000021", "../etc/passwd", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="dandiset_id"):
        find_dandi_assets("abc")


def test_offline_message(tmp_path):
    with pytest.raises(DownloadError, match="offline"):
        fetch_allen_session(SESSION, tmp_path, source="dandi", api_url="http://127.0.0.1:9/api",
                            progressbar=False)


def test_stream_session_from_loopback(server, simulated_nwb):
    pytest.importorskip("remfile")
    from neurodecode.io.allen_ecephys import read_allen_ecephys

    session = read_allen_ecephys(open_allen_session(SESSION, base_url=server.url + "/s3"))
    assert session.n_units == int(simulated_nwb.truth["passes_default_filter"].sum())
