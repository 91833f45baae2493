"""Service account and mini-program push URLs: verification, modes, dedupe, replies."""

from __future__ import annotations

import time
from xml.etree import ElementTree

from wechatpy.crypto import WeChatCrypto

from gateway.callbacks.replies import ReplyRule
from shared.settings import (
    DEV_MP_AES_KEY,
    DEV_MP_APPID,
    DEV_MP_TOKEN,
    DEV_OA_AES_KEY,
    DEV_OA_APPID,
    DEV_OA_TOKEN,
)
from shared.testing.wechat import query_signature


def text_xml(openid: str, content: str, msg_id: str = "6000000000000000001", create_time: int | None = None) -> str:
    ts = create_time or int(time.time())
    return (
        f"<xml><ToUserName><![CDATA[gh_qunyundev0001]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
        f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(openid: str, event: str, key: str = "", create_time: int = 1_763_000_000) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_qunyundev0001]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
        f"</FromUserName><CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
        f"<Ticket><![CDATA[tkt]]></Ticket></xml>"
    )


def assert_problem(response, status: int, slug: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if slug:
        assert response.json()["type"].endswith("/" + slug)


async def test_url_verification_plain_and_safe(gateway):
    query = gateway.signed_query(DEV_OA_TOKEN, echostr="echo-123")
    response = await gateway.client.get(gateway.oa_url, params=query)
    assert response.status_code == 200 and response.text == "echo-123"
    bad = {**query, "signature": "0" * 40}
    assert_problem(await gateway.client.get(gateway.oa_url, params=bad), 403, "invalid-signature")
    # Safe mode: echostr is encrypted and signed with msg_signature.
    crypto = WeChatCrypto(DEV_OA_TOKEN, DEV_OA_AES_KEY, DEV_OA_APPID)
    ts, nonce = str(int(time.time())), "nonce42"
    root = ElementTree.fromstring(crypto.encrypt_message("<xml/>", nonce, ts))
    encrypt, signature = root.findtext("Encrypt"), root.findtext("MsgSignature")
    params = {"timestamp": ts, "nonce": nonce, "encrypt_type": "aes", "msg_signature": signature, "echostr": encrypt}
    response = await gateway.client.get(gateway.oa_url, params=params)
    assert response.status_code == 200 and response.text == "<xml/>"


async def test_plain_text_message_is_recorded_once_across_retries(gateway):
    body = text_xml("oUSER1", "hello", msg_id="777")
    for _ in range(3):  # WeChat retries a push it got no answer for
        response = await gateway.client.post(gateway.oa_url, params=gateway.signed_query(DEV_OA_TOKEN), content=body)
        assert response.status_code == 200 and response.text == "success"
    rows = await gateway.outbox("wechat.inbound.message")
    assert len(rows) == 1
    assert rows[0].topic == "wechat.inbound" and rows[0].key == "oUSER1"
    assert rows[0].envelope["data"]["content"] == "hello"


async def test_events_dedupe_on_sender_time_event_and_key(gateway):
    query = gateway.signed_query
    await gateway.client.post(
        gateway.oa_url, params=query(DEV_OA_TOKEN), content=event_xml("oA", "subscribe", "qrscene_ch1")
    )
    await gateway.client.post(
        gateway.oa_url, params=query(DEV_OA_TOKEN), content=event_xml("oA", "subscribe", "qrscene_ch1")
    )
    await gateway.client.post(gateway.oa_url, params=query(DEV_OA_TOKEN), content=event_xml("oA", "SCAN", "ch2"))
    await gateway.client.post(gateway.oa_url, params=query(DEV_OA_TOKEN), content=event_xml("oA", "unsubscribe"))
    subscribed = await gateway.outbox("wechat.inbound.subscribed")
    assert len(subscribed) == 1 and subscribed[0].envelope["data"]["scene"] == "ch1"
    scanned = await gateway.outbox("wechat.inbound.scanned")
    assert scanned[0].envelope["data"]["scene"] == "ch2"
    assert len(await gateway.outbox("wechat.inbound.unsubscribed")) == 1


def safe_push(token: str, aes_key: str, appid: str, message: str, *, compat_fields: str = "") -> tuple[dict, str]:
    """Query and body of a safe-mode push, encrypted by wechatpy (an independent implementation)."""
    crypto = WeChatCrypto(token, aes_key, appid)
    ts, nonce = str(int(time.time())), "n0nce"
    root = ElementTree.fromstring(crypto.encrypt_message(message, nonce, ts))
    params = {
        "signature": query_signature(token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": root.findtext("MsgSignature"),
        "openid": "x",
    }
    body = (
        f"<xml><ToUserName><![CDATA[gh_qunyundev0001]]></ToUserName>{compat_fields}"
        f"<Encrypt><![CDATA[{root.findtext('Encrypt')}]]></Encrypt></xml>"
    )
    return params, body


async def test_safe_mode_push_from_reference_implementation_and_encrypted_reply(gateway):
    gateway.app.state.runtime.extras["reply_rules"].rules = (
        ReplyRule(keyword="课程", match="contains", reply="回复 1 查看课程表", app="all"),
    )
    params, body = safe_push(DEV_OA_TOKEN, DEV_OA_AES_KEY, DEV_OA_APPID, text_xml("oSAFE", "想了解课程", msg_id="888"))
    response = await gateway.client.post(gateway.oa_url, params=params, content=body)
    assert response.status_code == 200, response.text
    reply_root = ElementTree.fromstring(response.text)
    crypto = WeChatCrypto(DEV_OA_TOKEN, DEV_OA_AES_KEY, DEV_OA_APPID)
    plain = crypto.decrypt_message(
        response.text,
        reply_root.findtext("MsgSignature"),
        reply_root.findtext("TimeStamp"),
        reply_root.findtext("Nonce"),
    )
    reply = ElementTree.fromstring(plain)
    assert reply.findtext("Content") == "回复 1 查看课程表"
    assert reply.findtext("ToUserName") == "oSAFE" and reply.findtext("FromUserName") == "gh_qunyundev0001"
    assert len(await gateway.outbox("wechat.inbound.message")) == 1


async def test_compatible_mode_trusts_only_the_encrypted_part(gateway):
    fake = (
        "<FromUserName>oFAKE</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
        "<Content>假</Content><MsgId>901</MsgId>"
    )
    params, body = safe_push(
        DEV_OA_TOKEN, DEV_OA_AES_KEY, DEV_OA_APPID, text_xml("oREAL", "真", msg_id="901"), compat_fields=fake
    )
    response = await gateway.client.post(gateway.oa_url, params=params, content=body)
    assert response.status_code == 200 and response.text == "success"
    [row] = await gateway.outbox("wechat.inbound.message")
    assert row.key == "oREAL" and row.envelope["data"]["content"] == "真"


async def test_wrong_appid_inside_or_bad_msg_signature_is_rejected(gateway):
    params, body = safe_push(DEV_OA_TOKEN, DEV_OA_AES_KEY, "wxSOMEONEELSE", text_xml("oX", "hi", msg_id="1"))
    assert_problem(await gateway.client.post(gateway.oa_url, params=params, content=body), 403, "invalid-signature")
    params, body = safe_push(DEV_OA_TOKEN, DEV_OA_AES_KEY, DEV_OA_APPID, text_xml("oX", "hi", msg_id="2"))
    params["msg_signature"] = "0" * 40
    assert_problem(await gateway.client.post(gateway.oa_url, params=params, content=body), 403, "invalid-signature")
    # Plaintext signature alone is not enough in safe mode.
    params.pop("msg_signature")
    assert_problem(await gateway.client.post(gateway.oa_url, params=params, content=body), 403)
    assert await gateway.outbox() == []


async def test_replayed_timestamp_malformed_bodies_and_size(gateway):
    stale = gateway.signed_query(DEV_OA_TOKEN, timestamp=int(time.time()) - 600)
    assert_problem(
        await gateway.client.post(gateway.oa_url, params=stale, content=text_xml("o", "x")), 403, "replayed-push"
    )
    query = gateway.signed_query(DEV_OA_TOKEN)
    assert_problem(
        await gateway.client.post(gateway.oa_url, params=query, content=b"<xml><broken>"), 400, "malformed-push"
    )
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<xml><FromUserName>&e;</FromUserName></xml>"
    )
    assert_problem(await gateway.client.post(gateway.oa_url, params=query, content=xxe), 400, "malformed-push")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        b"<xml><Content>&b;</Content></xml>"
    )
    assert_problem(await gateway.client.post(gateway.oa_url, params=query, content=bomb), 400, "malformed-push")
    assert_problem(await gateway.client.post(gateway.oa_url, params=query, content=b"x" * (65 * 1024)), 413)
    assert_problem(await gateway.client.post("/wechat/oa/wxnotours", params=query, content=text_xml("o", "x")), 404)
    assert await gateway.outbox() == []


