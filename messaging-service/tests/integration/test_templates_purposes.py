"""Slice 1: the template registry synced from WeChat, purposes, data checked against field types."""

from __future__ import annotations

CHECKIN = "活动名称:{{thing1.DATA}}\n打卡日期:{{date2.DATA}}\n温馨提示:{{thing3.DATA}}"
RECEIPT = "课程:{{thing1.DATA}}\n金额:{{amount2.DATA}}\n状态:{{phrase3.DATA}}"


async def test_sync_parses_fields_resyncs_and_marks_removed(messaging_factory):
    async with messaging_factory() as m:
        await m.template("mp", "TPL_CHECKIN", "打卡提醒", CHECKIN)
        await m.template("mp", "TPL_LONG", "服务通知", "内容:{{thing1.DATA}}", type_=3)
        await m.template("oa", "OA_RECEIPT", "缴费成功", RECEIPT)
        report = await m.sync()
        assert {(r["app"], r["added"], r["total"]) for r in report["results"]} == {("mp", 2, 2), ("oa", 1, 1)}
        listed = (await m.client.get("/admin/v1/templates", headers=m.staff("viewer"))).json()["items"]
        checkin = next(t for t in listed if t["template_id"] == "TPL_CHECKIN")
        assert checkin["kind"] == "one_time"
        assert [(f["key"], f["type"], f["label"]) for f in checkin["fields"]] == [
            ("thing1", "thing", "活动名称"), ("date2", "date", "打卡日期"), ("thing3", "thing", "温馨提示"),
        ]
        assert next(t for t in listed if t["template_id"] == "TPL_LONG")["kind"] == "long_term"

        # Removed upstream: marked, not deleted; a re-sync that finds it again revives it.
        assert (await m.sim.delete("/sim/templates/mp/TPL_LONG")).status_code == 200
        report = await m.sync()
        assert next(r for r in report["results"] if r["app"] == "mp")["removed"] == 1
        listed = (await m.client.get("/admin/v1/templates?app=mp", headers=m.staff())).json()["items"]
        assert next(t for t in listed if t["template_id"] == "TPL_LONG")["removed_at"] is not None
        assert next(t for t in listed if t["template_id"] == "TPL_CHECKIN")["removed_at"] is None


async def test_purposes_and_data_checked_before_any_call(messaging_factory):
    async with messaging_factory() as m:
        await m.template("mp", "TPL_CHECKIN", "打卡提醒", CHECKIN)
        await m.template("oa", "OA_RECEIPT", "缴费成功", RECEIPT)
        await m.sync()
        # A field left unmapped names the field.
        bad = await m.client.post("/admin/v1/message-purposes", headers=m.staff(), json={
            "name": "checkin.reminder", "class": "transactional",
            "channels": [{"channel": "subscribe", "template_id": "TPL_CHECKIN",
                          "fields": {"thing1": "{title}", "date2": "{date}"}}],
        })
        assert bad.status_code == 422
        assert [e["field"] for e in bad.json()["errors"]] == ["channels.0.fields.thing3"]
        unknown = await m.client.post("/admin/v1/message-purposes", headers=m.staff(), json={
            "name": "x.y", "class": "marketing", "channels": [{"channel": "template", "template_id": "NOPE"}],
        })
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "channels.0.template_id"

        purpose = await m.purpose("checkin.reminder", "transactional", [
            {"channel": "subscribe", "template_id": "TPL_CHECKIN",
             "fields": {"thing1": "{title}", "date2": "{date}", "thing3": "今天还没有打卡哦"}},
            {"channel": "custom", "text": "{title} 今天还没打卡"},
        ])
        assert purpose["class"] == "transactional" and [c["channel"] for c in purpose["channels"]] == [
            "subscribe", "custom"]
        listed = (await m.client.get("/admin/v1/message-purposes", headers=m.staff())).json()["items"]
        assert [p["name"] for p in listed] == ["checkin.reminder"]
        dup = await m.client.post("/admin/v1/message-purposes", headers=m.staff(), json={
            "name": "checkin.reminder", "class": "transactional", "channels": [{"channel": "custom", "text": "x"}]})
        assert dup.status_code == 409

        put = await m.client.put(f"/admin/v1/message-purposes/{purpose['id']}", headers=m.staff(), json={
            "class": "marketing", "channels": purpose["channels"], "daily_cap": 1})
        assert put.status_code == 200 and put.json()["class"] == "marketing" and put.json()["daily_cap"] == 1

        person = await m.person()
        calls_before = (await m.sim.get("/sim/stats")).json()["api_calls"]
        # thing ≤ 20 characters: a 21-character title is a 422 naming the data field, WeChat is not called.
        too_long = await m.send(person["member_no"], "checkin.reminder", {"title": "一" * 21, "date": "2026-12-01"},
                                expect=422)
        assert "data.title" in {e["field"] for e in too_long["errors"]}
        assert "data.title" in too_long["detail"]
        bad_date = await m.send(person["member_no"], "checkin.reminder", {"title": "单词打卡", "date": "明天"},
                                expect=422)
        assert {e["field"] for e in bad_date["errors"]} == {"data.date"}
        missing = await m.send(person["member_no"], "checkin.reminder", {"title": "单词打卡"}, expect=422)
        assert {e["field"] for e in missing["errors"]} == {"data.date"}
        assert (await m.sim.get("/sim/stats")).json()["api_calls"] == calls_before
        assert (await m.send(person["member_no"], "no.such", {}, expect=422))["errors"][0]["field"] == "purpose"
