"""Pure rules of a period: plan dates, check-in deadlines, check-in rate and refund tiers.

No I/O here: everything takes plain values so it can be unit-tested exhaustively.

Money is in fen (integers). Rounding: a refund is rounded **down** to the fen
(never more than the rule promises, never more than the fee); the rate a tier
is compared against is exact (``checked * 100 >= min_percent * planned``), not
a rounded percentage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TierKind = Literal["percent", "proportional"]


class RefundTier(BaseModel):
    """From ``min_percent`` % check-in rate: refund ``percent`` % of the fee, or the rate itself."""

    model_config = ConfigDict(frozen=True)

    min_percent: int = Field(ge=0, le=100, description="lowest check-in rate (in %) this tier applies to")
    kind: TierKind = "percent"
    percent: int = Field(100, ge=0, le=100, description="share of the fee refunded (kind=percent)")


class RefundRule(BaseModel):
    """Tiers from the highest threshold down; the first tier reached applies, none → no refund."""

    model_config = ConfigDict(frozen=True)

    tiers: list[RefundTier] = Field(default_factory=list, max_length=10)

    @field_validator("tiers")
    @classmethod
    def _ordered(cls, tiers: list[RefundTier]) -> list[RefundTier]:
        for higher, lower in pairwise(tiers):
            if higher.min_percent <= lower.min_percent:
                raise ValueError("退款档位须按打卡率从高到低排列，且门槛不能重复")
            if higher.kind == "percent" and lower.kind == "percent" and higher.percent < lower.percent:
                raise ValueError("打卡率更高的档位退款比例不能更低")
        return tiers


class CheckinPlan(BaseModel):
    """Which dates count, the daily deadline, the late grace window and the evidence asked for."""

    model_config = ConfigDict(frozen=True)

    weekdays: list[int] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], description="ISO weekdays that count (1 = Monday)"
    )
    skip_dates: list[date] = Field(default_factory=list, max_length=366)
    deadline: time = time(22, 0)
    grace_minutes: int = Field(60, ge=0, le=24 * 60)
    require_text: bool = False
    min_images: int = Field(0, ge=0, le=9)

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, days: list[int]) -> list[int]:
        if not days or any(d < 1 or d > 7 for d in days):
            raise ValueError("打卡日须为 1–7 的星期数，且至少一天")
        return sorted(set(days))

    @model_validator(mode="after")
    def _within_the_day(self) -> CheckinPlan:
        # A check-in always counts for the local date it is made on, so the late
        # window may not run past midnight (a retry then finds the same day).
        end = datetime.combine(date(2000, 1, 1), self.deadline) + timedelta(minutes=self.grace_minutes)
        if end.date() != date(2000, 1, 1) and end.time() != time(0, 0):
            raise ValueError("截止时间加宽限期不能跨过午夜")
        return self


def plan_dates(plan: CheckinPlan, start: date, end: date) -> list[date]:
    """Every date between ``start`` and ``end`` (inclusive) that counts for check-in."""
    skip = set(plan.skip_dates)
    days: list[date] = []
    current = start
    while current <= end:
        if current.isoweekday() in plan.weekdays and current not in skip:
            days.append(current)
        current += timedelta(days=1)
    return days


@dataclass(frozen=True)
class CheckinWindow:
    """Where a moment falls for one plan date."""

    local_date: date
    late: bool


def checkin_window(plan: CheckinPlan, dates: list[date], now_local: datetime) -> CheckinWindow | None:
    """The plan date a check-in made at ``now_local`` counts for, or None when it is refused.

    ``now_local`` is a naive or aware time in the period's zone. On time up to the
    deadline, late within the grace window after it, refused afterwards or on a
    date outside the plan.
    """
    today = now_local.date()
    if today not in dates:
        return None
    clock = now_local.replace(tzinfo=None)
    deadline = datetime.combine(today, plan.deadline)
    if clock <= deadline:
        return CheckinWindow(today, late=False)
    if clock <= deadline + timedelta(minutes=plan.grace_minutes):
        return CheckinWindow(today, late=True)
    return None


@dataclass(frozen=True)
class Rate:
    """A check-in rate as an exact fraction."""

    checked: int
    planned: int

    @property
    def percent(self) -> float:
        """For display only; rules compare the exact fraction."""
        return round(100 * self.checked / self.planned, 2) if self.planned else 0.0

    def reaches(self, min_percent: int) -> bool:
        """Whether the rate is at least ``min_percent`` %, exactly."""
        if self.planned == 0:
            return False
        return self.checked * 100 >= min_percent * self.planned


def checkin_rate(checked_dates: set[date], dates: list[date]) -> Rate:
    """Valid check-ins on plan dates over the number of plan dates."""
    planned = set(dates)
    return Rate(checked=len(checked_dates & planned), planned=len(planned))


def refund_amount(rule: RefundRule, fee_fen: int, rate: Rate) -> int:
    """The refund earned by ``rate``, in fen, rounded down, never above the fee."""
    if fee_fen <= 0:
        return 0
    for tier in rule.tiers:
        if rate.reaches(tier.min_percent):
            if tier.kind == "proportional":
                amount = fee_fen * rate.checked // rate.planned
            else:
                amount = fee_fen * tier.percent // 100
            return max(0, min(amount, fee_fen))
    return 0
