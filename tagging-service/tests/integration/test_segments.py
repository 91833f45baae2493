"""Segments over the bitmaps: the layered selection, saved segments, cycles, freezing, export, internal paging."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from shared.testing.waiting import eventually

MATHS, READING = 3, 2  # series ids
MATHS_PERIOD, READING_PERIOD = 31, 21


async def _seed(t) -> dict[int, tuple[float, int]]:
    """Members 10001..10030: in a maths group with a known error rate; some with reading check-ins."""
    today = datetime.now(UTC).date()
    await t.execute("INSERT INTO period_info VALUES (:p, :s)",
                    [{"p": MATHS_PERIOD, "s": MATHS}, {"p": READING_PERIOD, "s": READING}])
    await t.execute("INSERT INTO communities VALUES (1, 'G-maths', :p)", {"p": MATHS_PERIOD})
    expected: dict[int, tuple[float, int]] = {}
    checkin_id = 0
    for i in range(30):
        m = 10001 + i
        await t.execute("INSERT INTO member_facts (member_no, member_since, phone_masked, has_phone) "
                        "VALUES (:m, now(), :p, true)", {"m": m, "p": f"138****{i:04d}"})
        await t.execute("INSERT INTO index_changes (kind, key, member_no, added) VALUES ('member', 0, :m, true)",
                        {"m": m})
        in_group = i % 3 != 0
        if in_group:
            await t.execute("INSERT INTO group_sightings VALUES (:m, 1, now(), now(), 1)", {"m": m})
        wrong = i % 10  # of 10 answers
        await t.execute("INSERT INTO daily_quiz VALUES (:m, :d, :s, 10, :w)",
                        {"m": m, "d": today - timedelta(days=2), "s": MATHS, "w": wrong})
        # Old answers (outside 30 days) must not count.
        await t.execute("INSERT INTO daily_quiz VALUES (:m, :d, :s, 100, 0)",
                        {"m": m, "d": today - timedelta(days=40), "s": MATHS})
        reading = i % 4
        for d in range(reading):
            checkin_id += 1
            await t.execute("INSERT INTO member_checkins VALUES (:c, :m, :p, :d, false)",
                            {"c": checkin_id, "m": m, "p": READING_PERIOD, "d": today - timedelta(days=d)})
        if in_group and wrong / 10 > 0.3:
            expected[m] = (wrong / 10, reading)
    return expected


LAYERED = {
    "and": [
        {"fact": "in_group", "series_id": MATHS, "op": "gte", "value": 1},
        {"fact": "quiz_error_rate", "series_id": MATHS, "within_days": 30, "op": "gt", "value": 0.3},
    ]
}
RANK = {"fact": "checkins", "series_id": READING, "order": "desc"}


async def test_the_layered_selection_is_counted_ranked_saved_and_exported(tagging_factory):
    async with tagging_factory() as t:
        expected = await _seed(t)
        ranked = sorted(expected, key=lambda m: (-expected[m][1], m))

        async def preview():
            r = await t.client.post("/admin/v1/segments/preview", json={"definition": LAYERED, "rank": RANK,
                                                                        "limit": 200}, headers=t.staff("sales"))
            assert r.status_code == 200, r.text
            return r.json()

        body = await eventually(preview, lambda b: b["count"] == len(expected), timeout=5)
        assert [m["member_no"] for m in body["members"]] == ranked
        assert [m["rank_value"] for m in body["members"]] == [expected[m][1] for m in ranked]

        # A tag joins in through the bitmaps within a second.
        group = await t.client.post("/admin/v1/tag-groups", json={"name": "销售"}, headers=t.staff())
        tag = (await t.client.post("/admin/v1/tags", json={"group_id": group.json()["id"], "name": "已联系"},
                                   headers=t.staff())).json()
        contacted = ranked[:2]
        await t.client.post(f"/admin/v1/tags/{tag['id']}/members", json={"member_nos": contacted}, headers=t.staff())
        fresh = {"and": [LAYERED, {"not": {"tag": tag["id"]}}]}

        async def fresh_count():
            r = await t.client.post("/admin/v1/segments/preview", json={"definition": fresh}, headers=t.staff())
            return r.json()["count"]

        await eventually(fresh_count, lambda n: n == len(expected) - 2, timeout=1.5)

        saved = await t.client.post("/admin/v1/segments", json={"name": "奥数高错题率", "definition": LAYERED,
                                                                "rank": RANK}, headers=t.staff())
        assert saved.status_code == 201, saved.text
        seg = saved.json()
        assert seg["count"] == len(expected)

        page1 = (await t.client.get(f"/admin/v1/segments/{seg['id']}/members?limit=3", headers=t.staff())).json()
        page2 = (await t.client.get(f"/admin/v1/segments/{seg['id']}/members",
                                    params={"limit": 3, "cursor": page1["next_cursor"]}, headers=t.staff())).json()
        assert [m["member_no"] for m in page1["members"] + page2["members"]] == ranked[:6]

        exported = await t.client.get(f"/admin/v1/segments/{seg['id']}/export.csv", headers=t.staff("sales"))
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        assert exported.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert rows[0] == ["学号", "手机号", "标签", "排序值"]
        assert [int(r[0]) for r in rows[1:]] == ranked
        assert rows[1][1].startswith("138****") and rows[1][2] == "已联系"

        # Saved segments compose; cycles and unknown references are field problems.
        outer = await t.client.post("/admin/v1/segments", json={
            "name": "外层", "definition": {"and": [{"segment": seg["id"]}, {"not": {"tag": tag["id"]}}]},
        }, headers=t.staff())
        assert outer.status_code == 201 and outer.json()["count"] == len(expected) - 2
        cycle = await t.client.put(f"/admin/v1/segments/{seg['id']}", json={
            "name": "奥数高错题率", "definition": {"or": [LAYERED, {"segment": outer.json()["id"]}]},
        }, headers=t.staff())
        assert cycle.status_code == 422, cycle.text
        assert cycle.json()["errors"][0]["field"] == "definition.or.1.segment"
        assert cycle.json()["errors"][0]["code"] == "segment_cycle"
        unknown = await t.client.post("/admin/v1/segments/preview", json={
            "definition": {"and": [{"tag": 999999}, {"fact": "iq", "op": "gt", "value": 1}]}}, headers=t.staff())
        assert unknown.status_code == 422
        assert {e["field"] for e in unknown.json()["errors"]} == {"definition.and.1.fact"}
        unknown_tag = await t.client.post("/admin/v1/segments/preview", json={"definition": {"tag": 999999}},
                                          headers=t.staff())
        assert unknown_tag.json()["errors"] == [
            {"field": "definition.tag", "message": "标签 999999 不存在。", "code": "unknown_tag"}
        ]
        in_use = await t.client.delete(f"/admin/v1/segments/{seg['id']}", headers=t.staff())
        assert in_use.status_code == 409

        # Freezing keeps today's members even when the facts move on.
        frozen = await t.client.post(f"/admin/v1/segments/{seg['id']}/freeze", headers=t.staff())
        assert frozen.json()["kind"] == "static" and frozen.json()["count"] == len(expected)
        await t.execute("DELETE FROM group_sightings")
        assert (await t.client.get(f"/admin/v1/segments/{seg['id']}", headers=t.staff())).json()["count"] == len(
            expected)

        # Messaging pages through member numbers with an internal token.
        internal = t.headers(t.settings, caller="messaging")
        first = (await t.client.get(f"/internal/segments/{seg['id']}/members?limit=5", headers=internal)).json()
        rest = (await t.client.get(f"/internal/segments/{seg['id']}/members",
                                   params={"limit": 5000, "cursor": first["next_cursor"]}, headers=internal)).json()
        assert first["members"] + rest["members"] == sorted(expected) and rest["next_cursor"] is None
        assert (await t.client.get(f"/internal/segments/{seg['id']}/members")).status_code == 401

        # Bulk application from a segment.
        bulk = await t.client.post(f"/admin/v1/tags/{tag['id']}/members", json={"segment_id": seg["id"]},
                                   headers=t.staff())
        assert bulk.json()["total"] == len(expected) and bulk.json()["already"] == 2


async def test_the_export_shows_full_phones_only_to_roles_that_may_see_them(tagging_factory):
    from shared.contracts.identity import PhoneBound
    from shared.sealing import Sealer

    async with tagging_factory() as t:
        sealer = Sealer(t.settings.verification_keys())
        # Identity seals the E.164 form.
        phones = {10101: ("+8613800001111", "138****1111", "86"), 10102: ("+85261234567", "612*4567", "852")}
        for member_no, (number, masked, country) in phones.items():
            await t.publish(PhoneBound(member_no=member_no, phone_masked=masked, country_code=country,
                                       phone_sealed=sealer.seal(number, context="phone")),
                            member_no=member_no, source="identity")
        # Bound before identity sealed numbers: masked for everyone.
        await t.publish(PhoneBound(member_no=10103, phone_masked="137****3333", country_code="86"),
                        member_no=10103, source="identity")
        await eventually(lambda: t.sql("SELECT count(*) FROM member_facts WHERE has_phone"),
                         lambda r: r == [(3,)], timeout=60)
        group = (await t.client.post("/admin/v1/tag-groups", json={"name": "导出"}, headers=t.staff())).json()
        tag = (await t.client.post("/admin/v1/tags", json={"group_id": group["id"], "name": "待回访"},
                                   headers=t.staff())).json()
        await t.client.post(f"/admin/v1/tags/{tag['id']}/members", json={"member_nos": [10101, 10102, 10103]},
                            headers=t.staff())
        seg = (await t.client.post("/admin/v1/segments", json={"name": "回访", "definition": {"tag": tag["id"]}},
                                   headers=t.staff())).json()

        async def export(role: str) -> dict[int, str]:
            r = await t.client.get(f"/admin/v1/segments/{seg['id']}/export.csv", headers=t.staff(role))
            assert r.status_code == 200
            return {int(row[0]): row[1] for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig")))
                    if row[0].isdigit()}

        shown = await eventually(lambda: export("admin"), lambda rows: len(rows) == 3, timeout=5)
        assert shown == {10101: "13800001111", 10102: "0085261234567", 10103: "137****3333"}
        for role in ("sales", "operator", "viewer"):
            assert await export(role) == {10101: "138****1111", 10102: "612*4567", 10103: "137****3333"}
        # The sealed number is never stored or published in the clear.
        stored = await t.sql("SELECT phone_sealed FROM member_facts WHERE member_no = 10101")
        assert stored[0][0].startswith("s1.") and "13800001111" not in stored[0][0]
