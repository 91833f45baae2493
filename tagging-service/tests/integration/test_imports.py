"""CSV import of a tag's members: encodings, dry run, row errors, size."""

from __future__ import annotations

from shared.testing.waiting import eventually


async def _tag(t) -> int:
    g = await t.client.post("/admin/v1/tag-groups", json={"name": "导入"}, headers=t.staff())
    r = await t.client.post("/admin/v1/tags", json={"group_id": g.json()["id"], "name": "老学员"}, headers=t.staff())
    return int(r.json()["id"])


async def _import(t, tag_id: int, body: bytes, dry_run: bool):
    return await t.client.post(f"/admin/v1/tags/{tag_id}/members/import", params={"dry_run": str(dry_run).lower()},
                               content=body, headers=t.staff() | {"content-type": "text/csv"})


async def test_dry_run_then_import_in_every_encoding(tagging_factory):
    async with tagging_factory(import_max_bytes=4096) as t:
        tag_id = await _tag(t)
        text = "学号,备注\r\n10001,张三\r\n10002,李四\r\n"
        for encoded, encoding in ((text.encode("utf-8-sig"), "utf-8-sig"), (text.encode("utf-8"), "utf-8"),
                                  (text.encode("gbk"), "gbk")):
            dry = await _import(t, tag_id, encoded, True)
            assert dry.status_code == 200, dry.text
            assert dry.json()["encoding"] == encoding and dry.json()["valid"] == 2 and dry.json()["applied"] == 0
        members = (await t.client.get("/admin/v1/members/10001/tags", headers=t.staff())).json()["items"]
        assert members == []  # a dry run changes nothing

        bad = b"10001\r\nabc\r\n10001\r\n"
        report = (await _import(t, tag_id, bad, True)).json()
        assert [(e["row"], e["message"]) for e in report["errors"]] == [(2, "不是有效的学号"), (3, "学号重复")]
        refused = await _import(t, tag_id, bad, False)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "row 2"

        done = await _import(t, tag_id, text.encode("gbk"), False)
        assert done.json()["applied"] == 2
        again = await _import(t, tag_id, text.encode("utf-8"), False)
        assert again.json()["applied"] == 0 and again.json()["already"] == 2
        tags = (await t.client.get("/admin/v1/members/10002/tags", headers=t.staff())).json()["items"]
        assert tags[0]["source"] == "import"

        wrong = await _import(t, tag_id, b"\xff\xfe\x00\x00\xff", True)
        assert wrong.status_code == 422 and wrong.json()["type"].endswith("/csv-encoding")
        big = await _import(t, tag_id, b"10001\r\n" * 1000, True)
        assert big.status_code == 413


async def test_a_segment_becomes_a_static_list_from_a_csv(tagging_factory):
    async with tagging_factory() as t:
        tag_id = await _tag(t)
        seg = (await t.client.post("/admin/v1/segments", json={"name": "名单", "definition": {"tag": tag_id}},
                                   headers=t.staff())).json()
        url = f"/admin/v1/segments/{seg['id']}/import"
        body = "学号\r\n10007\r\n10003\r\n".encode("gbk")
        dry = await t.client.post(url, params={"dry_run": "true"}, content=body,
                                  headers=t.staff() | {"content-type": "text/csv"})
        assert dry.json()["valid"] == 2 and dry.json()["applied"] == 0
        done = await t.client.post(url, params={"dry_run": "false"}, content=body,
                                   headers=t.staff() | {"content-type": "text/csv"})
        assert done.status_code == 200 and done.json()["applied"] == 2

        async def members():
            page = (await t.client.get(f"/admin/v1/segments/{seg['id']}/members", headers=t.staff())).json()
            return [m["member_no"] for m in page["members"]]

        assert await eventually(members, lambda got: got == [10003, 10007], timeout=3) == [10003, 10007]
