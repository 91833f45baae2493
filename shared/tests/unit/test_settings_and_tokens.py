"""Settings fail fast; tokens are bound to their kind and audience and survive key rotation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.auth import MemberPrincipal, StaffPrincipal, TokenCodec
from shared.errors import Unauthorized
from shared.settings import DEV_SECRET_KEY, QunyunSettings, ServiceSettings, to_async_url, with_database

STRONG = "s" * 40


def test_production_refuses_development_secrets():
    with pytest.raises(ValidationError, match="QUNYUN_SECRET_KEY"):
        QunyunSettings(environment="production", secret_key=DEV_SECRET_KEY)
    with pytest.raises(ValidationError, match="at least 32"):
        QunyunSettings(environment="production", secret_key="short-but-not-placeholder")
    with pytest.raises(ValidationError, match="QUNYUN_MP_SECRET"):
        QunyunSettings(environment="production", secret_key=STRONG)
    assert QunyunSettings(environment="development").secret_key.get_secret_value() == DEV_SECRET_KEY


def test_secrets_never_show_in_repr():
    settings = QunyunSettings(secret_key=STRONG, mp_secret="mp-very-secret")
    assert STRONG not in repr(settings) and "mp-very-secret" not in repr(settings)


def test_each_service_uses_its_own_database(monkeypatch):
    monkeypatch.delenv("IDENTITY_DATABASE_URL", raising=False)
    settings = ServiceSettings(service_name="identity", database_url="postgresql://u@/postgres?host=/s&port=5")
    assert settings.own_database_url() == "postgresql+asyncpg://u@/qunyun_identity?host=/s&port=5"
    monkeypatch.setenv("IDENTITY_DATABASE_URL", "postgresql://u@db:5432/idb")
    assert settings.own_database_url() == "postgresql+asyncpg://u@db:5432/idb"
    assert with_database("postgresql://a@h/x", "y") == "postgresql://a@h/y"
    with pytest.raises(ValueError, match="postgresql"):
        to_async_url("mysql://x")


def test_token_kinds_cannot_stand_in_for_each_other():
    codec = TokenCodec(QunyunSettings(secret_key=STRONG))
    member = codec.issue_member(10001, session_id="s1")
    staff = codec.issue_staff(StaffPrincipal(7, "ops", frozenset({"operator"})))
    assert codec.verify_member(member) == MemberPrincipal(10001, "s1")
    assert codec.verify_staff(staff).roles == frozenset({"operator"})
    with pytest.raises(Unauthorized):
        codec.verify_staff(member)
    with pytest.raises(Unauthorized):
        codec.verify_member(staff)
    internal = codec.issue_internal(caller="gateway", audience="identity", member=MemberPrincipal(10001))
    assert codec.verify_internal(internal, audience="identity").member == MemberPrincipal(10001)
    with pytest.raises(Unauthorized):
        codec.verify_internal(internal, audience="campaign")
    with pytest.raises(Unauthorized):
        codec.verify_internal(member, audience="identity")


def test_rotation_accepts_previous_key_and_issues_with_current():
    old = TokenCodec(QunyunSettings(secret_key="o" * 40))
    token = old.issue_member(10002, session_id="s")
    rotated = TokenCodec(QunyunSettings(secret_key=STRONG, secret_key_previous="o" * 40))
    assert rotated.verify_member(token).member_no == 10002
    fresh = rotated.issue_member(10002, session_id="s")
    assert TokenCodec(QunyunSettings(secret_key=STRONG)).verify_member(fresh).member_no == 10002
    with pytest.raises(Unauthorized):
        TokenCodec(QunyunSettings(secret_key=STRONG)).verify_member(token)  # previous key dropped


def test_internal_tokens_are_reused_while_fresh_and_remembered_claims_still_expire(monkeypatch):
    import shared.auth as auth

    clock = [auth.time.time()]
    monkeypatch.setattr(auth.time, "time", lambda: clock[0])
    codec = TokenCodec(QunyunSettings(secret_key=STRONG))
    first = codec.issue_internal(caller="gateway", audience="identity", member=MemberPrincipal(10001, "s1"))
    assert codec.issue_internal(caller="gateway", audience="identity", member=MemberPrincipal(10001, "s1")) == first
    assert codec.issue_internal(caller="gateway", audience="identity", member=MemberPrincipal(10002, "s2")) != first
    assert codec.issue_internal(caller="gateway", audience="campaign", member=MemberPrincipal(10001, "s1")) != first
    staff = StaffPrincipal(7, "ops", frozenset({"operator"}))
    promoted = StaffPrincipal(7, "ops", frozenset({"admin"}))
    as_operator = codec.issue_internal(caller="gateway", audience="identity", staff=staff)
    as_admin = codec.issue_internal(caller="gateway", audience="identity", staff=promoted)
    assert codec.verify_internal(as_admin, audience="identity").staff == promoted
    assert codec.verify_internal(as_operator, audience="identity").staff == staff

    assert codec.verify_internal(first, audience="identity").member == MemberPrincipal(10001, "s1")
    clock[0] += auth.INTERNAL_TTL / 2 + 1  # past half its life: a new one is issued
    assert codec.issue_internal(caller="gateway", audience="identity", member=MemberPrincipal(10001, "s1")) != first
    assert codec.verify_internal(first, audience="identity").member == MemberPrincipal(10001, "s1")
    clock[0] += auth.INTERNAL_TTL  # the remembered claims of ``first`` do not outlive it
    with pytest.raises(Unauthorized) as caught:
        codec.verify_internal(first, audience="identity")
    assert caught.value.slug == "token-expired"


def test_expired_token_has_its_own_problem_type():
    codec = TokenCodec(QunyunSettings(secret_key=STRONG))
    with pytest.raises(Unauthorized) as caught:
        codec.verify_member(codec.issue_member(1, session_id="s", ttl=-30))
    assert caught.value.slug == "token-expired"


def test_outbox_row_is_a_valid_envelope():
    from datetime import UTC, datetime

    from shared.contracts.identity import MemberFollowed
    from shared.events.envelope import Envelope
    from shared.events.outbox import outbox_row

    data = MemberFollowed(member_no=10001, appid="wx", openid="o", scene="s", followed_at=datetime.now(UTC))
    row = outbox_row(data, source="identity", member_no=10001)
    envelope = Envelope.model_validate(row["envelope"])
    assert envelope.id == row["event_id"] and envelope.type == "identity.member.followed"
    assert row["topic"] == "identity.events" and row["key"] == "10001"
    assert MemberFollowed.model_validate(envelope.data) == data
