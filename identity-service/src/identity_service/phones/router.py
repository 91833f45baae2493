"""Phone binding for the member, and encryptedData decryption for other services."""

from typing import Any

from fastapi import APIRouter

from identity_service.deps import ContextDep, require_internal
from identity_service.errors import RecordedFailure
from identity_service.phones import service
from identity_service.phones.schemas import EncryptedDataDecrypt, PhoneBind, PhoneRead
from identity_service.sessions.service import ensure_active
from shared.auth import CurrentMember
from shared.fields import MemberNoPath
from shared.routing import SessionDep

mp_router = APIRouter(prefix="/mp/v1/me", tags=["mini-program"], dependencies=[require_internal])
internal_router = APIRouter(prefix="/internal/members", tags=["internal"], dependencies=[require_internal])


@mp_router.post("/phone")
async def bind_phone(
    body: PhoneBind, member: CurrentMember, session: SessionDep, ctx: ContextDep
) -> PhoneRead:
    """Bind the member's phone from a ``getphonenumber`` code or legacy encryptedData."""
    await ensure_active(session, member)
    try:
        if body.code is not None:
            return await service.bind_with_code(session, ctx=ctx, member_no=member.member_no, code=body.code)
        assert body.encrypted_data is not None and body.iv is not None
        return await service.bind_with_encrypted_data(
            session,
            ctx=ctx,
            member_no=member.member_no,
            encrypted_data=body.encrypted_data,
            iv=body.iv,
            session_id=member.session_id,
        )
    except RecordedFailure as failure:
        # Keep the merge candidate for staff although the member gets a 409.
        await session.commit()
        raise failure.problem from None


@internal_router.post("/{member_no}/decrypt")
async def decrypt(
    member_no: MemberNoPath, body: EncryptedDataDecrypt, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    """Decrypt mini-program encryptedData with the member's latest session_key (watermark checked)."""
    return await service.decrypt_for_member(
        session, ctx=ctx, member_no=member_no, encrypted_data=body.encrypted_data, iv=body.iv
    )
