"""Subscribe quotas, template messages, customer-service windows, and how pushes are delivered."""

from __future__ import annotations

import pytest

from shared.wechat.errors import WeChatError
from shared.wechat.push import event_items
from shared.wechat.xml import text_reply

DATA = {"thing1": {"value": "第3期开营"}, "time2": {"value": "2024-05-01 20:00"}}


async def _errcode(call: object) -> int:
    with pytest.raises(WeChatError) as caught:
        await call  # type: ignore[misc]
    return caught.value.errcode


async def test_subscribe_quota_one_send_per_accept(h) -> None:
    person = await h.person()
    token = await h.token("mp")
    body = {"touser": person["mp_openid"], "template_id": "TPL_A", "page": "pages/index/index", "data": DATA}
    assert await _errcode(h.api.send_subscribe(token, body)) == 40037  # never shown to anyone

    pid = person["person_id"]
    answer = await h.sim(
        f"/sim/people/{pid}/subscribe-popup", {"templates": {"TPL_A": "accept", "TPL_B": "reject"}}
    )
    assert answer == {"status": 200, "body": "success", "attempts": 1}
    popup = h.gateway.messages("mp")[-1]
    assert popup["Event"] == "subscribe_msg_popup_event"
    assert isinstance(popup["List"], list)  # several items: a JSON array
    assert [(i["TemplateId"], i["SubscribeStatusString"]) for i in event_items(popup)] == [
        ("TPL_A", "accept"),
        ("TPL_B", "reject"),
    ]

    sent = await h.api.send_subscribe(token, body)
    assert await _errcode(h.api.send_subscribe(token, body)) == 43101
    assert await _errcode(h.api.send_subscribe(token, {**body, "template_id": "TPL_B"})) == 43101
    assert await _errcode(h.api.send_subscribe(token, {**body, "touser": "ounknown"})) == 40003
    too_long = {**body, "data": {"thing1": {"value": "x" * 21}}}
    await h.sim(f"/sim/people/{pid}/subscribe-popup", {"templates": {"TPL_A": "accept"}})
    assert await _errcode(h.api.send_subscribe(token, too_long)) == 47003

    await h.state.drain()
    (result,) = [m for m in h.gateway.messages("mp") if m["Event"] == "subscribe_msg_sent_event"]
    assert isinstance(result["List"], dict)  # one item: a JSON object
    assert event_items(result)[0]["MsgID"] == str(sent["msgid"])
    records = (
        await h.client.get("/sim/sent", params={"touser": person["mp_openid"], "kind": "subscribe"})
    ).json()
    assert [r["msgid"] for r in records] == [sent["msgid"]]
    assert records[0]["body"]["data"] == DATA


async def test_xml_popup_wraps_list_items(make_harness) -> None:
    h = await make_harness(mp_push_format="xml")
    person = await h.person()
    await h.sim(f"/sim/people/{person['person_id']}/subscribe-popup", {"templates": {"T1": "accept"}})
    received = h.gateway.received[-1]
    assert b"<SubscribeMsgPopupEvent><List>" in received["raw"] or received["query"]["encrypt_type"] == "aes"
    assert event_items(received["message"]) == [
        {"TemplateId": "T1", "SubscribeStatusString": "accept", "PopupScene": "0"}
    ]


async def test_template_message_needs_a_follower(h) -> None:
    person = await h.person()
    token = await h.token("oa")
    body = {
        "touser": person["oa_openid"],
        "template_id": "OA_TPL",
        "client_msg_id": "reg-1",
        "data": {"thing1": {"value": "报名成功\n第3期单词对赌活动欢迎你加入，明早8点开营"}},
    }
    assert await _errcode(h.api.send_template(token, body)) == 43004
    await h.sim(f"/sim/people/{person['person_id']}/follow")
    first = await h.api.send_template(token, body)
    again = await h.api.send_template(token, body)
    assert again["msgid"] == first["msgid"]  # client_msg_id dedupes for 10 minutes
    await h.state.drain()
    finished = h.gateway.messages("oa")[-1]
    assert (finished["Event"], finished["MsgID"], finished["Status"]) == (
        "TEMPLATESENDJOBFINISH",
        str(first["msgid"]),
        "success",
    )
    (record,) = (await h.client.get("/sim/sent", params={"kind": "template"})).json()
    assert record["body"]["data"]["thing1"]["value"] == "报名成功第3期单词对赌活动欢迎你加入，明"
    await h.sim("/sim/templates", {"app": "oa", "template_id": "OTHER"})
    assert await _errcode(h.api.send_template(token, {**body, "client_msg_id": "reg-2"})) == 40037


