"""The definitions behind every figure of the operations index (运营指数).

Every figure in this service is computed from these rules and nothing else;
change a rule here and every figure changes with it. The slow figures read
summaries kept at ingest (``metrics_service.summaries``: period member and
seen-after bitmaps, cohort key bitmaps, channel funnel rows and day counts,
group bitmaps, period figures); each is recomputed from the fact tables by
these same rules for exactly what an event batch touched, so it always equals
the rule applied to the facts.

Members active (and active in the mini-program, and new) per day are Roaring
bitmaps (``day_bitmaps``); each member added to a day is added at the same
moment to that day's **ISO week** (Monday to Sunday) and **calendar month**
bitmaps (``span_bitmaps``), Asia/Shanghai days like everything here, so a
week's or month's bitmap is exactly the union of its days' (a bitmap OR is
idempotent: a redelivered event changes nothing). The ``new`` bitmap of a week
or month is that interval's first-seen cohort. A figure over a range reads the
fewest whole months, whole weeks and single days that make up the range
(``activity.bitmaps.pieces``); a bucket cut by the range's first or last day
counts only its days inside the range, as before.

Retention and lifecycle read counts derived from the day, week and month
bitmaps (``activity.transitions``): ``retention_pairs`` holds, per unit, per
first-seen bucket and each later bucket up to 60 on (the most intervals
``/retention`` accepts), how many of that bucket's new members were active in
the later one; ``lifecycle_buckets`` holds each whole bucket's new / returning
/ resurrecting / dormant members against the bucket before. Each count is
recomputed from the bitmaps as they stand whenever one it reads changes (never
incremented), under one lock shared by every writer of the bitmaps, so it
always equals the rule applied to the bitmaps — under redelivery, merges and
the rebuild alike. A bucket a range cuts is computed from its days' bitmaps.

Time
    A **day** is an Asia/Shanghai calendar day (``TIMEZONE``). The moment of
    an event is its envelope's ``occurred_at`` (for ``app.activity.recorded``,
    the device's ``at`` when the gateway accepted one, else ``occurred_at``):
    never the wall clock of this service, so a test clock moved in the
    producing service moves the days here too. A **range** is ``from``…``to``,
    both days inclusive; the **previous range** is the range of the same
    length that ends the day before ``from`` (环比).

Active member
    A member is **active** on a day when anything they did was recorded that
    day: mini-program activity (``app.activity``), a check-in, a
    registration or payment, a group sighting, a follow, or a message or event
    they sent to the service account (``wechat.inbound``, resolved to the
    member through the openids identity announced).

    A member is **active in the mini-program** on a day when the mini-program
    recorded telemetry for them (``app.activity``) or a check-in. Logins and
    group sightings do not count here (a login is the mini-program opening,
    not using it): they are what "in a group" measures, so the
    two numbers of the renewal figure stay independent.

Period calendar
    A period **ended** when ``campaign.period.closed`` occurred. A period
    **opened** at the earlier of its first registration and
    ``campaign.period.opened`` — but campaign-service stamps ``period.opened``
    with the wall clock rather than its (test) clock, so when that stamp lies
    before the previous period of the series ended, the first registration
    alone counts.

Groups of a period
    Metrics knows groups from sightings (``campaign.community.member_seen``)
    and their links from ``campaign.community.linked`` / ``.unlinked``. A
    sighting **counts for** the periods it names (``period_ids``: the group's
    links at that moment, as campaign-service knew them); for a sighting that
    names none, the periods the group was linked to at that moment by the
    link events metrics saw; failing both, the group's **inferred** period:
    the period whose registrant opened the first card seen in the group while
    that period had not ended (the member's latest such registration), which
    mirrors the period campaign-service proposes for a new group. A sighting
    made **before the group's first link** counts for that first link's
    periods: a group is usually linked after its first cards (staff accept
    the period those cards proposed), and its people were that period's from
    the start. Whether such a sighting is applied before or after the link
    event, it counts the same. One link per group and period is kept (first
    link to last unlink).

In a group after period N
    A member of period N is **in a group after N** when a sighting of them
    after N ended counted for N or a later period of the same series (the series'
    community matrix: group A of X1 keeps its people, group B of X2 receives
    the renewers).

Members of a period
    The **members** of a period are its registrations that were paid (or, for
    a free period, created) and not cancelled or expired. **Renewed** from N:
    a member of N who is a member of N+1 (the next number of the series).
    **Churned** after N: neither renewed, nor in a group after N, nor active
    in the mini-program in the ``active_window_days`` before N+1 opened.

Completion
    A member **completed** a period when they met the refund rule's first
    tier; metrics sees it as a refund equal to the fee paid (the word bet's
    first tier gives everything back).

Channels
    A channel's people are the members campaign-service recorded a touch for
    (``campaign.channel.touched``); its funnel counts, of those, who followed
    the service account, registered, paid, completed and renewed (members of
    two periods of one series).

Cohort views of a series
    ``origin``: the period of this series in which each registrant first
    registered. ``source``: the first campaign (period) or channel anywhere in
    the system where each first appeared. ``destination`` (after a period
    ended): the last period anywhere in which each registrant registered.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

TIMEZONE = ZoneInfo("Asia/Shanghai")
# Longest range a figure answers, and the earliest and latest day it accepts.
MAX_RANGE_DAYS = 400
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
# A single page view longer than this is a phone left open, not reading.
MAX_DWELL_MS = 4 * 3600 * 1000
DEFAULT_ACTIVE_WINDOW_DAYS = 7


def local_day(moment: datetime) -> date:
    """The Asia/Shanghai calendar day of a moment."""
    return moment.astimezone(TIMEZONE).date()


# Asia/Shanghai has kept UTC+8 without daylight saving since 1991: the hot path
# adds the offset instead of asking the zone database (same answer).
_FIXED_SINCE = datetime(1992, 1, 1, tzinfo=TIMEZONE)
_OFFSET = timedelta(hours=8)


def local_day_hour(moment: datetime) -> tuple[date, int]:
    """The Asia/Shanghai day and hour of a moment (timezone-aware)."""
    local = moment.astimezone(UTC) + _OFFSET if moment >= _FIXED_SINCE else moment.astimezone(TIMEZONE)
    return local.date(), local.hour


def local_hour(moment: datetime) -> int:
    """The Asia/Shanghai hour (0–23) of a moment."""
    return moment.astimezone(TIMEZONE).hour


def previous_range(first: date, last: date) -> tuple[date, date]:
    """The range of the same length ending the day before ``first`` (环比)."""
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)


def change(current: float, previous: float) -> float | None:
    """Relative change against the previous range; None when there was nothing before."""
    if previous == 0:
        return None
    return round((current - previous) / previous, 4)


def rate(part: int, whole: int) -> float | None:
    """A share rounded to 0.1 % (as a fraction), None of nothing."""
    if whole == 0:
        return None
    return round(part / whole, 3)


def period_opened_at(
    *, announced: datetime | None, first_registration: datetime | None, previous_ended: datetime | None
) -> datetime | None:
    """When a period opened (see "Period calendar")."""
    if announced is not None and previous_ended is not None and announced < previous_ended:
        announced = None
    moments = [m for m in (announced, first_registration) if m is not None]
    return min(moments) if moments else None
