"""Group → period links from campaign.community.linked / .unlinked, a sighting's own period_ids, and the inference."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from scenario import SHANGHAI, Scenario

from shared.contracts.campaign import (
    CommunityLinked,
    CommunityMemberSeen,
    CommunityUnlinked,
    PeriodClosed,
    PeriodOpened,
    RegistrationCreated,
    RegistrationPaid,
)

pytestmark = pytest.mark.slow
SERIES, P1, P2 = 81, 811, 812
INFERRED, LINKED, NAMED = 9101, 9102, 9103


def links_scenario() -> Scenario:
    """Members a, b, c, d of P1; after P1 ends each is seen in a group that counts for P1 in a different way."""
    start = datetime(2026, 5, 4, 10, 0, tzinfo=SHANGHAI)
    s = Scenario(start=start)
    a, b, c, d = 20001, 20002, 20003, 20004
    s.add(PeriodOpened(series_id=SERIES, period_id=P1, number=1, capacity=10, fee_fen=100), at=start,
          member_no=None, key=f"period-{P1}")
    for i, m in enumerate((a, b, c, d)):
        s.add(RegistrationCreated(member_no=m, registration_id=81000 + i, series_id=SERIES, period_id=P1,
                                  fee_fen=100), at=start + timedelta(hours=1), member_no=m)
        s.add(RegistrationPaid(member_no=m, registration_id=81000 + i, period_id=P1, amount_fen=100,
                               transaction_id=f"tl{i}"), at=start + timedelta(hours=2), member_no=m)
    # Group INFERRED: first seen (a, during P1) without links: it belongs to P1 by inference.
    s.add(CommunityMemberSeen(member_no=a, open_gid="G-inf", community_id=INFERRED),
          at=start + timedelta(hours=3), member_no=a)
    # Group LINKED: staff link it to P1; its sightings name no periods (older producer).
    s.add(CommunityLinked(community_id=LINKED, open_gid="G-link", period_id=P1, series_id=SERIES,
                          occurred_at=start + timedelta(hours=4)), at=start + timedelta(hours=4), member_no=None,
          key=f"community-{LINKED}")
    ended = start + timedelta(days=10)
    s.add(PeriodClosed(series_id=SERIES, period_id=P1, registrants=4, refunds_due=0, refund_total_fen=0),
          at=ended, member_no=None, key=f"period-{P1}")
    s.add(CommunityMemberSeen(member_no=a, open_gid="G-inf", community_id=INFERRED),
          at=ended + timedelta(days=1), member_no=a)  # inferred group: counts
    # (Keyed by the group here so the unlink surely comes between them; a sighting applied before its
    # link event is recovered when the link arrives.)
    s.add(CommunityMemberSeen(member_no=b, open_gid="G-link", community_id=LINKED),
          at=ended + timedelta(days=1), member_no=b, key=f"community-{LINKED}")  # linked at that moment: counts
    s.add(CommunityUnlinked(community_id=LINKED, open_gid="G-link", period_id=P1, series_id=SERIES,
                            occurred_at=ended + timedelta(days=2)), at=ended + timedelta(days=2), member_no=None,
          key=f"community-{LINKED}")
    s.add(CommunityMemberSeen(member_no=d, open_gid="G-link", community_id=LINKED),
          at=ended + timedelta(days=3), member_no=d, key=f"community-{LINKED}")  # after the unlink: no
    # Group NAMED: first seen after P1 ended (no inference), but the sighting names P1.
    s.add(CommunityMemberSeen(member_no=c, open_gid="G-named", community_id=NAMED, period_id=P1, period_ids=[P1]),
          at=ended + timedelta(days=1), member_no=c)
    s.add(PeriodOpened(series_id=SERIES, period_id=P2, number=2, capacity=10, fee_fen=100),
          at=ended + timedelta(days=20), member_no=None, key=f"period-{P2}")
    return s


async def test_sightings_count_for_linked_named_and_inferred_periods(metrics_factory):
    s = links_scenario()
    async with metrics_factory() as m:
        await m.publish(s.events)
        await m.drained()
        (step,) = (await m.get(f"/admin/v1/metrics/series/{SERIES}/renewal"))["steps"]
        assert (step["members"], step["renewed"], step["still_in_groups"], step["churned"]) == (4, 0, 3, 1)
        groups = {g["community_id"]: g for g in (await m.get(
            "/admin/v1/metrics/communities", **{"from": "2026-05-01", "to": "2026-06-30"}))["groups"]}
        assert groups[LINKED]["period_id"] == P1 and groups[LINKED]["series_id"] == SERIES
        assert groups[INFERRED]["period_id"] == P1
        # Every event again: nothing changes.
        await m.publish(s.events)
        await m.drained()
        (again,) = (await m.get(f"/admin/v1/metrics/series/{SERIES}/renewal"))["steps"]
        assert again == step


LATE = 9104


async def test_a_sighting_before_the_groups_first_link_counts_for_it_whichever_arrives_first(metrics_factory):
    """Staff accept a group's proposed period after its first cards: those cards count for that period.

    Both orders of the sighting and the link event (different partitions in
    production) give the same figure.
    """
    start = datetime(2026, 7, 6, 10, 0, tzinfo=SHANGHAI)
    ended = start + timedelta(days=10)
    member = 20011
    setup = Scenario(start=start)
    setup.add(PeriodOpened(series_id=SERIES + 1, period_id=P1 + 10, number=1, capacity=10, fee_fen=0), at=start,
              member_no=None, key=f"period-{P1 + 10}")
    setup.add(RegistrationCreated(member_no=member, registration_id=82000, series_id=SERIES + 1,
                                  period_id=P1 + 10, fee_fen=0), at=start + timedelta(hours=1), member_no=member)
    setup.add(PeriodClosed(series_id=SERIES + 1, period_id=P1 + 10, registrants=1, refunds_due=0,
                           refund_total_fen=0), at=ended, member_no=None, key=f"period-{P1 + 10}")
    setup.add(PeriodOpened(series_id=SERIES + 1, period_id=P2 + 10, number=2, capacity=10, fee_fen=0),
              at=ended + timedelta(days=20), member_no=None, key=f"period-{P2 + 10}")
    seen = Scenario(start=start)
    seen.add(CommunityMemberSeen(member_no=member, open_gid="G-late", community_id=LATE),
             at=ended + timedelta(days=21), member_no=member, key=f"community-{LATE}")
    linked = Scenario(start=start)
    linked.add(CommunityLinked(community_id=LATE, open_gid="G-late", period_id=P2 + 10, series_id=SERIES + 1,
                               occurred_at=ended + timedelta(days=22)), at=ended + timedelta(days=22),
               member_no=None, key=f"community-{LATE}")
    async with metrics_factory() as m:
        await m.publish(setup.events)
        await m.drained()
        await m.publish(linked.events)  # the link event is applied first ...
        await m.drained()
        await m.publish(seen.events)  # ... then the earlier sighting
        await m.drained()
        (step,) = (await m.get(f"/admin/v1/metrics/series/{SERIES + 1}/renewal"))["steps"]
        assert (step["members"], step["still_in_groups"], step["churned"]) == (1, 1, 0)
