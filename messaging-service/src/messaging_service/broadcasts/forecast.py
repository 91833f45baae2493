"""The reach forecast: which channel each member would get, from the ledger as it stands, sending nothing."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.audience import repository as audience
from messaging_service.catalog import PurposeSnapshot as Purpose
from messaging_service.config import MessagingSettings
from messaging_service.messages.policy import local_date, quiet_until


async def forecast_member(
    session: AsyncSession, purpose: Purpose, member_no: int, now: datetime, s: MessagingSettings
) -> tuple[str | None, str | None]:
    """``(channel, None)`` the member would be reached on, or ``(None, reason)``."""
    who = await audience.reachable(session, member_no)
    if purpose.message_class == "marketing":
        if who.blocked:
            return None, "blocked"
        if quiet_until(now, zone=s.timezone, start=s.quiet_start, end=s.quiet_end) is not None:
            return None, "quiet_hours_deferred"
        cap = purpose.daily_cap if purpose.daily_cap is not None else s.daily_marketing_cap
        used = await session.scalar(
            text("SELECT used FROM daily_caps WHERE member_no = :m AND local_date = :d"),
            {"m": member_no, "d": local_date(now, s.timezone)},
        )
        if int(used or 0) >= cap:
            return None, "frequency_capped"
    first: str | None = None
    for config in purpose.channels:
        channel = config["channel"]
        reason: str
        if channel == "subscribe":
            ok = who.mp_openid is not None and bool(await session.scalar(
                text("""SELECT 1 FROM subscribe_credits WHERE openid = :o AND template_id = :t
                        AND (long_term OR credits > 0)"""),
                {"o": who.mp_openid, "t": config.get("template_id")},
            ))
            reason = "no_credit"
        elif not (who.oa_openid and who.following):
            ok, reason = False, "not_following"
        elif channel == "template":
            ok, reason = True, ""
        else:
            ok = bool(await session.scalar(
                text("""SELECT 1 FROM cs_windows WHERE openid = :o AND app = 'oa' AND expires_at > :now
                        AND (lim IS NULL OR used < lim) LIMIT 1"""),
                {"o": who.oa_openid, "now": now},
            ))
            reason = "window_closed"
        if ok:
            return channel, None
        first = first or reason
    return None, first or "no_credit"


async def forecast(
    session: AsyncSession, purpose: Purpose, member_nos: list[int], now: datetime, s: MessagingSettings
) -> dict[str, Any]:
    """Counts per channel and per undeliverable reason."""
    channels: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for member_no in member_nos:
        channel, reason = await forecast_member(session, purpose, member_no, now, s)
        if channel:
            channels[channel] += 1
        else:
            reasons[reason or "no_credit"] += 1
    return {"total": len(member_nos), "by_channel": dict(channels), "undeliverable": dict(reasons)}
