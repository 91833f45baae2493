"""Phone binding (button code or legacy encryptedData) and decryption for other services.

A phone is stored encrypted and found by a keyed hash. It belongs to one
member: binding a phone another member holds records a merge candidate for
staff and is refused, never a silent takeover.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service import locks
from identity_service.deps import IdentityContext
from identity_service.errors import RecordedFailure
from identity_service.members.models import Member
from identity_service.members.service import active_member
from identity_service.phones import repository
from identity_service.phones.errors import (
    decrypt_failed,
    no_session,
    phone_bound_elsewhere,
    phone_data_invalid,
)
from identity_service.phones.schemas import PhoneRead
from identity_service.sessions import repository as sessions_repository
from identity_service.sessions.service import decrypt_session_key
from identity_service.wechat_calls import phone_code_problem
from shared.contracts.identity import PhoneBound
from shared.events.outbox import emit
from shared.sealing import Sealer
from shared.wechat.errors import WeChatCryptoError, WeChatError
from shared.wechat.miniprogram import PhoneInfo, decrypt_encrypted_data, phone_info_from

log = structlog.get_logger("identity.phones")

PHONE_CONTEXT = "phone"


def normalized(info: PhoneInfo) -> str:
    """The form that is hashed and encrypted: +<country code><national number>."""
    country = info.country_code.strip().lstrip("+") or "86"
    return f"+{country}{info.pure_phone_number.strip()}"


def mask(number: str) -> str:
    """138****5678: enough for a person to recognise their own number."""
    digits = number.strip()
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) >= 3:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * len(digits)


async def bind_with_code(
    session: AsyncSession, *, ctx: IdentityContext, member_no: int, code: str
) -> PhoneRead:
    """Bind the phone behind a ``getphonenumber`` code (wxa/business/getuserphonenumber)."""
    member = await active_member(session, member_no, lock=True)
    appid = ctx.apps.mp.appid
    try:
        answer = await ctx.access_tokens.call(appid, lambda token: ctx.api.get_phone_number(token, code))
    except WeChatError as exc:
        raise phone_code_problem(exc, retry_after=ctx.retry_after) from exc
    payload = answer.get("phone_info")
    if not isinstance(payload, dict):
        raise phone_data_invalid()
    watermark = payload.get("watermark")
    if isinstance(watermark, dict) and watermark.get("appid") not in (None, appid):
        raise phone_data_invalid()
    try:
        info = phone_info_from(payload)
    except WeChatCryptoError as exc:
        raise phone_data_invalid() from exc
    return await _bind(session, ctx=ctx, member=member, info=info, source="code")


async def bind_with_encrypted_data(
    session: AsyncSession,
    *,
    ctx: IdentityContext,
    member_no: int,
    encrypted_data: str,
    iv: str,
    session_id: str | None = None,
) -> PhoneRead:
    """Bind the phone in legacy encryptedData, opened with the member's stored session_key."""
    member = await active_member(session, member_no, lock=True)
    payload = await decrypt_for_member(
        session,
        ctx=ctx,
        member_no=member.member_no,
        encrypted_data=encrypted_data,
        iv=iv,
        session_id=session_id,
    )
    try:
        info = phone_info_from(payload)
    except WeChatCryptoError as exc:
        raise phone_data_invalid() from exc
    return await _bind(session, ctx=ctx, member=member, info=info, source="encrypted_data")


async def decrypt_for_member(
    session: AsyncSession,
    *,
    ctx: IdentityContext,
    member_no: int,
    encrypted_data: str,
    iv: str,
    session_id: str | None = None,
) -> dict[str, Any]:
    """Open encryptedData with the member's latest session_key (then the caller's own session's).

    The watermark appid must be the mini-program's. A stale key is the usual
    reason for failure, hence the second candidate.
    """
    member = await active_member(session, member_no)
    appid = ctx.apps.mp.appid
    candidates = []
    latest = await sessions_repository.latest_for(session, member_no=member.member_no, appid=appid)
    if latest is not None:
        candidates.append(latest)
    if session_id:
        try:
            own = await sessions_repository.get(session, UUID(session_id))
        except ValueError:
            own = None
        if own is not None and own.member_no == member.member_no and all(c.id != own.id for c in candidates):
            candidates.append(own)
    if not candidates:
        raise no_session()
    for mp_session in candidates:
        try:
            return decrypt_encrypted_data(decrypt_session_key(ctx, mp_session), encrypted_data, iv, appid)
        except WeChatCryptoError as exc:
            log.info(
                "decrypt_failed", member_no=member.member_no, session_id=str(mp_session.id), reason=str(exc)
            )
    raise decrypt_failed()


async def current_phone(session: AsyncSession, *, member_no: int) -> PhoneRead:
    """The member's current phone, masked."""
    phones = await repository.phones_of(session, member_no)
    if not phones:
        return PhoneRead(bound=False)
    return PhoneRead(bound=True, masked=phones[0].masked, country_code=phones[0].country_code)


def reveal(ctx: IdentityContext, phone_enc: bytes) -> str:
    """The full phone number (for staff roles allowed to see it)."""
    return ctx.cipher.decrypt(phone_enc, context=PHONE_CONTEXT)


async def _bind(
    session: AsyncSession, *, ctx: IdentityContext, member: Member, info: PhoneInfo, source: str
) -> PhoneRead:
    number = normalized(info)
    hashes = ctx.cipher.lookup_hashes(number, context=PHONE_CONTEXT)
    masked = mask(info.pure_phone_number)
    country = info.country_code.strip().lstrip("+") or "86"
    # Two members binding one phone at once: the second sees the first's row.
    await locks.lock(session, ("phone", hashes[0].hex()))
    existing = await repository.by_hashes(session, hashes)
    if existing is not None and existing.member_no != member.member_no:
        owner = await active_member(session, existing.member_no)
        if owner.member_no != member.member_no:
            await repository.add_conflict(
                session,
                phone_hash=existing.phone_hash,
                masked=masked,
                member_no=member.member_no,
                owner_member_no=owner.member_no,
            )
            log.warning("phone_bound_elsewhere", member_no=member.member_no, owner_member_no=owner.member_no)
            raise RecordedFailure(phone_bound_elsewhere())
    if existing is None:
        await repository.bind(
            session,
            member_no=member.member_no,
            phone_hash=hashes[0],
            phone_enc=ctx.cipher.encrypt(number, context=PHONE_CONTEXT),
            country_code=country,
            masked=masked,
            source=source,
        )
        await emit(
            session,
            PhoneBound(member_no=member.member_no, phone_masked=masked, country_code=country,
                       # The full number travels only sealed (tagging's export shows it to allowed roles).
                       phone_sealed=Sealer(ctx.settings.verification_keys()).seal(number, context="phone")),
            member_no=member.member_no,
        )
    return PhoneRead(bound=True, masked=masked, country_code=country)
