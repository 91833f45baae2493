"""Push signatures, safe-mode crypto and XML, checked against wechatpy as an independent implementation."""

from __future__ import annotations

import base64
import hashlib
import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shared.wechat.callback import CallbackCrypto, check_signature, msg_signature, sign
from shared.wechat.errors import MalformedPush, MalformedXML, WeChatCryptoError
from shared.wechat.push import event_items, parse_json_push
from shared.wechat.xml import build_xml, parse_xml, text_reply

TOKEN = "qunyunoatoken"
AES_KEY = "GFEDCBA9876543210zyxwvutsrqponmlkjihgfedcba"
APPID = "wxfedcba0987654321"
TS = "1700000000"
NONCE = "1320562132"


def _raw_encrypt(plaintext: bytes, key_b64: str = AES_KEY) -> str:
    """Encrypt already padded plaintext, to build deliberately broken messages."""
    key = base64.b64decode(key_b64 + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plaintext) + encryptor.finalize()).decode()


def test_check_signature_matches_documented_formula() -> None:
    expected = hashlib.sha1("".join(sorted([TOKEN, TS, NONCE])).encode()).hexdigest()  # noqa: S324
    assert sign(TOKEN, TS, NONCE) == expected
    assert check_signature(TOKEN, expected, TS, NONCE)
    assert not check_signature(TOKEN, expected, TS, "other")
    assert not check_signature(TOKEN, "", TS, NONCE)


def test_round_trip() -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY, APPID)
    message = "<xml><Content><![CDATA[你好]]></Content></xml>".encode()
    encrypt, signature = crypto.encrypt(message, TS, NONCE)
    assert signature == msg_signature(TOKEN, TS, NONCE, encrypt)
    assert crypto.decrypt(signature, TS, NONCE, encrypt) == message
    assert len(base64.b64decode(encrypt)) % 32 == 0


def test_push_encrypted_by_wechatpy_decrypts_with_ours() -> None:
    wechatpy_crypto = pytest.importorskip("wechatpy.crypto")
    theirs = wechatpy_crypto.WeChatCrypto(TOKEN, AES_KEY, APPID)
    inner = "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Content><![CDATA[报名]]></Content></xml>"
    envelope = parse_xml(theirs.encrypt_message(inner, NONCE, TS).encode())
    ours = CallbackCrypto(TOKEN, AES_KEY, APPID)
    plain = ours.decrypt(envelope["MsgSignature"], TS, NONCE, envelope["Encrypt"])
    assert plain.decode() == inner


def test_our_encrypted_reply_decrypts_with_wechatpy() -> None:
    wechatpy_crypto = pytest.importorskip("wechatpy.crypto")
    ours = CallbackCrypto(TOKEN, AES_KEY, APPID)
    reply = text_reply("oUser", "gh_qunyundev0001", "欢迎 ]]> 加入", 1700000000)
    envelope = ours.encrypt_reply_xml(reply, TS, NONCE)
    assert envelope.startswith("<xml><Encrypt><![CDATA[")
    fields = parse_xml(envelope.encode())
    assert set(fields) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    theirs = wechatpy_crypto.WeChatCrypto(TOKEN, AES_KEY, APPID)
    decrypted = theirs.decrypt_message(envelope, fields["MsgSignature"], TS, NONCE)
    assert decrypted == reply
    assert parse_xml(decrypted.encode())["Content"] == "欢迎 ]]> 加入"


def test_wrong_appid_is_rejected() -> None:
    other = CallbackCrypto(TOKEN, AES_KEY, "wxsomeoneelse00000")
    encrypt, signature = other.encrypt(b"<xml/>", TS, NONCE)
    with pytest.raises(WeChatCryptoError, match="appid"):
        CallbackCrypto(TOKEN, AES_KEY, APPID).decrypt(signature, TS, NONCE, encrypt)


def test_wrong_signature_is_rejected() -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY, APPID)
    encrypt, _ = crypto.encrypt(b"<xml/>", TS, NONCE)
    # The plain `signature` (without Encrypt) is a classic mistake: it must not pass.
    with pytest.raises(WeChatCryptoError, match="msg_signature"):
        crypto.decrypt(sign(TOKEN, TS, NONCE), TS, NONCE, encrypt)


def test_bad_padding_is_rejected() -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY, APPID)
    body = os.urandom(16) + struct.pack(">I", 6) + b"<xml/>" + APPID.encode()
    for bad in (bytes([0]) * (64 - len(body)), bytes([33]) * (64 - len(body))):
        encrypt = _raw_encrypt(body + bad)
        with pytest.raises(WeChatCryptoError):
            crypto.decrypt(msg_signature(TOKEN, TS, NONCE, encrypt), TS, NONCE, encrypt)
    # Inconsistent pad bytes (last byte says 3, the others disagree).
    pad = 64 - len(body)
    encrypt = _raw_encrypt(body + bytes([7]) * (pad - 1) + bytes([3]))
    with pytest.raises(WeChatCryptoError, match="padding"):
        crypto.decrypt(msg_signature(TOKEN, TS, NONCE, encrypt), TS, NONCE, encrypt)


