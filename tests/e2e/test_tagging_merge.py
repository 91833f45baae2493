"""A merge through the whole system moves tags and service notes to the survivor.

A person uses the mini-program before their apps share a UnionID (member A),
then follows the service account after the binding (identity creates member
B for the service-account openid). Staff tag B and write a note about B. The
next mini-program login reveals that A and B are one person: identity merges
B into A, and tagging re-keys B's tags and notes onto A.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.testing.waiting import eventually

pytestmark = pytest.mark.e2e


async def test_a_merge_moves_tags_and_notes_to_the_survivor(system):
    gw, sim = system.gateway, system.simulator
    async with httpx.AsyncClient(timeout=30) as http:

        async def ok(response: Any, *status: int) -> Any:
            answer = await response
            assert answer.status_code in (status or (200,)), (answer.request.url, answer.status_code, answer.text)
            return answer.json()

        session = await ok(http.post(gw + "/admin/v1/session", json={
            "username": system.admin_username, "password": system.admin_password}))
        staff = {"authorization": f"Bearer {session['token']}"}

        async def login(person_id: str) -> int:
            code = (await ok(http.post(f"{sim}/sim/people/{person_id}/login-code")))["code"]
            return int((await ok(http.post(gw + "/mp/v1/session", json={"code": code})))["member_no"])

        person = await ok(http.post(sim + "/sim/people", json={"with_unionid": False}))
        older = await login(person["person_id"])
        await ok(http.post(f"{sim}/sim/people/{person['person_id']}/unionid"))
        await ok(http.post(f"{sim}/sim/people/{person['person_id']}/follow", json={"scene": None}))
        newer = older + 1  # nobody else enters the system meanwhile

        async def newer_followed() -> set[str]:
            answer = await http.get(f"{gw}/admin/v1/members/{newer}/timeline", headers=staff)
            return {item["kind"] for item in answer.json().get("items", [])} if answer.status_code == 200 else set()

        await eventually(newer_followed, lambda kinds: "oa.followed" in kinds, timeout=60, interval=0.5)

        group = await ok(http.post(gw + "/admin/v1/tag-groups", json={"name": "合并测试"}, headers=staff), 201)
        tag = await ok(http.post(gw + "/admin/v1/tags", json={"group_id": group["id"], "name": "服务号粉丝"},
                                 headers=staff), 201)
        await ok(http.post(f"{gw}/admin/v1/members/{newer}/tags", json={"tag_id": tag["id"]}, headers=staff), 201)
        await ok(http.post(f"{gw}/admin/v1/members/{newer}/notes", json={"kind": "chat", "text": "咨询奥数课"},
                           headers=staff), 201)

        assert await login(person["person_id"]) == older  # the merge

        async def survivor_tags() -> list[int]:
            body = await ok(http.get(f"{gw}/admin/v1/members/{older}/tags", headers=staff))
            return [t["tag_id"] for t in body["items"]]

        await eventually(survivor_tags, lambda tags: tag["id"] in tags, timeout=60, interval=0.5)
        notes = await ok(http.get(f"{gw}/admin/v1/members/{older}/notes", headers=staff))
        assert [n["text"] for n in notes["items"]] == ["咨询奥数课"]
        retired = await ok(http.get(f"{gw}/admin/v1/members/{newer}/tags", headers=staff))
        assert retired["items"] == [] and retired["history"][0]["removed_by"] == "merge"
