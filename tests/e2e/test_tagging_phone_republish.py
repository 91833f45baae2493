"""Phones bound before sealing reach tagging sealed after the upgrade: an admin's export shows them in full.

A member binds a phone through the gateway. The state an older system left is
then recreated: identity's row not yet stamped ``sealed_published_at`` (the
upgrade migration leaves existing rows NULL) and tagging holding the masked
phone only (its ``phone_bound`` carried no sealed number). The export stays
masked for the admin. Identity's ``republish-phones`` command (which its worker
also runs after an upgrade) republishes ``phone_bound`` sealed through its
outbox; tagging stores the sealed number without a second timeline entry, the
admin's export shows the full number, and a second run publishes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import subprocess
import sys
from typing import Any

import asyncpg
import httpx
import pytest

from shared.settings import with_database
from shared.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def republish(system: Any) -> dict[str, int]:
    """Run identity's command against the system's identity database."""
    done = subprocess.run(
        [sys.executable, "-m", "identity_service.cli", "republish-phones", "--batch", "2"],
        env=system.env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


async def sql(system: Any, service: str, query: str, *args: Any) -> str:
    conn = await asyncpg.connect(with_database(system.env["DATABASE_URL"], system.env[f"{service}_DATABASE_NAME"]))
    try:
        return str(await conn.execute(query, *args))
    finally:
        await conn.close()


async def test_phones_bound_before_sealing_are_exported_in_full_after_republishing(system):
    gw, sim = system.gateway, system.simulator
    async with httpx.AsyncClient(timeout=30) as http:

        async def ok(response: Any, *status: int) -> Any:
            answer = await response
            assert answer.status_code in (status or (200,)), (answer.request.url, answer.status_code, answer.text)
            return answer.json() if "json" in answer.headers.get("content-type", "") else answer

        session = await ok(http.post(gw + "/admin/v1/session", json={
            "username": system.admin_username, "password": system.admin_password}))
        staff = {"authorization": f"Bearer {session['token']}"}

        # Three members with phones (a batch of 2 makes the command take more than one batch).
        number_suffix = secrets.randbelow(10**7)
        members: dict[int, str] = {}
        for i in range(3):
            person = await ok(http.post(sim + "/sim/people", json={}))
            code = (await ok(http.post(f"{sim}/sim/people/{person['person_id']}/login-code")))["code"]
            login = await ok(http.post(gw + "/mp/v1/session", json={"code": code}))
            phone = f"139{(number_suffix + i) % 10**8:08d}"
            phone_code = (await ok(http.post(f"{sim}/sim/people/{person['person_id']}/phone-code",
                                             json={"phone": phone})))["code"]
            await ok(http.post(gw + "/mp/v1/me/phone", json={"code": phone_code},
                               headers={"authorization": f"Bearer {login['token']}"}))
            members[int(login["member_no"])] = phone

        group = await ok(http.post(gw + "/admin/v1/tag-groups", json={"name": f"补发手机号{number_suffix}"},
                                   headers=staff), 201)
        tag = await ok(http.post(gw + "/admin/v1/tags", json={"group_id": group["id"], "name": "已绑手机"},
                                 headers=staff), 201)
        segment = await ok(http.post(gw + "/admin/v1/segments", json={
            "name": f"补发手机号{number_suffix}", "definition": {"tag": tag["id"]}}, headers=staff), 201)

        async def timeline_phone_entries(member_no: int) -> int:
            body = await ok(http.get(f"{gw}/admin/v1/members/{member_no}/timeline", headers=staff))
            return sum(1 for item in body["items"] if item["kind"] == "phone.bound")

        for member_no in members:
            await eventually(lambda m=member_no: timeline_phone_entries(m), lambda n: n == 1, timeout=60,
                             interval=0.5)
            await ok(http.post(f"{gw}/admin/v1/members/{member_no}/tags", json={"tag_id": tag["id"]},
                               headers=staff), 201)

        async def exported() -> dict[int, str]:
            answer = await ok(http.get(f"{gw}/admin/v1/segments/{segment['id']}/export.csv", headers=staff))
            rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))[1:]
            return {int(r[0]): r[1] for r in rows}

        assert await eventually(exported, lambda got: got == members, timeout=10) == members

        # What an older system left: phone_bound without the sealed number, rows not stamped.
        nos = list(members)
        assert await sql(system, "TAGGING", "UPDATE member_facts SET phone_sealed = NULL "
                         "WHERE member_no = ANY($1::bigint[])", nos) == "UPDATE 3"
        assert await sql(system, "IDENTITY", "UPDATE member_phones SET sealed_published_at = NULL "
                         "WHERE member_no = ANY($1::bigint[])", nos) == "UPDATE 3"
        masked = await exported()
        assert set(masked) == set(members)
        assert all("*" in masked[m] and masked[m] != members[m] for m in members)

        first = republish(system)
        assert first["published"] >= 3 and first["unreadable"] == 0
        assert await eventually(exported, lambda got: got == members, timeout=30, interval=0.5) == members
        for member_no in members:  # the same phone again is not a new entry of the member's timeline
            assert await timeline_phone_entries(member_no) == 1

        assert republish(system) == {"published": 0, "stamped": 0, "unreadable": 0}
