"""Shapes of the series and period APIs."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from campaign_service.periods.rules import CheckinPlan, RefundRule
from shared.fields import Id, PatchModel, Text

PeriodState = str
# A check-in reminder's local time in Asia/Shanghai, "HH:MM" (00:00–23:59).
REMINDER_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
REMINDER_TIME_DOC = (
    'check-in reminder time "HH:MM" in Asia/Shanghai; null: the messaging default (MESSAGING_CHECKIN_REMINDER_TIME)'
)


class SeriesCreate(BaseModel):
    """A new series (theme)."""

    title: Text = Field(min_length=1, max_length=100)
    description: Text = Field("", max_length=2000)


class SeriesUpdate(PatchModel):
    """Changes to a series (omitted fields stay as they are; none may be null)."""

    title: Text | None = Field(None, min_length=1, max_length=100)
    description: Text | None = Field(None, max_length=2000)


class SeriesRead(BaseModel):
    """A series."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: Text
    description: Text
    created_at: datetime


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("未知的时区") from exc
    return value


class PeriodCreate(BaseModel):
    """A new period of a series; its number is assigned in order."""

    title: Text = Field(min_length=1, max_length=100)
    registration_opens_at: datetime
    registration_closes_at: datetime
    start_date: date
    end_date: date
    timezone: Text | None = Field(
        None, description="IANA zone of the period's calendar (default Asia/Shanghai)"
    )
    capacity: int = Field(ge=1, le=1_000_000)
    fee_fen: int = Field(0, ge=0, le=10_000_000, description="registration fee in fen; 0 = free")
    checkin_plan: CheckinPlan = Field(default_factory=CheckinPlan)
    refund_rule: RefundRule = Field(default_factory=RefundRule)
    late_join: bool = Field(False, description="registration stays open while the period runs")
    auto_settle: bool = Field(True, description="refunds go out by themselves once the period closes")
    reminder_time: Text | None = Field(None, pattern=REMINDER_TIME_PATTERN, description=REMINDER_TIME_DOC)

    _zone = field_validator("timezone")(lambda v: v if v is None else _check_zone(v))

    @model_validator(mode="after")
    def _consistent(self) -> PeriodCreate:
        if self.registration_opens_at.tzinfo is None or self.registration_closes_at.tzinfo is None:
            raise ValueError("报名时间须带时区")
        if self.registration_closes_at <= self.registration_opens_at:
            raise ValueError("报名截止须晚于报名开始")
        if self.end_date < self.start_date:
            raise ValueError("结束日期不能早于开始日期")
        return self


class PeriodUpdate(PatchModel):
    """Changes to a period; after it opens only title, capacity and the registration close may change.

    Omitted fields stay as they are; none may be null.
    """

    title: Text | None = Field(None, min_length=1, max_length=100)
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    start_date: date | None = None
    end_date: date | None = None
    timezone: Text | None = None
    capacity: int | None = Field(None, ge=1, le=1_000_000)
    fee_fen: int | None = Field(None, ge=0, le=10_000_000)
    checkin_plan: CheckinPlan | None = None
    refund_rule: RefundRule | None = None
    late_join: bool | None = None
    auto_settle: bool | None = None
    reminder_time: Text | None = Field(None, pattern=REMINDER_TIME_PATTERN, description=REMINDER_TIME_DOC)

    nullable: ClassVar[frozenset[str]] = frozenset({"reminder_time"})

    _zone = field_validator("timezone")(lambda v: v if v is None else _check_zone(v))


class PeriodTransition(BaseModel):
    """Move a period to another state."""

    state: Text = Field(pattern="^(open|running|closed)$")


class PeriodRead(BaseModel):
    """A period as staff see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    series_id: Id
    number: int
    title: Text
    state: Text
    registration_opens_at: datetime
    registration_closes_at: datetime
    start_date: date
    end_date: date
    timezone: Text
    capacity: int
    taken: int
    fee_fen: int
    checkin_plan: CheckinPlan
    refund_rule: RefundRule
    late_join: bool
    auto_settle: bool
    reminder_time: Text | None = Field(None, description=REMINDER_TIME_DOC)
    opened_at: datetime | None
    closed_at: datetime | None
    settled_at: datetime | None
    cancelled_at: datetime | None


class PeriodPublic(BaseModel):
    """A period as the mini-program shows it."""

    id: int
    series_id: Id
    number: int
    title: Text
    state: Text
    registration_opens_at: datetime
    registration_closes_at: datetime
    registration_open_now: bool
    start_date: date
    end_date: date
    timezone: Text
    capacity: int
    remaining: int
    fee_fen: int
    checkin_plan: CheckinPlan
    refund_rule: RefundRule
    planned_days: int
    reminder_time: Text | None = Field(None, description=REMINDER_TIME_DOC)


class SeriesWithPeriods(BaseModel):
    """A series with its visible periods (mini-program)."""

    id: int
    title: Text
    description: Text
    periods: list[PeriodPublic]


class PeriodHistoryItem(BaseModel):
    """One move of a period: who or what moved it, when."""

    model_config = ConfigDict(from_attributes=True)

    from_state: Text
    to_state: Text
    at: datetime
    by_kind: Text = Field(description="staff, scheduler, settlement, or unknown for moves before history")
    by_id: int | None = Field(description="the staff id when by_kind is staff")
    note: Text | None


class PeriodPostpone(BaseModel):
    """New dates for a period that has not started."""

    start_date: date
    end_date: date
    registration_closes_at: datetime | None = Field(None, description="timezone-aware; unchanged if omitted")


class PeriodCancel(BaseModel):
    """Why a period is called off (shown to staff and in the refund notices)."""

    reason: Text = Field(min_length=1, max_length=200)
