"""Typed service errors rendered as RFC 9457 problem documents.

Code below the routers raises these; one set of handlers renders them as
``application/problem+json``. Unknown errors become a 500 problem carrying the
request id and never a stack trace.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.observability import current_request_id

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://qunyun.dev/problems/"

log = structlog.get_logger("shared.errors")

# SQLSTATEs of a database that is overloaded or starting, not of bad input:
# too many connections (53300) and the rest of class 53, cannot connect now (57P03).
OVERLOAD_SQLSTATE_PREFIXES = ("53", "57P03")
OVERLOAD_RETRY_AFTER_SECONDS = "1"


class ServiceError(Exception):
    """Base of every expected failure; subclasses fix the status and type slug."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if slug is not None:
            self.slug = slug
        if title is not None:
            self.title = title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}


class BadRequest(ServiceError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(ServiceError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(ServiceError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(ServiceError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ServiceError):
    status, slug, title = 409, "conflict", "Conflict"


class Gone(ServiceError):
    status, slug, title = 410, "gone", "Gone"


class PayloadTooLarge(ServiceError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class Invalid(ServiceError):
    status, slug, title = 422, "validation-error", "Invalid request"


class TooManyRequests(ServiceError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class Unavailable(ServiceError):
    status, slug, title = 503, "unavailable", "Service temporarily unavailable"


class UpstreamError(ServiceError):
    status, slug, title = 502, "upstream-error", "Upstream service error"


_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Invalid request"),
    429: ("too-many-requests", "Too many requests"),
    500: ("internal-error", "Internal server error"),
    502: ("upstream-error", "Upstream service error"),
    503: ("unavailable", "Service temporarily unavailable"),
    504: ("upstream-timeout", "Upstream service timed out"),
}


def problem_document(
    status: int,
    *,
    slug: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build an RFC 9457 document; ``type`` is a stable URI per error kind."""
    default_slug, default_title = _STATUS_SLUGS.get(status, ("error", "Error"))
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (slug or default_slug),
        "title": title or default_title,
        "status": status,
        "detail": detail or title or default_title,
    }
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def problem_response(
    status: int, *, headers: dict[str, str] | None = None, **fields: Any
) -> JSONResponse:
    """A problem+json response."""
    return JSONResponse(
        problem_document(status, **fields),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _field_errors(exc: RequestValidationError) -> tuple[bool, list[dict[str, Any]]]:
    malformed = False
    errors: list[dict[str, Any]] = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            malformed = True
        loc = [str(part) for part in err.get("loc", ())]
        errors.append({"field": ".".join(loc), "message": err.get("msg", ""), "code": err.get("type")})
    return malformed, errors


def install_error_handlers(app: FastAPI) -> None:
    """Render every failure of ``app`` as problem+json."""

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return problem_response(
            exc.status,
            slug=exc.slug,
            title=exc.title,
            detail=exc.detail,
            errors=exc.errors,
            extra=exc.extra,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        malformed, errors = _field_errors(exc)
        if malformed:
            return problem_response(
                400, slug="malformed-json", title="Malformed JSON body",
                detail="The request body is not valid JSON.",
            )
        return problem_response(
            422, slug="validation-error", title="Invalid request",
            detail="Some fields are missing or invalid.", errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(exc.status_code, detail=detail, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        if is_overload(exc):
            # Every connection busy under a burst: the client may retry; nothing was done.
            log.warning("database_overloaded", error_type=type(exc).__name__)
            return problem_response(
                503, slug="unavailable", title="Service temporarily unavailable",
                detail="服务繁忙，请稍后重试。The service is busy; retry shortly.",
                headers={"Retry-After": OVERLOAD_RETRY_AFTER_SECONDS},
            )
        if isinstance(exc, DBAPIError):
            # Input that reached PostgreSQL and was refused is a validation gap:
            # log the SQLSTATE (never the parameters, which may hold personal data).
            orig = getattr(exc, "orig", None)
            sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
            log.error("database_error", error_type=type(orig).__name__, sqlstate=sqlstate, exc_info=exc)
        else:
            log.error("unhandled_error", error_type=type(exc).__name__, exc_info=exc)
        # This response is built outside the request-id middleware (Starlette's
        # outermost error layer), so echo the id here for support to find it.
        request_id = current_request_id()
        return problem_response(
            500, detail="An unexpected error occurred; quote the request id when reporting it.",
            headers={"x-request-id": request_id} if request_id else None,
        )


def is_overload(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is saturated (pool exhausted, too many connections)."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        orig = getattr(exc, "orig", None)
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        return isinstance(sqlstate, str) and sqlstate.startswith(OVERLOAD_SQLSTATE_PREFIXES)
    return False
