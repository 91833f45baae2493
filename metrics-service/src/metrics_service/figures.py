"""What every figure shares: the range and granularity parameters, buckets, CSV rendering."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel

from metrics_service import definitions
from shared.auth import require_roles
from shared.csv_export import csv_response
from shared.errors import Invalid

READ_ROLES = ("admin", "operator", "sales", "viewer")
READ = require_roles(*READ_ROLES)


class Granularity(StrEnum):
    """Bucket of a series."""

    day = "day"
    week = "week"
    month = "month"


class Format(StrEnum):
    """Answer as JSON (default) or as a CSV download."""

    json = "json"
    csv = "csv"


_PROBLEM = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
# Declared so the OpenAPI (and schemathesis) know every answer a figure can give.
FIGURE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "JSON, or CSV with format=csv"},
    401: {"description": "No staff session", **_PROBLEM},
    403: {"description": "Role not allowed", **_PROBLEM},
    422: {"description": "Invalid range or parameter", **_PROBLEM},
}
NOT_FOUND_RESPONSES: dict[int | str, dict[str, Any]] = {
    **FIGURE_RESPONSES, 404: {"description": "Unknown period or series", **_PROBLEM}
}


@dataclass(frozen=True)
class Window:
    """A validated range of local days, its bucket unit and the answer's format."""

    first: date
    last: date
    unit: str
    csv: bool

    @property
    def previous(self) -> tuple[date, date]:
        """The previous equal range (环比)."""
        return definitions.previous_range(self.first, self.last)

    @property
    def days(self) -> int:
        """Days in the range."""
        return (self.last - self.first).days + 1

    def buckets(self) -> list[date]:
        """Start of every bucket that overlaps the range."""
        return buckets(self.first, self.last, self.unit)


def today() -> date:
    """Today in Asia/Shanghai (the default end of a range)."""
    return definitions.local_day(datetime.now(definitions.TIMEZONE))


def check_range(first: date, last: date) -> None:
    """422 unless ``first <= last``, both within the accepted years, at most MAX_RANGE_DAYS long."""
    if not (definitions.EARLIEST_DAY <= first <= definitions.LATEST_DAY) or not (
        definitions.EARLIEST_DAY <= last <= definitions.LATEST_DAY
    ):
        raise Invalid(
            f"日期须在 {definitions.EARLIEST_DAY} 至 {definitions.LATEST_DAY} 之间。", slug="date-out-of-range"
        )
    if first > last:
        raise Invalid("开始日期不能晚于结束日期。", slug="invalid-range")
    if (last - first).days + 1 > definitions.MAX_RANGE_DAYS:
        raise Invalid(f"时间范围最长 {definitions.MAX_RANGE_DAYS} 天。", slug="range-too-long")


def _window(
    date_from: Annotated[date | None, Query(alias="from", description="first day (Asia/Shanghai), inclusive")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="last day (Asia/Shanghai), inclusive")] = None,
    granularity: Annotated[Granularity, Query(description="bucket of the series")] = Granularity.day,
    format: Annotated[Format, Query(description="json (default) or csv")] = Format.json,
) -> Window:
    last = date_to or today()
    if date_from is None:
        first = last - timedelta(days=29) if last >= definitions.EARLIEST_DAY + timedelta(days=29) else last
    else:
        first = date_from
    check_range(first, last)
    return Window(first=first, last=last, unit=granularity.value, csv=format is Format.csv)


WindowDep = Annotated[Window, Depends(_window)]


def buckets(first: date, last: date, unit: str) -> list[date]:
    """Bucket starts (day; Monday; first of month) from the one holding ``first`` to ``last``."""
    start = bucket_of(first, unit)
    out = []
    while start <= last:
        out.append(start)
        start = next_bucket(start, unit)
    return out


def bucket_of(day: date, unit: str) -> date:
    """The start of the bucket holding ``day``."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def next_bucket(start: date, unit: str) -> date:
    """The start of the bucket after the one starting at ``start``."""
    if unit == "week":
        return start + timedelta(days=7)
    if unit == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def previous_bucket(start: date, unit: str) -> date:
    """The start of the bucket before the one starting at ``start``."""
    if unit == "week":
        return start - timedelta(days=7)
    if unit == "month":
        return (start - timedelta(days=1)).replace(day=1)
    return start - timedelta(days=1)


def day_start(day: date) -> datetime:
    """The first moment of a local day."""
    return datetime.combine(day, time(0), definitions.TIMEZONE)


def day_end(day: date) -> datetime:
    """The first moment after a local day."""
    return day_start(day + timedelta(days=1))


class Tabular(BaseModel, ABC):
    """A figure that can also be a table (its CSV form)."""

    @abstractmethod
    def table(self) -> tuple[list[str], list[list[Any]]]:
        """Header and rows of the CSV form."""


def answer(figure: Tabular, window: Window, name: str) -> Tabular | Response:
    """The figure as JSON, or as CSV when the window asks for it."""
    if not window.csv:
        return figure
    header, rows = figure.table()
    return csv_response(name, header, rows)
