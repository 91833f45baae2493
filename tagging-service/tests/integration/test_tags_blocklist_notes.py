"""Tag groups and tags, member tags with history, bulk application, the blocklist and service notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from shared.testing.waiting import eventually


async def _tag(t, name="数学兴趣", group="学习偏好") -> dict:
    g = await t.client.post("/admin/v1/tag-groups", json={"name": group}, headers=t.staff())
    assert g.status_code == 201, g.text
    r = await t.client.post(
        "/admin/v1/tags", json={"group_id": g.json()["id"], "name": name, "colour": "#3366ff"}, headers=t.staff()
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_tags_member_tags_history_and_events(tagging_factory):
    async with tagging_factory() as t:
        tag = await _tag(t)
        dup = await t.client.post("/admin/v1/tags", json={"group_id": tag["group_id"], "name": "数学兴趣"},
                                  headers=t.staff())
        assert dup.status_code == 409 and dup.json()["type"].endswith("/tag-name-taken")
        assert "标签" in dup.json()["detail"]

        applied = await t.client.post("/admin/v1/members/10001/tags", json={"tag_id": tag["id"], "reason": "问过奥数"},
                                      headers=t.staff(staff_id=7))
        assert applied.status_code == 201, applied.text
        body = applied.json()
        assert body["source"] == "staff" and body["source_id"] == 7 and body["reason"] == "问过奥数"

        bulk = await t.client.post(f"/admin/v1/tags/{tag['id']}/members",
                                   json={"member_nos": [10001, 10002, 10003, 10003]}, headers=t.staff())
        assert bulk.json() == {"tag_id": tag["id"], "total": 3, "applied": 2, "already": 1}

        async def count():
            return (await t.client.get(f"/admin/v1/tags/{tag['id']}", headers=t.staff("viewer"))).json()["members"]

        await eventually(count, lambda n: n == 3, timeout=2)

        removed = await t.client.delete(f"/admin/v1/members/10002/tags/{tag['id']}", headers=t.staff())
        assert removed.status_code == 204
        again = await t.client.delete(f"/admin/v1/members/10002/tags/{tag['id']}", headers=t.staff())
        assert again.status_code == 404
        mine = (await t.client.get("/admin/v1/members/10002/tags", headers=t.staff("sales"))).json()
        assert mine["items"] == [] and mine["history"][0]["removed_by"] == "staff"
        await eventually(count, lambda n: n == 2, timeout=2)

        types = await t.outbox_types()
        assert types.count("tagging.member.tagged") == 3 and types.count("tagging.member.untagged") == 1

        viewer = await t.client.post("/admin/v1/members/10001/tags", json={"tag_id": tag["id"]},
                                     headers=t.staff("viewer"))
        assert viewer.status_code == 403

        deleted = await t.client.delete(f"/admin/v1/tags/{tag['id']}", headers=t.staff())
        assert deleted.status_code == 204
        assert (await t.client.get(f"/admin/v1/tags/{tag['id']}", headers=t.staff())).status_code == 404
        hist = (await t.client.get("/admin/v1/members/10001/tags", headers=t.staff())).json()["history"]
        assert hist[0]["removed_by"] == "tag-deleted"


async def test_expiring_tags_leave_by_themselves(tagging_factory):
    async with tagging_factory(sweep_seconds=0.2) as t:
        tag = await _tag(t, name="限时")
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        r = await t.client.post("/admin/v1/members/10005/tags", json={"tag_id": tag["id"], "expires_at": soon},
                                headers=t.staff())
        assert r.status_code == 201

        async def current():
            return (await t.client.get("/admin/v1/members/10005/tags", headers=t.staff())).json()

        state = await eventually(current, lambda b: b["items"] == [], timeout=15)
        assert state["history"][0]["removed_by"] == "expiry"


async def test_patch_and_bad_input(tagging_factory):
    async with tagging_factory() as t:
        tag = await _tag(t)
        r = await t.client.patch(f"/admin/v1/tags/{tag['id']}", json={"colour": None, "name": "奥数"},
                                 headers=t.staff())
        assert r.status_code == 200 and r.json()["colour"] is None and r.json()["name"] == "奥数"
        r = await t.client.patch(f"/admin/v1/tags/{tag['id']}", json={"name": None}, headers=t.staff())
        assert r.status_code == 422
        r = await t.client.post(f"/admin/v1/tags/{tag['id']}/members", json={}, headers=t.staff())
        assert r.status_code == 422
        r = await t.client.get("/admin/v1/tags/99999999999999999999", headers=t.staff())
        assert r.status_code == 422
        r = await t.client.post("/admin/v1/tags", json={"group_id": 999, "name": "x"}, headers=t.staff())
        assert r.status_code == 404 and r.json()["type"].endswith("/tag-group-not-found")


async def test_blocklist_is_a_system_tag_with_events(tagging_factory):
    async with tagging_factory() as t:
        r = await t.client.put("/admin/v1/blocklist/10009", json={"reason": "群内发广告"}, headers=t.staff(staff_id=3))
        assert r.status_code == 200, r.text
        assert r.json()["blocked"] is True and r.json()["by_staff_id"] == 3
        status = (await t.client.get("/admin/v1/blocklist/10009", headers=t.staff("viewer"))).json()
        assert status["reason"] == "群内发广告"
        tags = (await t.client.get("/admin/v1/members/10009/tags", headers=t.staff())).json()["items"]
        assert tags[0]["kind"] == "system" and tags[0]["tag"] == "黑名单"
        # The system tag is not for the generic endpoints.
        manual = await t.client.delete(f"/admin/v1/members/10009/tags/{tags[0]['tag_id']}", headers=t.staff())
        assert manual.status_code == 403 and manual.json()["type"].endswith("/system-tag")

        assert (await t.client.delete("/admin/v1/blocklist/10009", headers=t.staff())).status_code == 204
        assert (await t.client.delete("/admin/v1/blocklist/10009", headers=t.staff())).status_code == 204
        assert (await t.client.get("/admin/v1/blocklist/10009", headers=t.staff())).json()["blocked"] is False
        types = await t.outbox_types()
        assert types.count("tagging.member.blocked") == 1 and types.count("tagging.member.unblocked") == 1


async def test_notes_are_edited_only_by_their_author_within_a_day(tagging_factory):
    async with tagging_factory() as t:
        r = await t.client.post("/admin/v1/members/10001/notes", json={"kind": "reminder", "text": "已提醒学习"},
                                headers=t.staff(staff_id=5))
        assert r.status_code == 201, r.text
        note = r.json()
        assert note["author_staff_id"] == 5 and note["author_name"] == "staff5"
        other = await t.client.patch(f"/admin/v1/members/10001/notes/{note['id']}", json={"text": "改"},
                                     headers=t.staff(staff_id=6))
        assert other.status_code == 403 and other.json()["type"].endswith("/note-not-author")
        mine = await t.client.patch(f"/admin/v1/members/10001/notes/{note['id']}", json={"text": "已提醒学习两次"},
                                    headers=t.staff(staff_id=5))
        assert mine.status_code == 200 and mine.json()["updated_at"] is not None
        async with t.runtime.session_factory() as session:
            await session.execute(text("UPDATE service_notes SET created_at = now() - interval '25 hours'"))
            await session.commit()
        late = await t.client.patch(f"/admin/v1/members/10001/notes/{note['id']}", json={"text": "再改"},
                                    headers=t.staff(staff_id=5))
        assert late.status_code == 403 and late.json()["type"].endswith("/note-edit-window-passed")
        wrong_member = await t.client.patch(f"/admin/v1/members/10002/notes/{note['id']}", json={"text": "x"},
                                            headers=t.staff(staff_id=5))
        assert wrong_member.status_code == 404
        listed = (await t.client.get("/admin/v1/members/10001/notes", headers=t.staff("viewer"))).json()
        assert [n["text"] for n in listed["items"]] == ["已提醒学习两次"]
        bad = await t.client.post("/admin/v1/members/10001/notes", json={"kind": "gossip", "text": "x"},
                                  headers=t.staff())
        assert bad.status_code == 422
