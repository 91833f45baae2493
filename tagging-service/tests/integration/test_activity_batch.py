"""The batched activity consumer: exact sums per (member, day, kind) and per quiz, redelivery changes nothing.

Events go through the real broker; the consumer applies a poll at a time.
The expected counts are computed here from what was published. Rule
applications on these facts name the events behind them.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.contracts.gateway import ActivityRecorded
from shared.contracts.identity import MemberMerged
from shared.testing.waiting import eventually

KINDS = ("page.viewed", "quiz.answered", "content.shared", "custom.video_played")
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_batched_activity_counts_exactly_once_and_explains_rules(tagging_factory):
    rng = random.Random(7)
    async with tagging_factory(sweep_seconds=0.3) as t:
        # 10020 turned out to be 10019: its activity counts for the survivor.
        await t.publish(MemberMerged(from_member_no=10020, into_member_no=10019, reason="unionid"),
                        member_no=10019, source="identity")
        await eventually(lambda: t.sql("SELECT merged_into FROM member_facts WHERE member_no = 10020"),
                         lambda r: r == [(10019,)], timeout=60)
        now = datetime.now(UTC)
        published = []
        items: Counter = Counter()
        durations: Counter = Counter()
        answers: Counter = Counter()
        wrong: Counter = Counter()
        quiz_events: dict[int, set[str]] = {}
        for i in range(400):
            member = 10001 + i % 20
            kind = KINDS[rng.randrange(4)]
            at = now - timedelta(hours=rng.randrange(0, 20))
            props: dict = {}
            duration = None
            if kind == "page.viewed":
                duration = rng.randrange(100, 60_000)
            elif kind == "quiz.answered":
                props = {"quiz_id": 1, "question_id": i, "correct": rng.random() < 0.6, "series_id": 3}
            data = ActivityRecorded(member_no=member, kind=kind, at=at, duration_ms=duration, props=props,
                                    client_event_id=f"c{i}")
            envelope = await t.publish(data, member_no=member, source="gateway")
            published.append((data, envelope))
            counted = 10019 if member == 10020 else member
            day = at.astimezone(SHANGHAI).date()
            items[(counted, day, kind)] += 1
            durations[(counted, day, kind)] += duration or 0
            if kind == "quiz.answered":
                answers[(counted, day, 3)] += 1
                wrong[(counted, day, 3)] += 0 if props["correct"] else 1
                quiz_events.setdefault(counted, set()).add(str(envelope.id))

        async def activity():
            return await t.sql("SELECT member_no, day, kind, items, duration_ms FROM daily_activity")

        def as_expected(rows):
            return {(m, d, k): (n, ms) for m, d, k, n, ms in rows} == {
                key: (n, durations[key]) for key, n in items.items()}

        await eventually(activity, as_expected, timeout=60)
        quiz = await t.sql("SELECT member_no, day, series_id, answers, wrong, event_ids FROM daily_quiz")
        assert {(m, d, s): (a, w) for m, d, s, a, w, _ in quiz} == {k: (a, wrong[k]) for k, a in answers.items()}
        for m, _, _, _, _, event_ids in quiz:
            assert 0 < len(event_ids) <= 5 and {str(e) for e in event_ids} <= quiz_events[m]

        # Redelivery: the same envelopes again, and the same client ids under new envelope ids.
        for data, envelope in published[:150]:
            await t.publish(data, member_no=data.member_no, source="gateway", event_id=envelope.id,
                            occurred_at=envelope.occurred_at)
        for data, _ in published[150:300]:
            await t.publish(data, member_no=data.member_no, source="gateway")
        sentinel = ActivityRecorded(member_no=10099, kind="page.viewed", at=now, duration_ms=1, client_event_id="s")
        await t.publish(sentinel, member_no=10099, source="gateway")
        await eventually(lambda: t.sql("SELECT items FROM daily_activity WHERE member_no = 10099"),
                         lambda r: r == [(1,)], timeout=60)
        assert as_expected([r for r in await activity() if r[0] != 10099])
        again = await t.sql("SELECT member_no, day, series_id, answers, wrong, event_ids FROM daily_quiz")
        assert sorted(again) == sorted(quiz)

        # A rule over these facts names the events behind each application.
        group = (await t.client.post("/admin/v1/tag-groups", json={"name": "测验"}, headers=t.staff())).json()
        tag = (await t.client.post("/admin/v1/tags", json={"group_id": group["id"], "name": "答过题", "kind": "rule"},
                                   headers=t.staff())).json()
        rule = (await t.client.post("/admin/v1/tag-rules", json={
            "name": "答题", "tag_id": tag["id"],
            "condition": {"fact": "quiz_answers", "series_id": 3, "within_days": 7, "op": "gte", "value": 1},
        }, headers=t.staff())).json()
        await eventually(lambda: t.client.get(f"/admin/v1/tag-rules/{rule['id']}/backfill", headers=t.staff()),
                         lambda r: r.json()["state"] == "done", timeout=30)
        member = next(iter(quiz_events))
        shown = (await t.client.get(f"/admin/v1/members/{member}/tags", headers=t.staff())).json()["items"]
        evidence = next(i for i in shown if i["tag_id"] == tag["id"])["evidence"]
        assert evidence["rule_id"] == rule["id"]
        assert evidence["facts"][0]["value"] == sum(a for (m, _, _), a in answers.items() if m == member)
        assert evidence["events"] and set(evidence["events"]) <= quiz_events[member]
        tagged = await t.sql("SELECT envelope FROM outbox WHERE type = 'tagging.member.tagged' AND key = :k",
                             k=str(member))
        assert set(tagged[-1][0]["data"]["evidence"]) == set(evidence["events"])
