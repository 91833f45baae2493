"""Use cases of channels: creating one with its codes, renewing temporary QR codes, touches, attribution."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from urllib.parse import quote

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.channels import repository
from campaign_service.channels.codes import SHOW_QRCODE_URL, ChannelCodes
from campaign_service.channels.models import Channel
from campaign_service.channels.schemas import ChannelCreate, ChannelRead
from shared.contracts.campaign import ChannelTouched
from shared.errors import Conflict, UpstreamError
from shared.events.outbox import emit

log = structlog.get_logger("campaign.channels")

QR_SCENE_PREFIX = "qrscene_"
DEFAULT_TEMPORARY_SECONDS = 2_592_000  # 30 days, WeChat's maximum for a temporary code
# A temporary code is renewed (same scene, new ticket, another 30 days) this long before it expires.
RENEW_BEFORE = timedelta(days=3)


def new_code() -> str:
    """A generated channel code: short, URL-safe, valid as both kinds of scene."""
    return "ch" + secrets.token_hex(5)


def scene_of(raw: str | None) -> str | None:
    """A scene without WeChat's ``qrscene_`` prefix (a subscribe's EventKey has it, a SCAN's not)."""
    if not raw:
        return None
    return raw.removeprefix(QR_SCENE_PREFIX) or None


def read_of(channel: Channel, now: datetime | None = None) -> ChannelRead:
    """The API view of a channel (``now`` tells whether a temporary code has expired)."""
    read = ChannelRead.model_validate(channel)
    if channel.qr_ticket:
        read.qr_image_url = SHOW_QRCODE_URL + quote(channel.qr_ticket, safe="")
    read.qr_expired = bool(now is not None and channel.qr_expires_at is not None and channel.qr_expires_at <= now)
    return read


async def renew_expiring_codes(
    session: AsyncSession, codes: ChannelCodes, now: datetime, *, limit: int = 20
) -> int:
    """Renew the temporary QR codes that expire within :data:`RENEW_BEFORE`; returns how many were renewed.

    WeChat cannot extend a ticket: the channel gets a new temporary code for the
    same scene (so scans still attribute to it) valid another 30 days, and its
    ticket, URL and image change. A code whose renewal fails is retried on the
    next pass and, once past its expiry, shows as expired.
    """
    renewed = 0
    for channel in await repository.temporary_due(session, now + RENEW_BEFORE, limit):
        try:
            qr = await codes.scene_qr(channel.code, expire_seconds=DEFAULT_TEMPORARY_SECONDS, now=now)
        except UpstreamError as exc:
            log.warning(
                "channel_qr_renewal_failed",
                channel_id=channel.id,
                expires_at=channel.qr_expires_at.isoformat() if channel.qr_expires_at else None,
                error=exc.detail,
            )
            continue
        log.info(
            "channel_qr_renewed",
            channel_id=channel.id,
            expires_at=qr.expires_at.isoformat() if qr.expires_at else None,
        )
        channel.qr_ticket, channel.qr_url, channel.qr_expires_at = qr.ticket, qr.url, qr.expires_at
        renewed += 1
    await session.flush()
    return renewed


async def create_channel(
    session: AsyncSession,
    body: ChannelCreate,
    *,
    codes: ChannelCodes,
    staff_id: int | None,
    now: datetime,
) -> Channel:
    """Create a channel and its two codes (WeChat first, so a failure leaves nothing behind)."""
    code = body.code or new_code()
    if await repository.code_taken(session, code):
        raise Conflict("渠道编码已被使用。", slug="channel-code-taken", title="Channel code taken")
    expire = None
    if body.qr_kind == "temporary":
        expire = body.expire_seconds or DEFAULT_TEMPORARY_SECONDS
    qr = await codes.scene_qr(code, expire_seconds=expire, now=now)
    png = await codes.wxacode(code, page=body.mp_page)
    channel = Channel(
        code=code,
        name=body.name,
        qr_kind=body.qr_kind,
        qr_ticket=qr.ticket,
        qr_url=qr.url,
        qr_expires_at=qr.expires_at,
        mp_page=body.mp_page,
        wxacode_png=png,
        created_by_staff_id=staff_id,
        created_at=now,
    )
    session.add(channel)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same code created twice at once
        raise Conflict("渠道编码已被使用。", slug="channel-code-taken", title="Channel code taken") from exc
    return channel


async def touch(
    session: AsyncSession,
    *,
    scene: str | None,
    member_no: int,
    source: str,
    at: datetime,
) -> tuple[Channel | None, bool]:
    """A member came through ``scene``: record their first touch if this is it, and say so.

    Returns the channel (None for a scene that is no channel of ours) and whether
    it became the member's first touch.
    """
    code = scene_of(scene)
    channel = await repository.by_code(session, code) if code else None
    if channel is None or code is None:
        return None, False
    first = await repository.claim_first_touch(
        session, member_no=member_no, channel_id=channel.id, scene=code, source=source, at=at
    )
    await emit(
        session,
        ChannelTouched(member_no=member_no, channel_id=channel.id, scene=code, first_touch=first),
        member_no=member_no,
        occurred_at=at,
    )
    return channel, first


async def record_push(
    session: AsyncSession, *, kind: str, scene: str | None, openid: str, at: datetime
) -> None:
    """Count a follow or scan of a channel's QR code (the member is resolved by identity later)."""
    code = scene_of(scene)
    channel = await repository.by_code(session, code) if code else None
    if channel is not None:
        await repository.add_touch(session, channel_id=channel.id, kind=kind, openid=openid, at=at)


async def attribute_registration(
    session: AsyncSession, *, member_no: int, scene: str | None, at: datetime
) -> int | None:
    """The channel a registration came through: its launch scene, else the member's first touch."""
    channel, _ = await touch(session, scene=scene, member_no=member_no, source="mp", at=at)
    if channel is not None:
        await repository.add_touch(session, channel_id=channel.id, kind="launch", member_no=member_no, at=at)
        return channel.id
    first = await repository.first_touch(session, member_no)
    return first.channel_id if first else None
