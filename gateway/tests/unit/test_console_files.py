"""The console's files: gzip for browsers that accept it, revalidation by ETag, a new build seen at once."""

from __future__ import annotations

import gzip
import os

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.routes import console

SCRIPT = "export const greeting = '你好，运营同学';\n" * 200  # well over the compression threshold


@pytest.fixture
def dist(tmp_path, monkeypatch):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>群运</title>" + "<!-- -->" * 200, encoding="utf-8")
    (tmp_path / "assets" / "index-abc123.js").write_text(SCRIPT, encoding="utf-8")
    (tmp_path / "assets" / "tiny-1.css").write_text("a{}", encoding="utf-8")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(4096))
    monkeypatch.setenv("QUNYUN_CONSOLE_DIST", str(tmp_path))
    console.dist_dir.cache_clear()
    console._assets.clear()
    yield tmp_path
    console.dist_dir.cache_clear()
    console._assets.clear()


@pytest.fixture
def client(dist):
    app = FastAPI()
    app.include_router(console.router)
    # httpx asks for gzip by default and decodes it; these tests say what they accept.
    return TestClient(app, headers={"Accept-Encoding": "identity"})


def test_a_script_is_gzipped_for_a_browser_that_accepts_it(client):
    answer = client.get("/console/assets/index-abc123.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["vary"] == "Accept-Encoding"
    assert answer.headers["cache-control"] == console.IMMUTABLE
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.text == SCRIPT  # decoded by the client: the same bytes as the file
    assert int(answer.headers["content-length"]) < len(SCRIPT.encode()) / 5


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "br", "gzip;q=0, *", "*;q=0"])
def test_plain_bytes_for_a_client_that_does_not_accept_gzip(client, accept):
    answer = client.get("/console/assets/index-abc123.js", headers={"Accept-Encoding": accept})
    assert answer.status_code == 200 and "content-encoding" not in answer.headers
    assert answer.content == SCRIPT.encode()


def test_gzip_by_wildcard_and_raw_gzip_bytes(client):
    answer = client.get("/console/assets/index-abc123.js", headers={"Accept-Encoding": "*"})
    assert answer.headers["content-encoding"] == "gzip"
    with client.stream("GET", "/console/assets/index-abc123.js", headers={"Accept-Encoding": "gzip"}) as stream:
        raw = b"".join(stream.iter_raw())
    assert gzip.decompress(raw) == SCRIPT.encode()


def test_small_and_already_compressed_files_are_sent_as_they_are(client):
    for path in ("/console/assets/tiny-1.css", "/console/logo.png"):
        answer = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200 and "content-encoding" not in answer.headers


def test_index_html_is_revalidated_by_its_etag_and_a_new_build_is_seen(client, dist):
    first = client.get("/console/dashboard")
    assert first.status_code == 200 and first.headers["cache-control"] == console.REVALIDATE
    assert first.headers["content-type"].startswith("text/html")
    etag = first.headers["etag"]
    unchanged = client.get("/console/", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert client.get("/console/", headers={"If-None-Match": f"W/{etag}"}).status_code == 304

    index = dist / "index.html"
    index.write_text("<!doctype html><title>群运 新版本</title>", encoding="utf-8")
    stat = index.stat()
    os.utime(index, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    rebuilt = client.get("/console/", headers={"If-None-Match": etag})
    assert rebuilt.status_code == 200 and "新版本" in rebuilt.text
    assert rebuilt.headers["etag"] != etag


def test_head_gives_the_length_without_a_body(client):
    answer = client.head("/console/assets/index-abc123.js", headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200 and answer.content == b""
    assert int(answer.headers["content-length"]) == len(console._asset(
        console.dist_dir() / "assets" / "index-abc123.js").gzipped)


def test_missing_assets_and_paths_outside_the_build(client):
    assert client.get("/console/assets/old-build.js").status_code == 404
    escaped = client.get("/console/..%2F..%2Fetc%2Fpasswd")
    assert escaped.status_code == 200 and escaped.headers["content-type"].startswith("text/html")
