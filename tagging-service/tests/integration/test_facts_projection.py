"""Member facts from identity, campaign and app.activity events, through the real broker; merges re-key."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shared.contracts.campaign import (
    CheckinRecorded,
    CheckinVoided,
    CommunityMemberSeen,
    PeriodOpened,
    RegistrationCreated,
    RegistrationPaid,
)
from shared.contracts.gateway import ActivityRecorded
from shared.contracts.identity import MemberCreated, MemberFollowed, MemberMerged, PhoneBound
from shared.testing.waiting import eventually


async def test_facts_follow_the_events_and_a_merge_rekeys_everything(tagging_factory):
    async with tagging_factory() as t:
        now = datetime.now(UTC)
        for m in (10001, 10002):
            await t.publish(MemberCreated(member_no=m, app="mp", appid="wx1", openid=f"o{m}", channel_scene="qr-a"),
                            member_no=m, source="identity")
        await t.publish(PhoneBound(member_no=10001, phone_masked="138****0001", country_code="86"),
                        member_no=10001, source="identity")
        await t.publish(MemberFollowed(member_no=10001, appid="wxoa", openid="x", followed_at=now),
                        member_no=10001, source="identity")
        await t.publish(PeriodOpened(series_id=3, period_id=30, number=1, capacity=10, fee_fen=0), member_no=None)
        await t.publish(RegistrationCreated(member_no=10002, registration_id=1, series_id=3, period_id=30, fee_fen=0),
                        member_no=10002)
        await t.publish(RegistrationPaid(member_no=10002, registration_id=1, period_id=30, amount_fen=100,
                                         transaction_id="t"), member_no=10002)
        for i, day in enumerate((date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3))):
            await t.publish(CheckinRecorded(member_no=10002, checkin_id=100 + i, period_id=30, local_date=day,
                                            late=False, image_count=1), member_no=10002)
        await t.publish(CheckinVoided(member_no=10002, checkin_id=102, period_id=30, local_date=date(2026, 11, 3),
                                      reason="重复", by_staff_id=1), member_no=10002)
        await t.publish(CommunityMemberSeen(member_no=10002, open_gid="G1", community_id=7, period_id=30),
                        member_no=10002)
        quiz = [(True, "a"), (False, "b"), (False, "c"), (False, "c")]  # the last one is a retried item
        for correct, cid in quiz:
            await t.publish(
                ActivityRecorded(member_no=10002, kind="quiz.answered", at=now - timedelta(hours=1),
                                 props={"quiz_id": 1, "question_id": cid, "correct": correct, "period_id": 30},
                                 client_event_id=cid),
                member_no=10002, source="gateway",
            )
        await t.publish(ActivityRecorded(member_no=10001, kind="page.viewed", page="/home", duration_ms=5000,
                                         at=now, client_event_id="p1"), member_no=10001, source="gateway")

        async def facts():
            return await t.sql("SELECT member_no, has_phone, follows_oa, first_channel, phone_masked "
                               "FROM member_facts ORDER BY member_no")

        await eventually(facts, lambda rows: len(rows) == 2 and rows[0][2], timeout=60)

        async def quiz_rows():
            return await t.sql("SELECT member_no, series_id, period_id, answers, wrong FROM daily_quiz")

        assert (await eventually(quiz_rows, lambda r: r and r[0][3] == 3, timeout=60)) == [(10002, 0, 30, 3, 2)]
        # Answers that named only their period count for its series (known from campaign.period.opened).
        rate = {"fact": "quiz_error_rate", "series_id": 3, "within_days": 30, "op": "gt", "value": 0.5}

        async def preview():
            r = await t.client.post("/admin/v1/segments/preview", json={"definition": rate, "rank": {
                "fact": "quiz_error_rate", "series_id": 3}}, headers=t.staff())
            return r.json()["members"]

        # The clause's bitmap and the rank's values are cached apart, each at most a second stale
        # (segments.facts.TTL): right after the answers land, one may be read before the other.
        found = await eventually(preview, lambda members: len(members) == 1 and members[0]["rank_value"], timeout=60)
        assert found[0]["member_no"] == 10002 and abs(found[0]["rank_value"] - 2 / 3) < 1e-9
        # campaign.events and app.activity are separate topics: the quiz answers may be folded first.
        checkins = await eventually(lambda: t.sql("SELECT count(*) FILTER (WHERE NOT voided) FROM member_checkins"),
                                    lambda rows: rows == [(2,)], timeout=60)
        assert checkins == [(2,)]
        assert (await facts())[0][1:] == (True, True, "qr-a", "138****0001")
        periods = await eventually(
            lambda: t.sql("SELECT member_no, period_id, paid_at IS NOT NULL FROM member_periods"),
            lambda rows: rows == [(10002, 30, True)], timeout=60)
        assert periods == [(10002, 30, True)]
        activity = await eventually(lambda: t.sql("SELECT member_no, kind, items, duration_ms FROM daily_activity "
                                                  "WHERE kind = 'page.viewed'"), bool, timeout=30)
        assert activity == [(10001, "page.viewed", 1, 5000)]

        # 10002 was the same person as 10001: everything moves to 10001.
        tag_group = await t.client.post("/admin/v1/tag-groups", json={"name": "g"}, headers=t.staff())
        tag = await t.client.post("/admin/v1/tags", json={"group_id": tag_group.json()["id"], "name": "奥数"},
                                  headers=t.staff())
        await t.client.post("/admin/v1/members/10002/tags", json={"tag_id": tag.json()["id"]}, headers=t.staff())
        await t.client.post("/admin/v1/members/10002/notes", json={"kind": "call", "text": "电话回访"},
                            headers=t.staff())
        await t.publish(MemberMerged(from_member_no=10002, into_member_no=10001, reason="unionid"),
                        member_no=10001, source="identity")

        async def moved():
            return (await t.client.get("/admin/v1/members/10001/tags", headers=t.staff())).json()["items"]

        await eventually(moved, lambda items: len(items) == 1, timeout=60)
        notes = (await t.client.get("/admin/v1/members/10001/notes", headers=t.staff())).json()["items"]
        assert [n["text"] for n in notes] == ["电话回访"]
        assert await t.sql("SELECT member_no, answers FROM daily_quiz") == [(10001, 3)]
        assert await t.sql("SELECT member_no FROM member_periods") == [(10001,)]
        assert (await t.client.get("/admin/v1/members/10002/tags", headers=t.staff())).json()["items"] == []
        # A late event about the retired number lands on the survivor.
        await t.publish(CheckinRecorded(member_no=10002, checkin_id=200, period_id=30, local_date=date(2026, 11, 4),
                                        late=False, image_count=1), member_no=10002)
        await eventually(lambda: t.sql("SELECT member_no FROM member_checkins WHERE checkin_id = 200"),
                         lambda r: r == [(10001,)], timeout=30)

        # One timeline, newest first, paged by cursor.
        items, cursor = [], None
        while True:
            params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
            page = (await t.client.get("/admin/v1/members/10001/timeline", params=params,
                                       headers=t.staff("viewer"))).json()
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        kinds = {i["kind"] for i in items}
        assert {"member.created", "registration.created", "registration.paid", "checkin.recorded", "group.seen",
                "oa.followed", "tag.applied", "note.call", "activity.daily"} <= kinds, kinds
        ats = [i["at"] for i in items]
        assert [datetime.fromisoformat(a) for a in ats] == sorted((datetime.fromisoformat(a) for a in ats),
                                                                  reverse=True)
        assert len(items) == len({(i["at"], i["kind"], str(i["data"])) for i in items})
        bad = await t.client.get("/admin/v1/members/10001/timeline", params={"cursor": "eyJhdCI6IjIwMjYifQ"},
                                 headers=t.staff())
        assert bad.status_code == 422
