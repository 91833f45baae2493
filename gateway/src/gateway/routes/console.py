"""The operations console: the built single-page app from ``console/dist`` at ``/console/``.

A path that names a file of the build is that file; any other ``/console/...``
path is ``index.html`` (the app's router resolves it in the browser). Hashed
assets under ``assets/`` never change, so browsers keep them for a year;
``index.html`` is revalidated on every load so a new build is picked up at once.
Without a build, ``/console/`` answers a 503 problem saying so.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

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


@lru_cache(maxsize=1)
def dist_dir() -> Path:
    """Where the built console lives."""
    configured = os.environ.get("QUNYUN_CONSOLE_DIST")
    return Path(configured).resolve() if configured else _REPO_DIST


def _headers(cache_control: str) -> dict[str, str]:
    return {
        "Cache-Control": cache_control,
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
async def console_file(path: str) -> Response:
    """A file of the build, or index.html for any route of the app."""
    root = dist_dir()
    index = root / "index.html"
    if not index.is_file():
        return _not_built()
    if path:
        candidate = (root / path).resolve()
        if candidate.is_relative_to(root) and candidate.is_file() and candidate != index:
            hashed = candidate.parent == root / "assets"
            return FileResponse(candidate, headers=_headers(IMMUTABLE if hashed else SHORT))
        if path.startswith("assets/"):
            # A missing hashed asset (an old build's) must not become index.html with a 200.
            return Response(status_code=404, headers=_headers(REVALIDATE))
    return FileResponse(index, media_type="text/html; charset=utf-8", headers=_headers(REVALIDATE))