def test_declared_length_overflow_is_rejected() -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY, APPID)
    body = os.urandom(16) + struct.pack(">I", 10_000) + b"<xml/>" + APPID.encode()
    pad = 32 - len(body) % 32
    encrypt = _raw_encrypt(body + bytes([pad]) * pad)
    with pytest.raises(WeChatCryptoError, match="length"):
        crypto.decrypt(msg_signature(TOKEN, TS, NONCE, encrypt), TS, NONCE, encrypt)


def test_garbage_encrypt_is_rejected() -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY, APPID)
    for encrypt in ("not base64!", base64.b64encode(b"short").decode(), ""):
        with pytest.raises(WeChatCryptoError):
            crypto.decrypt(msg_signature(TOKEN, TS, NONCE, encrypt), TS, NONCE, encrypt)


def test_bad_aes_key_fails_fast() -> None:
    with pytest.raises(ValueError):
        CallbackCrypto(TOKEN, "tooshort", APPID)


def test_parse_xml_flattens_fields_and_lists() -> None:
    body = (
        b"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><CreateTime>1700000000</CreateTime>"
        b"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_popup_event]]></Event>"
        b"<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[T1]]></TemplateId>"
        b"<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>0</PopupScene>"
        b"</List><List><TemplateId><![CDATA[T2]]></TemplateId>"
        b"<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString><PopupScene>0</PopupScene>"
        b"</List></SubscribeMsgPopupEvent><Empty/></xml>"
    )
    parsed = parse_xml(body)
    assert parsed["ToUserName"] == "gh_1"
    assert parsed["CreateTime"] == "1700000000"
    assert parsed["Empty"] == ""
    assert [item["TemplateId"] for item in event_items(parsed)] == ["T1", "T2"]


def test_event_items_accepts_every_list_shape() -> None:
    one = parse_json_push(
        b'{"Event": "subscribe_msg_popup_event", "List": {"TemplateId": "T1", "PopupScene": 0}}'
    )
    several = parse_json_push(b'{"List": [{"TemplateId": "T1"}, {"TemplateId": "T2"}]}')
    top_level_xml = parse_xml(b"<xml><List><TemplateId>T1</TemplateId></List></xml>")
    assert event_items(one) == [{"TemplateId": "T1", "PopupScene": "0"}]
    assert [i["TemplateId"] for i in event_items(several)] == ["T1", "T2"]
    assert event_items(top_level_xml) == [{"TemplateId": "T1"}]
    assert event_items({"Event": "subscribe"}) == []
    with pytest.raises(MalformedPush):
        event_items({"List": "oops"})


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<xml><Content>&lol2;</Content></xml>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><Content>&xxe;</Content></xml>"""


@pytest.mark.parametrize(
    "body",
    [
        BOMB,
        EXTERNAL,
        b'<!DOCTYPE xml SYSTEM "http://example.com/x.dtd"><xml/>',
        b"<xml><a>unclosed</xml>",
        b"<notxml/>",
        b"<xml><A>1</A><A>2</A></xml>",
        b"",
    ],
)
def test_hostile_or_broken_xml_is_rejected(body: bytes) -> None:
    with pytest.raises(MalformedXML):
        parse_xml(body)


def test_oversized_xml_is_rejected() -> None:
    with pytest.raises(MalformedXML, match="large"):
        parse_xml(b"<xml><C>" + b"x" * 2000 + b"</C></xml>", max_bytes=1000)


def test_build_xml_cdata_numbers_and_escape() -> None:
    xml = build_xml({"A": "x]]>y", "B": 12, "C": {"D": "e"}, "Item": [{"T": "1"}, {"T": "2"}]})
    assert "<B>12</B>" in xml
    parsed = parse_xml(xml.encode())
    assert parsed["A"] == "x]]>y"
    assert parsed["C"] == [{"D": "e"}]
    assert parsed["Item"] == [{"T": "1"}, {"T": "2"}]
    with pytest.raises(ValueError):
        build_xml({"bad name": "x"})
    with pytest.raises(TypeError):
        build_xml({"Flag": True})


def test_text_reply_shape() -> None:
    reply = text_reply("oUser", "gh_1", "hi", 1700000000)
    assert reply == (
        "<xml><ToUserName><![CDATA[oUser]]></ToUserName><FromUserName><![CDATA[gh_1]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[hi]]></Content></xml>"
    )
    # Control characters cannot travel in XML: they are dropped, not fatal.
    assert parse_xml(text_reply("o", "g", "a\x01b", 1).encode())["Content"] == "ab"
