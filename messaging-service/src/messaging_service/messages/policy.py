"""Calendar rules of marketing sends: the local day of the cap and the quiet hours."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# The one enumerated set of reasons a message did not (or may not have) reached its member.
REASONS = (
    "frequency_capped", "quiet_hours_deferred", "no_credit", "window_closed", "not_following", "blocked",
    "user_refused", "duplicate", "rate_limited", "invalid_data", "provider_error", "unknown_outcome",
)


def local_date(now: datetime, zone: str) -> date:
    """The calendar day of ``now`` in ``zone`` (the cap counts Asia/Shanghai days)."""
    return now.astimezone(ZoneInfo(zone)).date()


def quiet_until(now: datetime, *, zone: str, start: time, end: time) -> datetime | None:
    """When the quiet hours around ``now`` end, or None outside them (the window may span midnight)."""
    local = now.astimezone(ZoneInfo(zone))
    t = local.time()
    if start == end:
        return None
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, ZoneInfo(zone))