def _custom(openid: str) -> dict[str, object]:
    return {"touser": openid, "msgtype": "text", "text": {"content": "你好"}}


async def test_custom_send_windows(h) -> None:
    person = await h.person()
    pid, openid = person["person_id"], person["oa_openid"]
    token = await h.token("oa")
    assert await _errcode(h.api.send_custom(token, _custom(openid))) == 45015

    await h.sim(f"/sim/people/{pid}/follow")  # 3 sends within 1 minute
    for _ in range(3):
        await h.api.send_custom(token, _custom(openid))
    assert await _errcode(h.api.send_custom(token, _custom(openid))) == 45047
    await h.sim("/sim/clock/advance", {"seconds": 61})
    assert await _errcode(h.api.send_custom(token, _custom(openid))) == 45015

    await h.sim(f"/sim/people/{pid}/text", {"content": "报名", "app": "oa"})  # 5 sends within 48 h
    await h.sim("/sim/clock/advance", {"seconds": 47 * 3600})
    token = await h.token("oa")  # the old one expired meanwhile
    for _ in range(5):
        await h.api.send_custom(token, _custom(openid))
    assert await _errcode(h.api.send_custom(token, _custom(openid))) == 45047
    await h.sim("/sim/clock/advance", {"seconds": 3601})
    assert await _errcode(h.api.send_custom(token, _custom(openid))) == 45015

    await h.sim(f"/sim/people/{pid}/click", {"key": "MENU_CHECKIN"})
    await h.api.send_custom(token, _custom(openid))
    await h.sim(f"/sim/people/{pid}/unfollow")
    assert await _errcode(h.api.send_custom(token, _custom(openid))) == 45015
    assert len((await h.client.get("/sim/sent", params={"kind": "custom"})).json()) == 9


async def test_mini_program_customer_service_windows(h) -> None:
    person = await h.person()
    token = await h.token("mp")
    await h.sim(f"/sim/people/{person['person_id']}/enter-session", {"session_from": "card"})
    assert h.gateway.messages("mp")[-1]["Event"] == "user_enter_tempsession"
    for _ in range(2):
        await h.api.send_custom(token, _custom(person["mp_openid"]))
    assert await _errcode(h.api.send_custom(token, _custom(person["mp_openid"]))) == 45047
    # The mini-program's token cannot reach the service-account openid.
    assert await _errcode(h.api.send_custom(token, _custom(person["oa_openid"]))) == 40003


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
async def test_push_modes_and_follow_event(h, mode: str) -> None:
    person = await h.person()
    await h.sim(f"/sim/people/{person['person_id']}/follow", {"mode": mode})
    received = h.gateway.received[-1]
    query, message = received["query"], received["message"]
    assert set(query) >= {"signature", "timestamp", "nonce", "openid"}
    assert ("msg_signature" in query) == (mode != "plain")
    assert (b"<Event>" in received["raw"]) == (mode != "safe")
    assert message["ToUserName"] == h.settings.oa_original_id
    assert message["FromUserName"] == person["oa_openid"]
    assert (message["MsgType"], message["Event"], message["EventKey"]) == ("event", "subscribe", "")


