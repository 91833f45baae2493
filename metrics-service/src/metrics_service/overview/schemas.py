"""Response shapes of the overview API."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from metrics_service.figures import Tabular


class DailyValue(BaseModel):
    """One day's value."""

    day: date
    value: int


class Point(BaseModel):
    """One bucket of a series: the bucket's first day and its value."""

    start: date
    value: float


class MetricRead(BaseModel):
    """One headline number over the range, against the previous equal range (环比)."""

    name: str
    total: float
    previous: float
    change: float | None = Field(description="(total − previous) / previous; null when previous is 0")
    series: list[Point]


class OverviewRead(Tabular):
    """Headline numbers of the operations index."""

    members_total: int
    new_members: list[DailyValue]
    follows: list[DailyValue]
    date_from: date
    date_to: date
    granularity: str
    previous_from: date
    previous_to: date
    metrics: list[MetricRead]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """One row per metric and bucket, with the metric's totals."""
        rows: list[list[Any]] = []
        for m in self.metrics:
            if not m.series:
                rows.append([m.name, "", "", m.total, m.previous, m.change])
            for p in m.series:
                rows.append([m.name, p.start, p.value, m.total, m.previous, m.change])
        return ["metric", "bucket", "value", "total", "previous", "change"], rows
