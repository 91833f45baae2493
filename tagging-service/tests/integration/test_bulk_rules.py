"""The bulk back-fill agrees with the incremental path and an independent computation; a second run is a no-op.

Generated data: 600 members with quiz facts of known error rates (and the
event ids behind some of them), some VIPs, some carrying the rule's tag from
staff (kept) and some carrying it from an earlier version of the rule
although they no longer match (removed). Chunks of at most 64 members, so
each worker explains a next chunk while it writes one.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

from pyroaring import BitMap64

from shared.contracts.tagging import MemberTagged, MemberUntagged
from shared.events.envelope import Envelope
from tagging_service.rules import backfill
from tagging_service.rules import service as rules

MEMBERS = range(10001, 10601)


async def _tag(t, group_id: int, name: str) -> int:
    r = await t.client.post("/admin/v1/tags", json={"group_id": group_id, "name": name, "kind": "rule"},
                            headers=t.staff())
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _carriers(t, tag_id: int) -> dict[int, tuple[str, int | None]]:
    rows = await t.sql("SELECT member_no, source, source_id FROM member_tags WHERE tag_id = :t", t=tag_id)
    return {m: (s, i) for m, s, i in rows}


async def test_bulk_backfill_matches_the_incremental_path_and_is_idempotent(tagging_factory, monkeypatch):
    rng = random.Random(11)
    monkeypatch.setattr(backfill, "CHUNK", 64)
    async with tagging_factory(run_worker=False) as t:
        today = datetime.now(UTC).date()
        quiz = {m: (10, rng.randint(0, 10)) for m in MEMBERS if m % 7 != 0}  # every 7th has no answers
        # The events behind a member's answers (the evidence), for every other member.
        behind = {m: [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(m % 3 + 1)]
                  for m in quiz if m % 2 == 0}
        await t.execute("INSERT INTO member_facts (member_no) SELECT unnest(CAST(:m AS bigint[]))",
                        {"m": list(MEMBERS)})
        await t.execute("INSERT INTO index_changes (kind, key, member_no, added) "
                        "SELECT 'member', 0, unnest(CAST(:m AS bigint[])), true", {"m": list(MEMBERS)})
        await t.execute("INSERT INTO daily_quiz (member_no, day, series_id, answers, wrong) "
                        "SELECT * FROM unnest(CAST(:m AS bigint[]), CAST(:d AS date[]), CAST(:s AS bigint[]), "
                        "CAST(:a AS integer[]), CAST(:w AS integer[]))",
                        {"m": list(quiz), "d": [today] * len(quiz), "s": [3] * len(quiz),
                         "a": [a for a, _ in quiz.values()], "w": [w for _, w in quiz.values()]})
        for m, ids in behind.items():
            await t.execute("UPDATE daily_quiz SET event_ids = CAST(:e AS uuid[]) WHERE member_no = :m",
                            {"m": m, "e": ids})
        group = (await t.client.post("/admin/v1/tag-groups", json={"name": "批量"}, headers=t.staff())).json()
        vip, bulk_tag, incremental_tag = [await _tag(t, group["id"], n) for n in ("VIP", "A", "B")]
        vips = [m for m in MEMBERS if m % 5 == 0]
        assert (await t.client.post(f"/admin/v1/tags/{vip}/members", json={"member_nos": vips},
                                    headers=t.staff())).status_code == 200
        by_staff = [m for m in MEMBERS if m % 11 == 0]
        for tag_id in (bulk_tag, incremental_tag):
            r = await t.client.post(f"/admin/v1/tags/{tag_id}/members", json={"member_nos": by_staff},
                                    headers=t.staff())
            assert r.status_code == 200, r.text
        condition = {"and": [{"fact": "quiz_error_rate", "series_id": 3, "within_days": 30, "op": "gt",
                              "value": 0.4}, {"not": {"tag": vip}}]}
        rule_ids = {}
        for tag_id in (bulk_tag, incremental_tag):
            r = await t.client.post("/admin/v1/tag-rules", json={
                "name": f"r{tag_id}", "tag_id": tag_id, "condition": condition, "enabled": False,
            }, headers=t.staff())
            assert r.status_code == 201, r.text
            rule_ids[tag_id] = r.json()["id"]
        # An earlier version of each rule tagged members that no longer match (and some that still do).
        stale = [m for m in MEMBERS if m % 13 == 0 and m not in by_staff]
        for tag_id, rule_id in rule_ids.items():
            await t.execute(
                "INSERT INTO member_tags (member_no, tag_id, source, source_id, applied_at) "
                "SELECT unnest(CAST(:m AS bigint[])), :t, 'rule', :r, now()", {"m": stale, "t": tag_id, "r": rule_id})
            await t.execute("INSERT INTO index_changes (kind, key, member_no, added) "
                            "SELECT 'tag', :t, unnest(CAST(:m AS bigint[])), true", {"m": stale, "t": tag_id})

        def matches(m: int) -> bool:
            return m in quiz and quiz[m][1] / quiz[m][0] > 0.4 and m % 5 != 0

        expected = {m for m in MEMBERS if matches(m)} | set(by_staff)
        sessions, engine = t.runtime.session_factory, t.runtime.extras["segments"]
        await engine.index.refresh(sessions)
        outbox_before = len(await t.outbox_types())
        changes_before = (await t.sql("SELECT coalesce(max(id), 0) FROM index_changes"))[0][0]

        # The bulk back-fill of rule A.
        body = {"name": "bulk", "tag_id": bulk_tag, "condition": condition, "enabled": True}
        assert (await t.client.put(f"/admin/v1/tag-rules/{rule_ids[bulk_tag]}", json=body,
                                   headers=t.staff())).status_code == 200
        assert await rules.run_backfill(sessions, engine, now=datetime.now(UTC))
        progress = (await t.client.get(f"/admin/v1/tag-rules/{rule_ids[bulk_tag]}/backfill",
                                       headers=t.staff())).json()
        bulk = await _carriers(t, bulk_tag)
        assert set(bulk) == expected
        assert {m for m, (s, _) in bulk.items() if s == "staff"} == set(by_staff)
        added = {m for m in expected if m not in by_staff and m not in stale}
        removed = {m for m in stale if not matches(m)}
        assert progress["state"] == "done" and progress["done"] == progress["total"] == len(MEMBERS)
        assert progress["changed"] == len(added) + len(removed)
        types = (await t.outbox_types())[outbox_before:]
        assert types.count("tagging.member.tagged") == len(added)
        assert types.count("tagging.member.untagged") == len(removed)
        history = await t.sql("SELECT member_no FROM member_tag_history WHERE tag_id = :t AND removed_by = 'rule'",
                              t=bulk_tag)
        assert {m for (m,) in history} == removed
        one = sorted(added)[0]
        shown = (await t.client.get(f"/admin/v1/members/{one}/tags", headers=t.staff())).json()["items"]
        evidence = next(i for i in shown if i["tag_id"] == bulk_tag)["evidence"]
        assert evidence["rule_id"] == rule_ids[bulk_tag]
        assert evidence["facts"][0]["value"] == quiz[one][1] / quiz[one][0]
        events = await t.sql("SELECT envelope FROM outbox WHERE type = 'tagging.member.tagged' AND key = :k",
                             k=str(one))
        assert events[-1][0]["member_no"] == one and events[-1][0]["data"]["tag_id"] == bulk_tag
        assert len({r[0] for r in await t.sql("SELECT event_id FROM outbox")}) == len(await t.outbox_types())
        # The envelopes spliced in Python are the contract's: parse every one, version 7 ids, keyed by member,
        # and a tagged event names the events of that member's evidence.
        explained = dict(await t.sql("SELECT member_no, evidence FROM member_tags WHERE tag_id = :t "
                                     "AND source = 'rule' AND evidence ? 'events'", t=bulk_tag))
        evidence_events = {m: e["events"] for m, e in explained.items()}
        assert any(evidence_events.values()) and set(explained) == added
        version = (await t.client.get(f"/admin/v1/tag-rules/{rule_ids[bulk_tag]}", headers=t.staff())).json()["version"]
        for m, e in explained.items():
            # Each clause of the condition, a fact clause with the member's value in place of its threshold.
            assert {**e, "events": sorted(e["events"])} == {
                "rule_id": rule_ids[bulk_tag], "rule_version": version,
                "facts": [{**condition["and"][0], "value": quiz[m][1] / quiz[m][0]}, {"tag": vip}],
                "events": sorted(behind.get(m, []))}, m
        for event_id, key, raw in await t.sql("SELECT event_id, key, envelope FROM outbox WHERE type IN "
                                              "('tagging.member.tagged', 'tagging.member.untagged')"):
            envelope = Envelope.model_validate(raw)
            model = MemberTagged if envelope.type == "tagging.member.tagged" else MemberUntagged
            data = model.model_validate(envelope.data)
            assert envelope.id == event_id and envelope.id.version == 7 and envelope.source == "tagging"
            assert key == str(envelope.member_no) == str(data.member_no)
            if isinstance(data, MemberTagged) and data.source == "rule":
                assert data.evidence == evidence_events[data.member_no]
                assert sorted(data.evidence) == sorted(behind.get(data.member_no, []))
        # One index change per chunk that changed members, naming them all; the bitmaps follow it.
        logged = await t.sql("SELECT added, member_nos FROM index_changes WHERE id > :i AND key = :t",
                             i=changes_before, t=bulk_tag)
        assert 2 <= len(logged) <= 2 * len(range(0, len(MEMBERS), backfill.chunk_size(len(MEMBERS))))
        assert sorted(m for added, ms in logged if added for m in ms) == sorted(added)
        assert sorted(m for added, ms in logged if not added for m in ms) == sorted(removed)
        await engine.index.refresh(sessions)
        assert engine.index.tag(bulk_tag) == BitMap64(bulk)

        # Idempotent: the same rule back-filled again (a new version) changes nothing.
        outbox_after = len(await t.outbox_types())
        assert (await t.client.put(f"/admin/v1/tag-rules/{rule_ids[bulk_tag]}", json=body,
                                   headers=t.staff())).status_code == 200
        assert await rules.run_backfill(sessions, engine, now=datetime.now(UTC))
        again = (await t.client.get(f"/admin/v1/tag-rules/{rule_ids[bulk_tag]}/backfill",
                                    headers=t.staff())).json()
        assert again["state"] == "done" and again["changed"] == 0
        assert await _carriers(t, bulk_tag) == bulk
        assert len(await t.outbox_types()) == outbox_after

        # Rule B through the incremental path: every member dirty, judged in chunks.
        body_b = {"name": "incremental", "tag_id": incremental_tag, "condition": condition, "enabled": True}
        assert (await t.client.put(f"/admin/v1/tag-rules/{rule_ids[incremental_tag]}", json=body_b,
                                   headers=t.staff())).status_code == 200
        await t.execute("DELETE FROM rule_backfills WHERE rule_id = :r", {"r": rule_ids[incremental_tag]})
        await t.execute("INSERT INTO rule_dirty_members (member_no) SELECT unnest(CAST(:m AS bigint[]))",
                        {"m": list(MEMBERS)})
        while True:
            async with sessions() as session:
                n = await rules.process_dirty(session, engine, now=datetime.now(UTC), limit=97, sessions=sessions)
                await session.commit()
            if not n:
                break
        incremental = await _carriers(t, incremental_tag)
        assert set(incremental) == set(bulk)
        assert {m: s for m, (s, _) in incremental.items()} == {m: s for m, (s, _) in bulk.items()}
        # The incremental pass looked at rule A's members too and changed nothing there.
        assert await _carriers(t, bulk_tag) == bulk
