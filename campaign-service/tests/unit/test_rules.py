"""Pure rules: plan dates, deadlines, check-in rate and refund tiers."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from pydantic import ValidationError

from campaign_service.periods.rules import (
    CheckinPlan,
    Rate,
    RefundRule,
    RefundTier,
    checkin_rate,
    checkin_window,
    plan_dates,
    refund_amount,
)

BET = RefundRule(
    tiers=[RefundTier(min_percent=90, percent=100), RefundTier(min_percent=60, kind="proportional")]
)


def test_plan_dates_follow_weekdays_and_skips():
    plan = CheckinPlan(weekdays=[1, 2, 3, 4, 5], skip_dates=[date(2026, 12, 2)])
    days = plan_dates(plan, date(2026, 11, 30), date(2026, 12, 6))  # Monday .. Sunday
    assert days == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 3), date(2026, 12, 4)]


def test_deadline_and_grace():
    plan = CheckinPlan(deadline=time(22, 0), grace_minutes=60)
    days = [date(2026, 12, 1)]
    assert checkin_window(plan, days, datetime(2026, 12, 1, 22, 0)).late is False
    assert checkin_window(plan, days, datetime(2026, 12, 1, 22, 30)).late is True
    assert checkin_window(plan, days, datetime(2026, 12, 1, 23, 0)).late is True
    assert checkin_window(plan, days, datetime(2026, 12, 1, 23, 0, 1)) is None
    assert checkin_window(plan, days, datetime(2026, 12, 2, 8, 0)) is None  # not a plan date


def test_late_window_may_not_cross_midnight():
    with pytest.raises(ValidationError):
        CheckinPlan(deadline=time(23, 30), grace_minutes=60)
    assert CheckinPlan(deadline=time(23, 0), grace_minutes=60).grace_minutes == 60


def test_rate_counts_only_plan_dates():
    days = [date(2026, 12, d) for d in range(1, 11)]
    rate = checkin_rate({date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 20)}, days)
    assert (rate.checked, rate.planned) == (2, 10)


@pytest.mark.parametrize(
    ("checked", "planned", "fee", "expected"),
    [
        (10, 10, 9900, 9900),  # 100 % → full
        (9, 10, 9900, 9900),  # exactly 90 % → full (exact comparison, no rounding)
        (8, 10, 9900, 7920),  # 80 % → proportional
        (6, 10, 9900, 5940),  # exactly 60 %
        (5, 10, 9900, 0),  # below every tier
        (2, 3, 100, 66),  # 66.67 % of 1 yuan → rounded down to 66 fen
        (27, 30, 9999, 9999),  # 90 % of 30 days
        (26, 30, 9999, 8665),  # 86.67 % → 8665.8 → 8665
        (0, 0, 9900, 0),  # no plan dates → nothing
        (10, 10, 0, 0),  # free period
    ],
)
def test_refund_amounts(checked, planned, fee, expected):
    assert refund_amount(BET, fee, Rate(checked, planned)) == expected


def test_percent_tier_rounds_down():
    rule = RefundRule(tiers=[RefundTier(min_percent=50, percent=33)])
    assert refund_amount(rule, 100, Rate(1, 2)) == 33
    assert refund_amount(rule, 101, Rate(1, 2)) == 33  # 33.33 → 33


@pytest.mark.parametrize(
    "tiers",
    [
        [{"min_percent": 60, "kind": "proportional"}, {"min_percent": 90}],  # not descending
        [{"min_percent": 90}, {"min_percent": 90, "percent": 50}],  # duplicate threshold
        [{"min_percent": 90, "percent": 50}, {"min_percent": 60, "percent": 80}],  # higher rate, lower refund
        [{"min_percent": 120}],  # out of range
        [{"min_percent": 90, "percent": 101}],
    ],
)
def test_invalid_rules_are_refused(tiers):
    with pytest.raises(ValidationError):
        RefundRule.model_validate({"tiers": tiers})
