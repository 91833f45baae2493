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


async def test_first_login_of_each_shanghai_day_emits_one_logged_in_event(identity, sim):
    from datetime import UTC, datetime, timedelta

    from identity_service.sessions.service import login_day
    from shared.clock import Clock

    clock = identity.runtime.extras["clock"] = Clock()
    person = await sim.person(with_unionid=True)
    first = await identity.login(sim, person["person_id"])  # a new member: the full path
    member_no = first["member_no"]
    for _ in range(3):  # returning logins of the same day: the one-statement path, no event
        assert (await identity.login(sim, person["person_id"]))["member_no"] == member_no
    events = await identity.events("identity.member.logged_in")
    assert [(e["member_no"], e["data"]["member_no"], e["data"]["app"]) for e in events] == [
        (member_no, member_no, "mp")
    ]
    day_one = login_day(datetime.fromisoformat(events[0]["occurred_at"]))

    # 16:30 UTC is the next Asia/Shanghai day (00:30 +08:00): a new day, one more event.
    now = datetime.now(UTC)
    clock.offset = datetime.combine(now.date(), datetime.min.time(), UTC) + timedelta(hours=40, minutes=30) - now
    await asyncio.gather(*(identity.login(sim, person["person_id"]) for _ in range(5)))
    events = await identity.events("identity.member.logged_in")
    assert len(events) == 2, events
    second = datetime.fromisoformat(events[1]["occurred_at"])
    assert login_day(second) > day_one
    assert datetime.fromisoformat(events[1]["data"]["occurred_at"]) == second
    (day,) = (await identity.sql("SELECT last_login_day FROM members WHERE member_no = :m", m=member_no))[0]
    assert day == login_day(second)
