"""The operations console: the built single-page app from ``console/dist`` at ``/console/``.

A path that names a file of the build is that file; any other ``/console/...``
path is ``index.html`` (the app's router resolves it in the browser). Hashed
assets under ``assets/`` never change, so browsers keep them for a year;
``index.html`` is revalidated on every load so a new build is picked up at once
(its ETag answers an unchanged build with a 304).
Without a build, ``/console/`` answers a 503 problem saying so.

Files are served from memory, gzip-compressed once per process for every
browser that accepts it: the build is about 1.7 MB of JavaScript and CSS (560 KB
gzipped), too much to send uncompressed to an operator on a slow line, and
reading each file through the thread pool in 64 KB chunks cost more than the
file itself (a cold dashboard asks for 17 of them at once). An entry is read
again when the file's size or modification time changes (a new build).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from shared.errors import problem_response

router = APIRouter(include_in_schema=False)

# The build directory; QUNYUN_CONSOLE_DIST overrides it (an image puts it elsewhere).
_REPO_DIST = Path(__file__).resolve().parents[4] / "console" / "dist"

# Element Plus and ECharts set inline style attributes; scripts come only from our origin.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob: https:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SHORT = "public, max-age=3600"

# Media types worth compressing (images other than SVG and fonts are compressed already).
_COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/manifest+json")
_MIN_COMPRESSED_BYTES = 1024
# Entries kept per process before the cache starts again (a build has about 70 files; rebuilds leave old ones).
_MAX_ENTRIES = 512


@dataclass(frozen=True)
class _Asset:
    """One file of the build as it is answered: its bytes, gzipped bytes when smaller, and validators."""

    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str
    mtime_ns: int
    size: int


_assets: dict[Path, _Asset] = {}


@lru_cache(maxsize=1)
def dist_dir() -> Path:
    """Where the built console lives."""
    configured = os.environ.get("QUNYUN_CONSOLE_DIST")
    return Path(configured).resolve() if configured else _REPO_DIST


def _headers(cache_control: str) -> dict[str, str]:
    return {
        "Cache-Control": cache_control,
        "Vary": "Accept-Encoding",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def _not_built() -> Response:
    return problem_response(
        503,
        slug="console-not-built",
        title="Console not built",
        detail="运营后台尚未构建：请先运行 make run（或 npm --prefix console ci && npm --prefix console run build）。",
        headers={"Cache-Control": "no-store", "Retry-After": "30"},
    )


@router.api_route("/console", methods=["GET", "HEAD"])
async def console_root() -> Response:
    """``/console`` → ``/console/`` (the app's base path ends with a slash)."""
    return RedirectResponse("/console/", status_code=308)


@router.api_route("/console/{path:path}", methods=["GET", "HEAD"])
async def console_file(path: str, request: Request) -> Response:
    """A file of the build, or index.html for any route of the app."""
    root = dist_dir()
    index = root / "index.html"
    if not index.is_file():
        return _not_built()
    if path:
        candidate = (root / path).resolve()
        if candidate.is_relative_to(root) and candidate.is_file() and candidate != index:
            hashed = candidate.parent == root / "assets"
            return _answer(request, candidate, IMMUTABLE if hashed else SHORT)
        if path.startswith("assets/"):
            # A missing hashed asset (an old build's) must not become index.html with a 200.
            return Response(status_code=404, headers=_headers(REVALIDATE))
    return _answer(request, index, REVALIDATE, media_type="text/html; charset=utf-8")


def _answer(request: Request, path: Path, cache_control: str, media_type: str | None = None) -> Response:
    asset = _asset(path)
    headers = _headers(cache_control) | {"ETag": asset.etag}
    validators = _etags(request.headers.get("if-none-match", ""))
    if asset.etag in validators or "*" in validators:
        return Response(status_code=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and _accepts_gzip(request.headers.get("accept-encoding", "")):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        body = b""
    return Response(body, media_type=media_type or asset.media_type, headers=headers)


def _asset(path: Path) -> _Asset:
    """The file from memory, read (and compressed) again when it changed on disk."""
    stat = path.stat()
    cached = _assets.get(path)
    if cached is not None and cached.mtime_ns == stat.st_mtime_ns and cached.size == stat.st_size:
        return cached
    body = path.read_bytes()
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    gzipped = None
    if media_type.startswith(_COMPRESSIBLE) and len(body) >= _MIN_COMPRESSED_BYTES:
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        if len(gzipped) >= len(body):
            gzipped = None
    asset = _Asset(body=body, gzipped=gzipped, media_type=media_type,
                   etag=f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"',
                   mtime_ns=stat.st_mtime_ns, size=stat.st_size)
    if len(_assets) >= _MAX_ENTRIES:
        _assets.clear()
    _assets[path] = asset
    return asset


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether ``Accept-Encoding`` allows gzip: named, or else ``*``, with a q-value above zero."""
    qualities: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        qualities[name.strip().lower()] = quality
    return qualities.get("gzip", qualities.get("*", 0.0)) > 0


def _etags(if_none_match: str) -> set[str]:
    """The entity tags of an ``If-None-Match`` header (weak ones compared by their opaque part)."""
    return {tag.strip().removeprefix("W/") for tag in if_none_match.split(",") if tag.strip()}
