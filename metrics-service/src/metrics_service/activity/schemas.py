"""Response shapes of the audience figures: lifecycle, retention, dwell, heatmap."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from metrics_service.figures import Tabular


class LifecycleBucket(BaseModel):
    """Members per lifecycle state in one bucket."""

    start: date
    new: int
    returning: int = Field(description="active now and in the bucket before")
    resurrecting: int = Field(description="active now, not in the bucket before, not new")
    dormant: int = Field(description="active in the bucket before, not now")


class LifecycleRead(Tabular):
    """New / returning / resurrecting / dormant per interval."""

    date_from: date
    date_to: date
    granularity: str
    buckets: list[LifecycleBucket]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """One row per bucket."""
        return ["bucket", "new", "returning", "resurrecting", "dormant"], [
            [b.start, b.new, b.returning, b.resurrecting, b.dormant] for b in self.buckets
        ]


class CohortRow(BaseModel):
    """Members first seen in one bucket and how many were active k intervals later."""

    cohort: date
    size: int
    active: list[int] = Field(description="active members at interval 0, 1, … N")
    rates: list[float | None]


class RetentionRead(Tabular):
    """A cohort table by first-seen bucket."""

    date_from: date
    date_to: date
    granularity: str
    intervals: int
    cohorts: list[CohortRow]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """One row per cohort, one column per interval."""
        header = ["cohort", "size", *[f"k{k}" for k in range(self.intervals + 1)]]
        return header, [[c.cohort, c.size, *c.active] for c in self.cohorts]


class DwellPoint(BaseModel):
    """Average seconds in the mini-program per active member per day, in one bucket."""

    start: date
    seconds: float | None
    member_days: int


class DwellRead(Tabular):
    """Dwell time and its trend."""

    date_from: date
    date_to: date
    granularity: str
    average_seconds: float | None
    previous_average_seconds: float | None
    change: float | None
    trend_seconds_per_day: float | None = Field(description="least-squares slope of the daily averages")
    series: list[DwellPoint]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """One row per bucket."""
        return ["bucket", "seconds", "member_days"], [[p.start, p.seconds, p.member_days] for p in self.series]


class HeatCell(BaseModel):
    """Mini-program events in one hour of one weekday (1 = Monday, Asia/Shanghai)."""

    weekday: int
    hour: int
    events: int


class HeatmapRead(Tabular):
    """Activity by hour × weekday."""

    date_from: date
    date_to: date
    cells: list[HeatCell]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """One row per weekday, one column per hour."""
        grid = {(c.weekday, c.hour): c.events for c in self.cells}
        return ["weekday", *[f"h{h:02d}" for h in range(24)]], [
            [d, *[grid.get((d, h), 0) for h in range(24)]] for d in range(1, 8)
        ]
