"""Mini-program login: new and returning members, WeChat errors, concurrency."""

import asyncio

from identity_service.sessions.service import SESSION_KEY_CONTEXT


async def test_first_login_creates_member_and_stores_session_key_encrypted(identity, sim):
    person = await sim.person(with_unionid=True)
    session = await identity.login(sim, person["person_id"])
    assert session["member_no"] >= 10001
    assert session["member_no_display"] == f"{session['member_no']:05d}"
    assert session["expires_in"] > 0 and session["token"] and session["refresh_token"]

    rows = await identity.sql(
        "SELECT session_key_enc FROM mp_sessions WHERE member_no = :m", m=session["member_no"]
    )
    assert len(rows) == 1
    session_key = identity.ctx.cipher.decrypt(rows[0].session_key_enc, context=SESSION_KEY_CONTEXT)
    assert session_key.encode() not in rows[0].session_key_enc
    assert "session_key" not in str(session)

    created = await identity.events("identity.member.created")
    assert [e["member_no"] for e in created] == [session["member_no"]]
    assert created[0]["data"]["unionid"] == person["unionid"]
    assert created[0]["data"]["openid"] == person["mp_openid"]

    me = await identity.client.get("/mp/v1/me", headers=identity.member(session))
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["member_no"] == session["member_no"]
    assert body["apps"] == [{"app": "mp", "appid": identity.settings.mp_appid}]
    assert body["phone"] == {"bound": False, "masked": None, "country_code": None}
    assert body["follows_service_account"] is False


async def test_returning_member_keeps_number(identity, sim):
    person = await sim.person(with_unionid=False)
    first = await identity.login(sim, person["person_id"])
    second = await identity.login(sim, person["person_id"])
    assert first["member_no"] == second["member_no"]
    assert len(await identity.events("identity.member.created")) == 1
    # A new login is a new session_key: two sessions, the latest one current.
    rows = await identity.sql("SELECT id FROM mp_sessions WHERE member_no = :m", m=first["member_no"])
    assert len(rows) == 2


async def test_returning_login_opens_a_working_refresh_family(identity, sim):
    person = await sim.person(with_unionid=True)
    first = await identity.login(sim, person["person_id"])
    again = await identity.login(sim, person["person_id"])  # a known member: the one-statement path
    assert again["member_no"] == first["member_no"]
    refreshed = await identity.client.post(
        "/mp/v1/session/refresh", json={"refresh_token": again["refresh_token"]}, headers=identity.public()
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["member_no"] == first["member_no"]
    me = await identity.client.get("/mp/v1/me", headers=identity.member(refreshed.json()))
    assert me.status_code == 200 and me.json()["member_no"] == first["member_no"]


async def test_wechat_errors_become_clear_problems(identity, sim):
    person = await sim.person()
    code = await sim.login_code(person["person_id"])
    assert (
        await identity.client.post("/mp/v1/session", json={"code": code}, headers=identity.public())
    ).status_code == 200

    used = await identity.client.post("/mp/v1/session", json={"code": code}, headers=identity.public())
    assert used.status_code == 401
    assert used.headers["content-type"].startswith("application/problem+json")
    assert used.json()["type"].endswith("/login-code-invalid")
    assert used.json()["detail"] == "登录凭证无效或已使用，请重新登录。"

    bogus = await identity.client.post("/mp/v1/session", json={"code": "nope"}, headers=identity.public())
    assert bogus.status_code == 401

    await sim.fault("/sns/jscode2session", errcode=45011)
    limited = await identity.client.post(
        "/mp/v1/session", json={"code": await sim.login_code(person["person_id"])}, headers=identity.public()
    )
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "60"

    # Busy once: retried and answered.
    await sim.fault("/sns/jscode2session", errcode=-1)
    await identity.login(sim, person["person_id"])

    # Busy (or HTTP 5xx) beyond the bounded retries: 503.
    await sim.fault("/sns/jscode2session", errcode=-1, times=identity.settings.wechat_attempts)
    busy = await identity.client.post(
        "/mp/v1/session", json={"code": await sim.login_code(person["person_id"])}, headers=identity.public()
    )
    assert busy.status_code == 503
    assert busy.json()["type"].endswith("/wechat-unavailable")
    assert "retry-after" in busy.headers

    await sim.fault("/sns/jscode2session", http_status=502, times=identity.settings.wechat_attempts)
    down = await identity.client.post(
        "/mp/v1/session", json={"code": await sim.login_code(person["person_id"])}, headers=identity.public()
    )
    assert down.status_code == 503


async def test_50_simultaneous_first_logins_of_one_person_make_one_member(identity, sim):
    person = await sim.person(with_unionid=True)
    codes = [await sim.login_code(person["person_id"]) for _ in range(50)]
    responses = await asyncio.gather(
        *(identity.client.post("/mp/v1/session", json={"code": c}, headers=identity.public()) for c in codes)
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    assert len({r.json()["member_no"] for r in responses}) == 1
    assert len(await identity.sql("SELECT member_no FROM members")) == 1
    assert len(await identity.events("identity.member.created")) == 1
    # The losers of the race burned no number.
    other = await identity.login(sim, (await sim.person())["person_id"])
    assert other["member_no"] == responses[0].json()["member_no"] + 1


async def test_200_simultaneous_first_logins_of_different_people_get_distinct_numbers(identity, sim):
    people = [await sim.person(with_unionid=i % 2 == 0) for i in range(200)]
    codes = [await sim.login_code(p["person_id"]) for p in people]
    responses = await asyncio.gather(
        *(identity.client.post("/mp/v1/session", json={"code": c}, headers=identity.public()) for c in codes)
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200][
        :3
    ]
    numbers = [r.json()["member_no"] for r in responses]
    assert len(set(numbers)) == 200
    assert min(numbers) >= 10001
    assert len(await identity.events("identity.member.created")) == 200
