"""A range read as whole months, whole weeks and days covers exactly its days."""

from __future__ import annotations

import random
from datetime import date, timedelta

from metrics_service.activity.bitmaps import DAY, MONTH, WEEK, next_month, pieces


def _days(unit: str, start: date) -> list[date]:
    end = {DAY: start + timedelta(days=1), WEEK: start + timedelta(days=7), MONTH: next_month(start)}[unit]
    return [start + timedelta(days=i) for i in range((end - start).days)]


def test_pieces_cover_exactly_the_range() -> None:
    rng = random.Random(13)
    for _ in range(2000):
        first = date(2025, 11, 1) + timedelta(days=rng.randrange(500))
        last = first + timedelta(days=rng.randrange(400))
        plan = pieces(first, last)
        covered = [d for unit, start in plan for d in _days(unit, start)]
        assert covered == [first + timedelta(days=i) for i in range((last - first).days + 1)]
        for unit, start in plan:
            assert unit != WEEK or start.weekday() == 0
            assert unit != MONTH or start.day == 1


def test_a_quarter_is_three_rows() -> None:
    assert pieces(date(2026, 1, 1), date(2026, 3, 31)) == [(MONTH, date(2026, 1, 1)), (MONTH, date(2026, 2, 1)),
                                                          (MONTH, date(2026, 3, 1))]
    # Mid-week to mid-week over 90 days: the fewest pieces (days at each end, weeks and months between), not 90.
    assert len(pieces(date(2026, 1, 7), date(2026, 4, 6))) == 18
