"""Login codes, access tokens, phone numbers, user info, QR and mini-program codes."""

from __future__ import annotations

import pytest

from shared.wechat.errors import WeChatError
from shared.wechat.miniprogram import decrypt_encrypted_data, open_gid_from, phone_info_from


async def _errcode(call: object) -> int:
    with pytest.raises(WeChatError) as caught:
        await call  # type: ignore[misc]
    return caught.value.errcode


async def test_login_code_is_single_use(h) -> None:
    person = await h.person(nickname="小明")
    code = (await h.sim(f"/sim/people/{person['person_id']}/login-code"))["code"]
    appid, secret = h.settings.mp_appid, h.settings.mp_secret.get_secret_value()
    session = await h.api.jscode2session(appid, secret, code)
    assert session["openid"] == person["mp_openid"]
    assert session["unionid"] == person["unionid"]
    assert len(session["session_key"]) == 24
    assert await _errcode(h.api.jscode2session(appid, secret, code)) == 40163
    assert await _errcode(h.api.jscode2session(appid, secret, "nope")) == 40029
    assert await _errcode(h.api.jscode2session(appid, "wrong", code)) == 40125
    assert await _errcode(h.api.jscode2session("wxunknown", secret, code)) == 40013
    assert (await h.client.get("/sim/stats")).json()["jscode2session_calls"] == 5


async def test_login_code_expires_after_five_minutes(h) -> None:
    person = await h.person()
    code = (await h.sim(f"/sim/people/{person['person_id']}/login-code"))["code"]
    await h.sim("/sim/clock/advance", {"seconds": 301})
    appid, secret = h.settings.mp_appid, h.settings.mp_secret.get_secret_value()
    assert await _errcode(h.api.jscode2session(appid, secret, code)) == 40029


async def test_session_key_rotates_and_unionid_comes_later(h) -> None:
    person = await h.person(with_unionid=False)
    first = await h.login(person)
    assert "unionid" not in first
    second = await h.login(person)
    assert first["session_key"] != second["session_key"]
    bound = await h.sim(f"/sim/people/{person['person_id']}/unionid")
    assert (await h.login(person))["unionid"] == bound["unionid"]


async def test_login_rate_limit(make_harness) -> None:
    h = await make_harness(login_rate_per_minute=2)
    person = await h.person()
    await h.login(person)
    await h.login(person)
    with pytest.raises(WeChatError) as caught:
        await h.login(person)
    assert caught.value.errcode == 45011


async def test_tokens_replace_expire_and_are_counted(h) -> None:
    person = await h.person()
    first = await h.token("oa")
    assert (await h.api.user_info(first, person["oa_openid"])) == {
        "subscribe": 0,
        "openid": person["oa_openid"],
    }
    second = await h.token("oa")
    assert second != first
    await h.api.user_info(first, person["oa_openid"])  # the old token has a 5-minute grace
    await h.sim("/sim/clock/advance", {"seconds": 301})
    assert await _errcode(h.api.user_info(first, person["oa_openid"])) == 40001
    await h.api.user_info(second, person["oa_openid"])
    await h.sim("/sim/tokens/expire", {"appid": h.settings.oa_appid})
    assert await _errcode(h.api.user_info(second, person["oa_openid"])) == 42001
    assert await _errcode(h.api.user_info("garbage", person["oa_openid"])) == 40001
    stats = (await h.client.get("/sim/stats")).json()
    assert stats["token_calls"] == {h.settings.oa_appid: 2}


async def test_token_expires_after_7200_seconds(h) -> None:
    token = await h.token("mp")
    await h.sim("/sim/clock/advance", {"seconds": 7200})
    body = {"scene": "a=1", "page": "pages/index/index"}
    assert await _errcode(h.api.get_wxacode_unlimit(token, body)) == 42001


async def test_stable_token_is_stable_until_forced(h) -> None:
    appid, secret = h.settings.mp_appid, h.settings.mp_secret.get_secret_value()
    first = await h.api.get_stable_token(appid, secret)
    again = await h.api.get_stable_token(appid, secret)
    assert first["access_token"] == again["access_token"]
    forced = await h.api.get_stable_token(appid, secret, force_refresh=True)
    assert forced["access_token"] != first["access_token"]
    assert await _errcode(h.api.get_stable_token(appid, secret, force_refresh=True)) == 45011
    assert (await h.client.get("/sim/stats")).json()["stable_token_calls"] == {appid: 4}
    # Stable tokens are independent of cgi-bin/token's.
    await h.token("mp")
    await h.api.get_wxacode_unlimit(forced["access_token"], {"scene": "x"})


