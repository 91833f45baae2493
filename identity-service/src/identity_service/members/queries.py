"""Read models of members: the member's own view, other services' view, staff's view and search."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.deps import IdentityContext
from identity_service.followers import repository as followers_repository
from identity_service.members import repository
from identity_service.members.models import Member, MemberOpenid
from identity_service.members.schemas import (
    FollowRead,
    MemberAppRead,
    MemberDetail,
    MemberRead,
    MemberSummary,
    MeRead,
    MergeCandidateRead,
    MergeRead,
    OpenidRead,
    StaffPhoneRead,
)
from identity_service.members.service import display_no
from identity_service.phones import repository as phones_repository
from identity_service.phones.models import PhoneConflict
from identity_service.phones.schemas import PhoneRead
from identity_service.phones.service import PHONE_CONTEXT, reveal
from shared.auth import StaffPrincipal

DIGITS = re.compile(r"^\d+$")
MAX_SEARCH_MATCHES = 1000


def _openid_read(row: MemberOpenid) -> OpenidRead:
    return OpenidRead(app=row.app, appid=row.appid, openid=row.openid, linked_at=row.created_at)


def candidate_read(row: PhoneConflict) -> MergeCandidateRead:
    """The API shape of a merge candidate."""
    return MergeCandidateRead(
        id=row.id,
        member_no=row.member_no,
        owner_member_no=row.owner_member_no,
        phone_masked=row.masked,
        status=row.status,
        created_at=row.created_at,
    )


async def me(session: AsyncSession, member: Member) -> MeRead:
    """The member's own profile."""
    openids = await repository.openids_of(session, member.member_no)
    apps = sorted({(row.app, row.appid) for row in openids})
    phones = await phones_repository.phones_of(session, member.member_no)
    phone = (
        PhoneRead(bound=True, masked=phones[0].masked, country_code=phones[0].country_code)
        if phones
        else PhoneRead(bound=False)
    )
    follows = await followers_repository.following(session, [member.member_no])
    return MeRead(
        member_no=member.member_no,
        member_no_display=display_no(member.member_no),
        apps=[MemberAppRead(app=app, appid=appid) for app, appid in apps],
        phone=phone,
        follows_service_account=member.member_no in follows,
    )


async def member_read(session: AsyncSession, member: Member, *, requested: int) -> MemberRead:
    """A member as other services see it."""
    openids = await repository.openids_of(session, member.member_no)
    phones = await phones_repository.phones_of(session, member.member_no)
    follows = await followers_repository.following(session, [member.member_no])
    return MemberRead(
        member_no=member.member_no,
        member_no_display=display_no(member.member_no),
        requested_member_no=requested,
        merged=requested != member.member_no,
        unionid=member.unionid,
        openids=[_openid_read(row) for row in openids],
        phone_bound=bool(phones),
        follows_service_account=member.member_no in follows,
        created_at=member.created_at,
    )


def _phone_for(
    ctx: IdentityContext, staff: StaffPrincipal, masked: str, phone_enc: bytes
) -> tuple[str, bool]:
    if staff.has_any(*ctx.settings.staff_phone_roles):
        return reveal(ctx, phone_enc), False
    return masked, True


