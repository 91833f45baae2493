"""Every tagging operation fuzzed from the service's own OpenAPI: no 5xx, nothing undocumented.

An in-process companion of tests/e2e/test_fuzz_openapi.py: cases are generated
first, then sent to the running app (as an operator) on a database with a few
tags, members, notes and a saved segment, so ids in paths sometimes exist.
"""

from __future__ import annotations

import os

import pytest

from shared.testing.fuzzing import fuzz_in_process

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("QUNYUN_FUZZ_EXAMPLES", "25"))


async def test_tagging_operations_survive_fuzzing(tagging_factory):
    async with tagging_factory() as t:
        staff = t.staff("admin")
        group = (await t.client.post("/admin/v1/tag-groups", json={"name": "组"}, headers=staff)).json()
        tag = (await t.client.post("/admin/v1/tags", json={"group_id": group["id"], "name": "标"},
                                   headers=staff)).json()
        await t.client.post(f"/admin/v1/tags/{tag['id']}/members", json={"member_nos": [1, 2, 10001]}, headers=staff)
        await t.client.post("/admin/v1/members/1/notes", json={"kind": "note", "text": "x"}, headers=staff)
        await t.client.post("/admin/v1/segments", json={"name": "s", "definition": {"tag": tag["id"]}}, headers=staff)
        internal = t.headers(t.settings, caller="messaging", staff_roles=("admin",))
        sent, failures = await fuzz_in_process(
            t.client, t.app.openapi(), examples=EXAMPLES,
            headers=lambda operation: internal if operation.path.startswith("/internal") else staff,
        )
        assert sent > 100
        assert not failures, "\n\n".join(failures)
