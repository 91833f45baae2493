"""Access tokens: one owner, one refresh for N replicas, invalidation, refresh ahead of expiry."""

import asyncio
from datetime import timedelta

from shared.events.envelope import utcnow


async def _token(identity, appid):
    response = await identity.client.get(
        f"/internal/wechat/token/{appid}", headers=identity.service("messaging")
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_100_concurrent_requests_on_two_instances_make_one_token_call(identity_app, migrated_db, sim):
    database = await migrated_db("identity")
    async with identity_app(database) as one, identity_app(database) as two:
        appid = one.settings.oa_appid
        # An expired token in the shared cache.
        await one.execute(
            "INSERT INTO wechat_access_tokens (appid, access_token, expires_at) VALUES (:a, 'old', :e)",
            a=appid,
            e=utcnow() - timedelta(minutes=1),
        )
        before = await sim.token_calls(appid)
        answers = await asyncio.gather(*(_token(one if i % 2 else two, appid) for i in range(100)))
        assert await sim.token_calls(appid) - before == 1
        assert len({a["access_token"] for a in answers}) == 1
        assert answers[0]["access_token"] != "old"

        # Cached: no further call.
        await _token(two, appid)
        assert await sim.token_calls(appid) - before == 1


async def test_invalidate_refreshes_once_and_only_the_current_token(identity, sim):
    appid = identity.settings.mp_appid
    current = (await _token(identity, appid))["access_token"]
    before = await sim.token_calls(appid)
    answers = await asyncio.gather(
        *(
            identity.client.post(
                f"/internal/wechat/token/{appid}/invalidate",
                json={"access_token": current},
                headers=identity.service(),
            )
            for _ in range(20)
        )
    )
    assert {a.status_code for a in answers} == {200}
    assert await sim.token_calls(appid) - before == 1
    fresh = {a.json()["access_token"] for a in answers}
    assert len(fresh) == 1 and current not in fresh

    # A token that is no longer current is not refreshed again.
    stale = await identity.client.post(
        f"/internal/wechat/token/{appid}/invalidate",
        json={"access_token": current},
        headers=identity.service(),
    )
    assert stale.json()["access_token"] in fresh
    assert await sim.token_calls(appid) - before == 1


async def test_refreshed_ahead_of_expiry(identity, sim):
    appid = identity.settings.oa_appid
    first = await _token(identity, appid)
    # Two minutes left of a two-hour token: inside the five-minute margin.
    await identity.execute(
        "UPDATE wechat_access_tokens SET expires_at = :e, refreshed_at = :r WHERE appid = :a",
        a=appid,
        e=utcnow() + timedelta(seconds=120),
        r=utcnow() - timedelta(seconds=7080),
    )
    before = await sim.token_calls(appid)
    second = await _token(identity, appid)
    assert await sim.token_calls(appid) - before == 1
    assert second["access_token"] != first["access_token"]


async def test_short_lived_token_is_refreshed_at_half_life_not_every_time(identity, sim):
    appid = identity.settings.oa_appid
    await _token(identity, appid)
    # A token that came with only 200 s of life (stable_token near its end).
    await identity.execute(
        "UPDATE wechat_access_tokens SET expires_at = :e, refreshed_at = :r WHERE appid = :a",
        a=appid,
        e=utcnow() + timedelta(seconds=190),
        r=utcnow() - timedelta(seconds=10),
    )
    before = await sim.token_calls(appid)
    await _token(identity, appid)
    assert await sim.token_calls(appid) == before


async def test_expired_at_wechat_is_refreshed_once_and_the_call_retried(identity, sim):
    person = await sim.person()
    session = await identity.login(sim, person["person_id"])
    await _token(identity, identity.settings.mp_appid)
    await sim.expire_tokens(identity.settings.mp_appid)
    before = await sim.token_calls(identity.settings.mp_appid)
    response = await identity.client.post(
        "/mp/v1/me/phone",
        json={"code": await sim.phone_code(person["person_id"], "13500135000")},
        headers=identity.member(session),
    )
    assert response.status_code == 200, response.text
    assert await sim.token_calls(identity.settings.mp_appid) - before == 1


async def test_unknown_appid_and_bad_credentials(identity, sim):
    unknown = await identity.client.get("/internal/wechat/token/wxnotours", headers=identity.service())
    assert unknown.status_code == 404
    await sim.fault("/cgi-bin/token", errcode=40125)
    rejected = await identity.client.get(
        f"/internal/wechat/token/{identity.settings.oa_appid}", headers=identity.service()
    )
    assert rejected.status_code == 502
    assert rejected.json()["errcode"] == 40125
    await sim.fault("/cgi-bin/token", errcode=-1, times=identity.settings.wechat_attempts)
    busy = await identity.client.get(
        f"/internal/wechat/token/{identity.settings.oa_appid}", headers=identity.service()
    )
    assert busy.status_code == 503
