"""Route-level plumbing: the request's unit of work, pagination by cursor."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Invalid
from shared.fields import BIGINT_MAX

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
INVALID_CURSOR = "分页游标无效。The cursor is not valid."


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response leaves."""
    runtime = request.app.state.runtime
    async with runtime.session_factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": the commit happens after the endpoint returns and before
# the response is sent, so a client never sees success for a rolled-back write.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of items and the cursor of the next page (null at the end)."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: dict[str, Any]) -> str:
    """Opaque cursor from the sort key of the last item."""
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """Inverse of :func:`encode_cursor`; a tampered cursor is a 422."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise Invalid(INVALID_CURSOR, slug="invalid-cursor") from exc
    if not isinstance(value, dict):
        raise Invalid(INVALID_CURSOR, slug="invalid-cursor")
    return value


def cursor_int(cursor: str | None, key: str = "id") -> int | None:
    """The integer ``key`` of a page cursor as the client sent it (None without one); one no list issued is a 422.

    A client can send any base64 JSON object: a missing key, a value that is
    no integer, a negative one or one beyond BIGINT must not reach the query
    (or a bitmap's rank) as a 500.
    """
    decoded = decode_cursor(cursor)
    if decoded is None:
        return None
    value = decoded.get(key)
    # Lists write ids and member numbers: non-negative integers (bool is an int to Python, never a position).
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= BIGINT_MAX:
        raise Invalid(INVALID_CURSOR, slug="invalid-cursor")
    return value


class PageParams(BaseModel):
    """Cursor and size of a list request."""

    cursor: str | None = None
    limit: int = DEFAULT_PAGE_SIZE


def _page_params(
    cursor: Annotated[str | None, Query(description="Cursor from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)


PageDep = Annotated[PageParams, Depends(_page_params)]
