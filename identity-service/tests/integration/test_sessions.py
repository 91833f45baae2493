"""Refresh-token rotation and reuse detection."""

import asyncio


async def _refresh(identity, token):
    return await identity.client.post(
        "/mp/v1/session/refresh", json={"refresh_token": token}, headers=identity.public()
    )


async def test_refresh_rotates_and_reuse_revokes_the_family(identity, sim):
    person = await sim.person()
    login = await identity.login(sim, person["person_id"])

    first = await _refresh(identity, login["refresh_token"])
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["member_no"] == login["member_no"]
    assert rotated["refresh_token"] != login["refresh_token"]
    second = await _refresh(identity, rotated["refresh_token"])
    assert second.status_code == 200
    latest = second.json()

    # The first token again: reuse. Rejected, and the whole family with it.
    reused = await _refresh(identity, login["refresh_token"])
    assert reused.status_code == 401
    assert reused.json()["type"].endswith("/refresh-token-reused")
    assert (await _refresh(identity, latest["refresh_token"])).status_code == 401
    me = await identity.client.get("/mp/v1/me", headers=identity.member(latest))
    assert me.status_code == 401
    assert me.json()["type"].endswith("/session-revoked")

    # Another login is a new family and works.
    fresh = await identity.login(sim, person["person_id"])
    assert (await _refresh(identity, fresh["refresh_token"])).status_code == 200


async def test_unknown_refresh_token_and_concurrent_exchange(identity, sim):
    assert (await _refresh(identity, "not-a-token")).status_code == 401
    login = await identity.login(sim, (await sim.person())["person_id"])
    # Two exchanges of one token at once: one wins, the other is reuse.
    answers = await asyncio.gather(*(_refresh(identity, login["refresh_token"]) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 401]


async def test_only_token_hashes_are_stored(identity, sim):
    login = await identity.login(sim, (await sim.person())["person_id"])
    rows = await identity.sql("SELECT token_hash FROM refresh_tokens")
    assert rows and all(login["refresh_token"].encode() not in r.token_hash for r in rows)