async def test_phone_code_and_legacy_encrypted_phone(h) -> None:
    person = await h.person()
    session = await h.login(person)
    token = await h.token("mp")
    code = (await h.sim(f"/sim/people/{person['person_id']}/phone-code", {"phone": "13800138000"}))["code"]
    result = await h.api.get_phone_number(token, code)
    info = phone_info_from(result["phone_info"])
    assert (info.pure_phone_number, info.country_code) == ("13800138000", "86")
    assert result["phone_info"]["watermark"]["appid"] == h.settings.mp_appid
    assert await _errcode(h.api.get_phone_number(token, code)) == 40029
    oa_token = await h.token("oa")
    assert await _errcode(h.api.get_phone_number(oa_token, code)) == 48001

    data = await h.sim(
        f"/sim/people/{person['person_id']}/encrypted-data", {"kind": "phone", "phone": "13900000000"}
    )
    payload = decrypt_encrypted_data(
        session["session_key"], data["encrypted_data"], data["iv"], h.settings.mp_appid
    )
    assert phone_info_from(payload).pure_phone_number == "13900000000"


async def test_group_data_uses_the_latest_session_key(h) -> None:
    person = await h.person()
    old = await h.login(person)
    new = await h.login(person)
    pid = person["person_id"]
    share = await h.sim(f"/sim/people/{pid}/encrypted-data", {"kind": "share", "open_gid": "tGgroupA"})
    enter = await h.sim(f"/sim/people/{pid}/encrypted-data", {"kind": "group_enter", "open_gid": "tGgroupA"})
    appid = h.settings.mp_appid
    shared = decrypt_encrypted_data(new["session_key"], share["encrypted_data"], share["iv"], appid)
    entered = decrypt_encrypted_data(new["session_key"], enter["encrypted_data"], enter["iv"], appid)
    assert open_gid_from(shared) == open_gid_from(entered) == "tGgroupA"
    assert "opengid" in entered and "openGId" in shared
    with pytest.raises(ValueError):
        decrypt_encrypted_data(old["session_key"], share["encrypted_data"], share["iv"], appid)


async def test_qrcode_ranges_and_follow_through_scene(h) -> None:
    token = await h.token("oa")
    temp = await h.api.create_qrcode(
        token,
        {
            "expire_seconds": 9_999_999,
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": "ch_42"}},
        },
    )
    assert temp["expire_seconds"] == 2_592_000 and temp["url"].startswith("http://weixin.qq.com/q/")
    permanent = {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_000}}}
    assert "expire_seconds" not in await h.api.create_qrcode(token, permanent)
    for bad in (
        {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_001}}},
        {"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "x" * 65}}},
        {"action_name": "QR_WHATEVER", "action_info": {"scene": {"scene_id": 1}}},
    ):
        assert await _errcode(h.api.create_qrcode(token, bad)) == 40097

    person = await h.person()
    await h.sim(f"/sim/people/{person['person_id']}/scan", {"scene": "ch_42"})
    message = h.gateway.messages("oa")[-1]
    assert (message["Event"], message["EventKey"], message["Ticket"]) == (
        "subscribe",
        "qrscene_ch_42",
        temp["ticket"],
    )
    info = await h.api.user_info(token, person["oa_openid"])
    assert info["subscribe"] == 1 and info["qr_scene_str"] == "ch_42" and info["unionid"] == person["unionid"]
    await h.sim(f"/sim/people/{person['person_id']}/scan", {"scene": "ch_42"})
    assert h.gateway.messages("oa")[-1]["Event"] == "SCAN"
    assert h.gateway.messages("oa")[-1]["EventKey"] == "ch_42"


async def test_wxacode_png_and_scene_limit(h) -> None:
    token = await h.token("mp")
    png = await h.api.get_wxacode_unlimit(token, {"scene": "c=9&r=10001", "page": "pages/join/index"})
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and b"c=9&r=10001" in png
    assert await _errcode(h.api.get_wxacode_unlimit(token, {"scene": "x" * 33})) == 40169


async def test_faults_apply_to_the_next_calls(h) -> None:
    appid, secret = h.settings.mp_appid, h.settings.mp_secret.get_secret_value()
    await h.sim("/sim/faults", {"path": "/cgi-bin/token", "errcode": -1, "times": 2})
    assert await _errcode(h.api.get_token(appid, secret)) == -1
    assert await _errcode(h.api.get_token(appid, secret)) == -1
    await h.api.get_token(appid, secret)
    await h.sim("/sim/faults", {"path": "/cgi-bin/token", "http_status": 502})
    assert await _errcode(h.api.get_token(appid, secret)) == -1
    await h.sim("/sim/faults", {"path": "/cgi-bin/*", "drop_connection": True})
    assert await _errcode(h.api.get_token(appid, secret)) == -1
    await h.sim("/sim/faults", {"path": "/sns/jscode2session", "errcode": 45011})
    await h.client.delete("/sim/faults")
    await h.api.get_token(appid, secret)
    assert (await h.client.get("/sim/stats")).json()["api_calls"]["/cgi-bin/token"] == 6
