"""Response shapes of the campaign figures: a period, renewal, cohorts, channels."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from metrics_service.figures import Tabular


class DecileBin(BaseModel):
    """Members whose check-in rate falls in ``[low, high)`` percent (the last bin includes 100)."""

    low: int
    high: int
    members: int


class PeriodFigureRead(Tabular):
    """One period: registrations, payments, check-in rates, completion, refunds."""

    period_id: int
    series_id: int | None
    number: int | None
    ended: bool
    registrations: int
    paid: int
    cancelled: int
    expired: int
    members: int
    revenue_fen: int
    checkin_days: int = Field(description="days of the period with at least one check-in")
    checkin_rate_deciles: list[DecileBin]
    completed: int = Field(description="met the refund rule's first tier")
    completion_rate: float | None
    refunds_issued: int
    refunds_settled: int
    refund_total_fen: int

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """Name/value rows, then the decile bins."""
        rows: list[list[Any]] = [
            [k, v] for k, v in self.model_dump(exclude={"checkin_rate_deciles"}).items()
        ]
        rows += [[f"checkin_rate_{b.low}_{b.high}", b.members] for b in self.checkin_rate_deciles]
        return ["field", "value"], rows


class RenewalStep(BaseModel):
    """Period N → N+1 of a series (definitions: members, renewed, in a group, churned)."""

    from_period_id: int
    from_number: int | None
    to_period_id: int
    to_number: int | None
    ended_at: datetime | None = Field(description="when N ended")
    opened_at: datetime | None = Field(description="when N+1 opened")
    window_from: date | None = Field(description="first day of the activity window before N+1 opened")
    window_to: date | None
    members: int
    renewed: int
    renewal_rate: float | None
    still_in_groups: int = Field(description="members of N seen after N ended in a group of N or later")
    non_renewers_in_groups: int
    active_in_window: int = Field(description="members of N active in the mini-program in the window")
    non_renewers_active: int
    active_ratio: float | None = Field(description="active in the window among those still in groups")
    churned: int = Field(description="not renewed, not in a group, not active")
    churn_rate: float | None


class RenewalRead(Tabular):
    """Renewal between consecutive periods of a series."""

    series_id: int
    active_window_days: int
    steps: list[RenewalStep]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """One row per step."""
        fields = list(RenewalStep.model_fields)
        return fields, [[getattr(s, f) for f in fields] for s in self.steps]


class CohortPart(BaseModel):
    """A slice of a period's registrants: where they came from or went."""

    key: str
    kind: Literal["period", "channel", "unknown"]
    period_id: int | None = None
    series_id: int | None = None
    number: int | None = None
    channel_id: int | None = None
    scene: str | None = None
    members: int


class CohortPeriod(BaseModel):
    """One period of the series and its registrants split by the view."""

    period_id: int
    number: int | None
    registrants: int
    ended: bool
    parts: list[CohortPart]


class CohortsRead(Tabular):
    """Seed 002's three charts: origin, source and destination of each period's registrants."""

    series_id: int
    view: Literal["origin", "source", "destination"]
    periods: list[CohortPeriod]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """One row per period and part."""
        rows = [
            [p.period_id, p.number, p.registrants, x.key, x.kind, x.period_id, x.series_id, x.number,
             x.channel_id, x.scene, x.members]
            for p in self.periods for x in p.parts
        ]
        return ["period_id", "number", "registrants", "key", "kind", "part_period_id", "part_series_id",
                "part_number", "channel_id", "scene", "members"], rows


class FunnelStep(BaseModel):
    """One step of a channel funnel."""

    name: Literal["scanned", "followed", "registered", "paid", "completed", "renewed"]
    members: int
    conversion: float | None = Field(description="share of the first step")
    drop_off: float | None = Field(description="share lost since the previous step")


class ChannelFunnel(BaseModel):
    """A channel's people, from touch to renewal."""

    channel_id: int
    scene: str
    steps: list[FunnelStep]


class ChannelsRead(Tabular):
    """Traffic precision per channel (渠道精准度) for members touched in the range."""

    date_from: date
    date_to: date
    channels: list[ChannelFunnel]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """One row per channel and step."""
        return ["channel_id", "scene", "step", "members", "conversion", "drop_off"], [
            [c.channel_id, c.scene, s.name, s.members, s.conversion, s.drop_off] for c in self.channels for s in c.steps
        ]
