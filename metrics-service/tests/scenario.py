"""Seed 002 as the events metrics receives (no other service running): the worked numbers.

Period X1: 177 paying members, all seen in group A. X1 ends; two weeks later 87
of those who will not come back are seen in group A again; in the week before X2
opens 70 of X1's members use the mini-program (the 60 who will renew and 10
others). X2 opens three weeks after X1 ended: the 60 register, pay and are seen
in group B, with 12 newcomers from a channel QR code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.contracts import EventData, spec_of
from shared.contracts.campaign import (
    ChannelTouched,
    CheckinRecorded,
    CommunityMemberSeen,
    PeriodClosed,
    PeriodOpened,
    RefundIssued,
    RefundSettled,
    RegistrationCreated,
    RegistrationPaid,
)
from shared.contracts.gateway import ActivityRecorded
from shared.contracts.identity import MemberCreated, MemberFollowed
from shared.events.envelope import Envelope

SHANGHAI = ZoneInfo("Asia/Shanghai")
FEE = 9900
SERIES = 7
X1, X2 = 71, 72
GROUP_A, GROUP_B = 501, 502
CHANNEL = 9
DAYS = 10


@dataclass
class Scenario:
    """The envelopes (topic, key, envelope) in the order the producers would publish them."""

    start: datetime
    events: list[tuple[str, str, Envelope]] = field(default_factory=list)
    x1_members: list[int] = field(default_factory=list)
    newcomers: list[int] = field(default_factory=list)
    x2_open: datetime | None = None

    def add(self, data: EventData, *, at: datetime, member_no: int | None, key: str | None = None) -> None:
        spec = spec_of(data)
        envelope = Envelope(
            type=spec.type, version=spec.version, source="test", occurred_at=at, member_no=member_no,
            data=data.model_dump(mode="json"),
        )
        self.events.append((spec.topic, key or str(member_no), envelope))


def seed_002(*, period1: int = 177, returning: int = 60, still_in_a: int = 87, active_others: int = 10,
             newcomers: int = 12, first_member: int = 10001) -> Scenario:
    """The worked numbers of seed 002, as events."""
    start = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
    s = Scenario(start=start)
    people = list(range(first_member, first_member + period1))
    s.x1_members = people
    for i, m in enumerate(people):
        s.add(MemberCreated(member_no=m, app="mp", appid="wxmp", openid=f"o-{m}"),
              at=start - timedelta(days=1, minutes=-i), member_no=m)
    s.add(PeriodOpened(series_id=SERIES, period_id=X1, number=1, capacity=1000, fee_fen=FEE),
          at=start, member_no=None, key=f"period-{X1}")
    reg = 1000
    for m in people:
        reg += 1
        s.add(RegistrationCreated(member_no=m, registration_id=reg, series_id=SERIES, period_id=X1, fee_fen=FEE),
              at=start + timedelta(hours=1), member_no=m)
        s.add(RegistrationPaid(member_no=m, registration_id=reg, period_id=X1, amount_fen=FEE,
                               transaction_id=f"t{reg}"), at=start + timedelta(hours=2), member_no=m)
        s.add(CommunityMemberSeen(member_no=m, open_gid="G-X1-A", community_id=GROUP_A),
              at=start + timedelta(hours=3), member_no=m)
    first_day = (start + timedelta(days=1)).date()
    checkin = 5000
    # Dwell during X1: about 1,400 s per member per day in the first week, about 700 s in the last days.
    for day in range(DAYS):
        moment = datetime.combine(first_day + timedelta(days=day), time(20, 0), SHANGHAI)
        seconds = 1400 - 700 * day // (DAYS - 1)
        for i, m in enumerate(people):
            if i % 2 == 0 or day < 5:  # half check in every day, the others the first five days
                checkin += 1
                s.add(CheckinRecorded(member_no=m, checkin_id=checkin, period_id=X1, local_date=moment.date(),
                                      late=False, image_count=1), at=moment, member_no=m)
            s.add(ActivityRecorded(member_no=m, kind="page.viewed", at=moment, page="pages/study",
                                   duration_ms=seconds * 1000, client_event_id=f"d{day}-{m}"),
                  at=moment, member_no=m)
    ended = datetime.combine(first_day + timedelta(days=DAYS), time(9, 0), SHANGHAI)
    s.add(PeriodClosed(series_id=SERIES, period_id=X1, registrants=period1, refunds_due=period1 // 2,
                       refund_total_fen=0), at=ended, member_no=None, key=f"period-{X1}")
    refund = 9000
    for i, m in enumerate(people):
        if i % 2 == 0:  # checked in every day: the first tier, everything back
            refund += 1
            s.add(RefundIssued(member_no=m, refund_id=refund, period_id=X1, registration_id=1001 + i,
                               out_refund_no=f"r{refund}", amount_fen=FEE), at=ended, member_no=m)
            s.add(RefundSettled(member_no=m, refund_id=refund, period_id=X1, out_refund_no=f"r{refund}",
                                amount_fen=FEE), at=ended + timedelta(minutes=5), member_no=m)
    back, others = people[:returning], people[returning:]
    for m in others[:still_in_a]:
        s.add(CommunityMemberSeen(member_no=m, open_gid="G-X1-A", community_id=GROUP_A),
              at=ended + timedelta(days=14), member_no=m)
    x2_open = ended + timedelta(days=21)
    s.x2_open = x2_open
    for m in back + others[:active_others]:
        at = x2_open - timedelta(days=3)
        s.add(ActivityRecorded(member_no=m, kind="page.viewed", at=at, page="pages/home", duration_ms=60_000,
                               client_event_id=f"w-{m}"), at=at, member_no=m)
    s.add(PeriodOpened(series_id=SERIES, period_id=X2, number=2, capacity=1000, fee_fen=FEE),
          at=x2_open, member_no=None, key=f"period-{X2}")
    fresh = list(range(first_member + period1, first_member + period1 + newcomers))
    s.newcomers = fresh
    for m in fresh:
        at = x2_open + timedelta(minutes=10)
        s.add(MemberCreated(member_no=m, app="oa", appid="wxoa", openid=f"oa-{m}", channel_scene="x2-poster"),
              at=at, member_no=m)
        s.add(MemberFollowed(member_no=m, appid="wxoa", openid=f"oa-{m}", scene="x2-poster", followed_at=at),
              at=at, member_no=m)
        s.add(ChannelTouched(member_no=m, channel_id=CHANNEL, scene="x2-poster", first_touch=True),
              at=at, member_no=m)
    for m in back + fresh:
        reg += 1
        s.add(RegistrationCreated(member_no=m, registration_id=reg, series_id=SERIES, period_id=X2, fee_fen=FEE),
              at=x2_open + timedelta(hours=1), member_no=m)
        s.add(RegistrationPaid(member_no=m, registration_id=reg, period_id=X2, amount_fen=FEE,
                               transaction_id=f"t{reg}"), at=x2_open + timedelta(hours=2), member_no=m)
        s.add(CommunityMemberSeen(member_no=m, open_gid="G-X2-B", community_id=GROUP_B),
              at=x2_open + timedelta(hours=3), member_no=m)
    return s


def expected_renewal() -> dict[str, Any]:
    """What the renewal figure must say for X1 → X2."""
    return {
        "members": 177, "renewed": 60, "renewal_rate": 0.339, "still_in_groups": 147,
        "non_renewers_in_groups": 87, "active_in_window": 70, "non_renewers_active": 10,
        "active_ratio": 0.476, "churned": 30, "churn_rate": 0.169,
    }
