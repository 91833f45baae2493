"""The HS256 code path of TokenCodec agrees with PyJWT: same tokens, same refusals."""

from __future__ import annotations

import time

import jwt
import pytest

from shared.auth import ISSUER, MemberPrincipal, TokenCodec
from shared.errors import Unauthorized
from shared.settings import QunyunSettings

STRONG = "h" * 40


def _codec() -> TokenCodec:
    return TokenCodec(QunyunSettings(secret_key=STRONG))


def _key(codec: TokenCodec, kind: str) -> bytes:
    return codec._keys[kind][0]


def _claims(kind: str, **extra) -> dict:
    now = time.time()
    return {"iss": ISSUER, "typ": kind, "iat": round(now, 3), "exp": int(now) + 60, **extra}


def test_issued_tokens_are_plain_hs256_jwts():
    codec = _codec()
    token = codec.issue_member(10001, session_id="s1")
    # Decoded at once, without leeway: the iat of a token this fresh must not lie ahead (it was rounded up once).
    claims = jwt.decode(token, _key(codec, "member"), algorithms=["HS256"], issuer=ISSUER)
    assert claims["sub"] == "10001" and claims["sid"] == "s1" and claims["typ"] == "member"
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    internal = codec.issue_internal(caller="gateway", audience="campaign", member=MemberPrincipal(7, "s"))
    assert jwt.decode(internal, _key(codec, "internal"), algorithms=["HS256"], audience="campaign")["member_no"] == 7


def test_an_issued_token_never_claims_to_be_issued_later_than_now():
    codec = _codec()
    for n in range(2000):
        token = codec.issue_member(10001 + n, session_id="s")
        assert jwt.decode(token, options={"verify_signature": False})["iat"] <= time.time()


def test_tokens_signed_by_pyjwt_are_accepted():
    codec = _codec()
    token = jwt.encode(_claims("member", sub="42"), _key(codec, "member"), algorithm="HS256")
    assert codec.verify_member(token).member_no == 42
    internal = jwt.encode(_claims("internal", sub="gateway", aud=["x", "campaign"], member_no=9),
                          _key(codec, "internal"), algorithm="HS256")
    assert codec.verify_internal(internal, audience="campaign").member.member_no == 9


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "someone-else"},
        {"iss": None},
        {"iat": time.time() + 3600},
        {"iat": "soon"},
        {"nbf": time.time() + 3600},
        {"sub": 42},
        {"jti": 1},
        {"typ": "staff"},
        {"exp": None},
    ],
)
def test_claims_pyjwt_refuses_are_refused(claims):
    codec = _codec()
    payload = {**_claims("member", sub="1"), **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    token = jwt.encode(payload, _key(codec, "member"), algorithm="HS256")
    with pytest.raises(Unauthorized) as caught:
        codec.verify_member(token)
    assert caught.value.slug == "token-invalid"


@pytest.mark.parametrize("aud", [None, "identity", ["identity"], [], [1, "campaign"], {"campaign": 1}])
def test_an_internal_token_for_another_audience_is_refused(aud):
    codec = _codec()
    claims = _claims("internal", sub="gateway")
    if aud is not None:
        claims["aud"] = aud
    token = jwt.encode(claims, _key(codec, "internal"), algorithm="HS256")
    with pytest.raises(Unauthorized):
        codec.verify_internal(token, audience="campaign")


def test_tampered_or_malformed_tokens_are_refused():
    codec = _codec()
    token = codec.issue_member(10001, session_id="s")
    header, payload, signature = token.split(".")
    other = _codec().issue_member(10002, session_id="s").split(".")[1]
    forged_key = jwt.encode(_claims("member", sub="1"), b"k" * 32, algorithm="HS256")
    for bad in (
        f"{header}.{other}.{signature}",  # another payload under this signature
        f"{header}.{payload}.{signature[:-2]}",
        f"{header}.{payload}",
        f"{header}.{payload}.",
        f"{header}.{payload}.{signature}.x",
        f"{header}.{payload}.{signature}é",
        f"{header}.é{payload}.{signature}",
        f"{header}..{signature}",
        forged_key,
        codec.issue_internal(caller="g", audience="member"),  # another kind's key
    ):
        with pytest.raises(Unauthorized) as caught:
            codec.verify_member(bad)
        assert caught.value.slug == "token-invalid", bad


def test_a_signed_payload_that_is_not_an_object_is_refused():
    codec = _codec()
    import base64
    import hashlib
    import hmac

    header = codec.issue_member(1, session_id="s").split(".")[0]
    for body in (b"[1,2]", b"not json", b'"text"'):
        payload = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
        signing_input = f"{header}.{payload}".encode()
        signature = base64.urlsafe_b64encode(
            hmac.new(_key(codec, "member"), signing_input, hashlib.sha256).digest()
        ).rstrip(b"=").decode()
        with pytest.raises(Unauthorized):
            codec.verify_member(f"{header}.{payload}.{signature}")


def test_previous_secret_still_verifies_on_the_hs256_path():
    old = TokenCodec(QunyunSettings(secret_key="o" * 40))
    rotated = TokenCodec(QunyunSettings(secret_key=STRONG, secret_key_previous="o" * 40))
    assert rotated.verify_member(old.issue_member(5, session_id="s")).member_no == 5


def test_our_tokens_do_not_go_through_pyjwt(monkeypatch):
    codec = _codec()
    token = codec.issue_member(3, session_id="s")

    def refuse(*args, **kwargs):
        raise AssertionError("PyJWT was called")

    monkeypatch.setattr(jwt, "decode", refuse)
    monkeypatch.setattr(jwt, "encode", refuse)
    assert codec.verify_member(token).member_no == 3
    assert codec.verify_member(codec.issue_member(4, session_id="s")).member_no == 4