async def test_mini_program_json_list_as_object_or_array(gateway):
    def popup(items):
        return {
            "ToUserName": "gh_mp",
            "FromUserName": "oMP1",
            "CreateTime": int(time.time()),
            "MsgType": "event",
            "Event": "subscribe_msg_popup_event",
            "List": items,
        }

    one = {"TemplateId": "T1", "SubscribeStatusString": "accept", "PopupScene": "0"}
    many = [one, {"TemplateId": "T2", "SubscribeStatusString": "reject", "PopupScene": "0"}]
    import json

    for items in (one, many):
        body = json.dumps(popup(items))
        response = await gateway.client.post(gateway.mp_url, params=gateway.signed_query(DEV_MP_TOKEN), content=body)
        assert response.text == "success"
    # Same sender, time and event: the second is a retry of the first by WeChat's dedupe rule.
    rows = await gateway.outbox("wechat.inbound.subscribe_popup")
    assert [d["template_id"] for d in rows[0].envelope["data"]["decisions"]] == ["T1"]


async def test_mini_program_xml_safe_mode_subscribe_sent(gateway):
    xml = (
        "<xml><ToUserName>gh_mp</ToUserName><FromUserName>oMP2</FromUserName><CreateTime>1763000001</CreateTime>"
        "<MsgType>event</MsgType><Event>subscribe_msg_sent_event</Event><SubscribeMsgSentEvent>"
        "<List><TemplateId>T1</TemplateId><MsgID>100</MsgID><ErrorCode>0</ErrorCode>"
        "<ErrorStatus>success</ErrorStatus></List></SubscribeMsgSentEvent></xml>"
    )
    params, body = safe_push(DEV_MP_TOKEN, DEV_MP_AES_KEY, DEV_MP_APPID, xml)
    response = await gateway.client.post(gateway.mp_url, params=params, content=body)
    assert response.status_code == 200 and response.text == "success"
    [row] = await gateway.outbox("wechat.inbound.subscribe_sent")
    assert row.envelope["data"]["results"] == [
        {"template_id": "T1", "msg_id": "100", "error_code": "0", "error_status": "success"}
    ]


async def test_unknown_kinds_are_kept_raw(gateway):
    xml = event_xml("oU", "some_future_event")
    await gateway.client.post(gateway.oa_url, params=gateway.signed_query(DEV_OA_TOKEN), content=xml)
    [row] = await gateway.outbox("wechat.inbound.unknown")
    assert "some_future_event" in row.envelope["data"]["raw"]


async def test_json_push_with_non_string_ciphertext_is_a_client_error(gateway):
    # Found by the fuzz test: {"Encrypt": 1} in safe mode reached the crypto as an int.
    params = {**gateway.signed_query(DEV_MP_TOKEN), "encrypt_type": "aes", "msg_signature": "0" * 40}
    for body in (b'{"Encrypt": 1}', b'{"Encrypt": ["x"]}', b'{"Encrypt": null}'):
        response = await gateway.client.post(gateway.mp_url, params=params, content=body)
        assert response.status_code == 400, response.text