async def detail(
    session: AsyncSession, ctx: IdentityContext, member: Member, *, requested: int, staff: StaffPrincipal
) -> MemberDetail:
    """Everything about a member, for staff (phones in full only for allowed roles)."""
    openids = await repository.openids_of(session, member.member_no)
    follows = await followers_repository.of_member(session, member.member_no)
    phones = []
    for row in await phones_repository.phones_of(session, member.member_no):
        number, masked = _phone_for(ctx, staff, row.masked, row.phone_enc)
        phones.append(
            StaffPhoneRead(
                number=number,
                masked=masked,
                country_code=row.country_code,
                source=row.source,
                bound_at=row.bound_at,
            )
        )
    merges = await repository.merges_of(session, member.member_no)
    candidates = await phones_repository.conflicts_of(session, member.member_no)
    return MemberDetail(
        member_no=member.member_no,
        member_no_display=display_no(member.member_no),
        requested_member_no=requested,
        unionid=member.unionid,
        first_app=member.first_app,
        channel_scene=member.channel_scene,
        created_at=member.created_at,
        openids=[_openid_read(row) for row in openids],
        follows=[
            FollowRead(
                appid=f.appid,
                openid=f.openid,
                subscribed=f.subscribed,
                subscribed_at=f.subscribed_at,
                first_subscribed_at=f.first_subscribed_at,
                subscribe_scene=f.subscribe_scene,
                unsubscribed_at=f.unsubscribed_at,
                last_scan_scene=f.last_scan_scene,
                last_scanned_at=f.last_scanned_at,
            )
            for f in follows
        ],
        phones=phones,
        merges=[
            MergeRead(
                from_member_no=m.from_member_no,
                into_member_no=m.into_member_no,
                reason=m.reason,
                actor=m.actor,
                merged_at=m.merged_at,
                details=m.details,
            )
            for m in merges
        ],
        merge_candidates=[candidate_read(c) for c in candidates],
    )


async def summaries(
    session: AsyncSession, ctx: IdentityContext, members: list[Member], *, staff: StaffPrincipal
) -> list[MemberSummary]:
    """List rows for several members with a handful of queries."""
    nos = [m.member_no for m in members]
    openids = await repository.openids_of_many(session, nos)
    apps: dict[int, set[str]] = {}
    for row in openids:
        apps.setdefault(row.member_no, set()).add(row.app)
    phones = await phones_repository.current_of_many(session, nos)
    follows = await followers_repository.following(session, nos)
    result = []
    for m in members:
        phone = phones.get(m.member_no)
        result.append(
            MemberSummary(
                member_no=m.member_no,
                member_no_display=display_no(m.member_no),
                unionid=m.unionid,
                apps=sorted(apps.get(m.member_no, set())),
                phone=_phone_for(ctx, staff, phone.masked, phone.phone_enc)[0] if phone else None,
                follows_service_account=m.member_no in follows,
                created_at=m.created_at,
            )
        )
    return result


def normalized_phone_query(raw: str) -> str | None:
    """A searched phone in stored form (+86 assumed for 11-digit mainland numbers)."""
    value = re.sub(r"[\s-]", "", raw)
    if value.startswith("+") and DIGITS.match(value[1:]):
        return value
    if DIGITS.match(value):
        return f"+86{value}" if len(value) == 11 else None
    return None


async def matching_member_nos(
    session: AsyncSession, ctx: IdentityContext, *, phone: str | None, openid: str | None, q: str | None
) -> set[int] | None:
    """Members matching the key filters (None: no key filter given; AND across filters)."""
    sets: list[set[int]] = []
    if phone is not None:
        sets.append(await _by_phone(session, ctx, phone))
    if openid is not None:
        sets.append(await _by_openid(session, openid))
    if q is not None and q.strip():
        sets.append(await _by_free_text(session, ctx, q.strip()))
    if not sets:
        return None
    result = sets[0]
    for other in sets[1:]:
        result &= other
    return result


async def _by_phone(session: AsyncSession, ctx: IdentityContext, raw: str) -> set[int]:
    number = normalized_phone_query(raw)
    if number is None:
        return set()
    hashes = ctx.cipher.lookup_hashes(number, context=PHONE_CONTEXT)
    return set(await phones_repository.member_nos_with_hashes(session, hashes))


async def _by_openid(session: AsyncSession, openid: str) -> set[int]:
    return {row.member_no for row in await repository.openid_rows(session, openid=openid)}


async def _by_free_text(session: AsyncSession, ctx: IdentityContext, q: str) -> set[int]:
    """A member number (zero-padding allowed), a phone, an openid or a UnionID."""
    found: set[int] = set()
    if DIGITS.match(q) and len(q) <= 12:
        member = await repository.get(session, int(q))
        if member is not None:
            found.add(member.merged_into or member.member_no)
    if normalized_phone_query(q) is not None:
        found |= await _by_phone(session, ctx, q)
    found |= await _by_openid(session, q)
    by_unionid = await repository.by_unionid(session, q)
    if by_unionid is not None:
        found.add(by_unionid.member_no)
    return found
