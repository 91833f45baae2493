"""CSV import of a tag's members: encodings, dry run, row errors, size."""

from __future__ import annotations


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