async def test_slow_gateway_gets_three_attempts_of_the_same_message(h) -> None:
    person = await h.person()
    await h.sim(f"/sim/people/{person['person_id']}/follow")
    h.gateway.push_delays = [1.0, 1.0]  # timeout is 0.5 s in tests
    answer = await h.sim(f"/sim/people/{person['person_id']}/text", {"content": "hi", "app": "oa"})
    assert answer == {"status": 200, "body": "success", "attempts": 3}
    texts = [m for m in h.gateway.messages("oa") if m["MsgType"] == "text"]
    assert len(texts) == 3 and len({(m["MsgId"], m["CreateTime"]) for m in texts}) == 1

    h.gateway.push_delays = [1.0, 1.0, 1.0]
    answer = await h.sim(f"/sim/people/{person['person_id']}/click", {"key": "K"})
    assert answer == {"status": None, "body": "", "attempts": 3}
    log = (await h.client.get("/sim/pushes", params={"target": "oa"})).json()
    assert log[-1]["error"].startswith("PushTimeout")


async def test_encrypted_reply_is_decoded_in_the_push_log(h) -> None:
    def reply(message, crypto, request) -> str:  # type: ignore[no-untyped-def]
        xml = text_reply(message["FromUserName"], message["ToUserName"], "已报名", 1700000000)
        q = request.query_params
        return crypto.encrypt_reply_xml(xml, q["timestamp"], q["nonce"])

    h.gateway.reply = reply
    person = await h.person()
    await h.sim(f"/sim/people/{person['person_id']}/follow")
    (log,) = (await h.client.get("/sim/pushes")).json()
    assert log["reply_valid"] is True and "已报名" in log["reply"]


async def test_url_check_and_subscription_change(h) -> None:
    for app in ("oa", "mp"):
        check = await h.sim("/sim/verify-url", {"app": app})
        assert check["ok"] is True and check["status"] == 200

    person = await h.person()
    pid = person["person_id"]
    await h.sim(f"/sim/people/{pid}/subscribe-popup", {"templates": {"T1": "accept"}})
    await h.sim(f"/sim/people/{pid}/subscribe-popup", {"templates": {"T1": "accept"}})
    credits = (await h.client.get("/sim/credits", params={"touser": person["mp_openid"]})).json()
    assert credits == [{"touser": person["mp_openid"], "template_id": "T1", "credits": 2}]
    await h.sim(f"/sim/people/{pid}/subscribe-change", {"templates": {"T1": "reject"}})
    change = h.gateway.messages("mp")[-1]
    assert change["Event"] == "subscribe_msg_change_event"
    assert event_items(change) == [{"TemplateId": "T1", "SubscribeStatusString": "reject"}]
    token = await h.token("mp")
    body = {"touser": person["mp_openid"], "template_id": "T1", "data": DATA}
    assert await _errcode(h.api.send_subscribe(token, body)) == 43101


async def test_custom_send_fast_path_answers_as_the_route(h) -> None:
    # The ASGI fast path serves POST /cgi-bin/message/custom/send: token, body and window errors as WeChat's,
    # injected faults still apply, and a success is in the send log; the route stays in the OpenAPI.
    person = await h.person()
    pid, openid = person["person_id"], person["oa_openid"]
    await h.sim(f"/sim/people/{pid}/follow")
    token = await h.token("oa")
    path = "/cgi-bin/message/custom/send"
    assert (await h.client.post(path, json=_custom(openid))).json()["errcode"] == 41001
    assert (await h.client.post(path, params={"access_token": "nope"}, json=_custom(openid))).json()[
        "errcode"] == 40001
    assert (await h.client.post(path, params={"access_token": await h.token("mp")},
                                json=_custom(person["oa_openid"]))).json()["errcode"] == 40003
    assert (await h.client.post(path, params={"access_token": token}, content=b"")).json()["errcode"] == 44002
    assert (await h.client.post(path, params={"access_token": token}, content=b"{not json")).json()[
        "errcode"] == 47001
    assert (await h.client.post(path, params={"access_token": token},
                                json={"touser": openid, "msgtype": "nope"})).json()["errcode"] == 40008
    await h.sim("/sim/faults", {"path": path, "errcode": 45009, "times": 1})
    assert await _errcode(h.api.send_custom(token, _custom(openid))) == 45009
    await h.api.send_custom(token, _custom(openid))
    sent = (await h.client.get("/sim/sent", params={"kind": "custom", "touser": openid})).json()
    assert [s["body"]["text"]["content"] for s in sent] == ["你好"]
    assert path in (await h.client.get("/openapi.json")).json()["paths"]
