"""``GET /admin/v1/members/{member_no}/reach``: the ledger as it stands for one member."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from messaging_service.audience import repository as audience
from messaging_service.deps import ClockDep, RuntimeDep, settings_of
from messaging_service.ledger.schemas import CapRead, CreditRead, ReachRead, WindowRead
from messaging_service.messages import repository as messages
from messaging_service.messages.policy import local_date, quiet_until
from messaging_service.messages.schemas import MessageRead
from shared.auth import require_roles
from shared.fields import MemberNoPath
from shared.routing import SessionDep

admin_router = APIRouter(prefix="/admin/v1/members", tags=["reach"])
READ = require_roles("admin", "operator", "sales", "viewer")


@admin_router.get("/{member_no}/reach", dependencies=[READ])
async def member_reach(member_no: MemberNoPath, session: SessionDep, runtime: RuntimeDep, clock: ClockDep
                       ) -> ReachRead:
    """Credits per template, window state and remaining sends, follow, today's cap, last sends."""
    s = settings_of(runtime)
    now = clock.now()
    who = await audience.reachable(session, member_no)
    credits: list[CreditRead] = []
    if who.mp_openid:
        rows = await session.execute(
            text(
                """SELECT c.template_id, t.title, c.credits, c.long_term, c.accepted_total, c.last_decision,
                          c.zeroed_reason
                   FROM subscribe_credits c LEFT JOIN templates t ON t.app = 'mp' AND t.template_id = c.template_id
                   WHERE c.openid = :openid ORDER BY c.template_id"""
            ),
            {"openid": who.mp_openid},
        )
        credits = [CreditRead(**r._mapping) for r in rows]
    windows: list[WindowRead] = []
    remaining: int | None = 0
    if who.oa_openid:
        rows = await session.execute(
            text("""SELECT interaction, opened_at, expires_at, lim, used FROM cs_windows
                    WHERE openid = :openid AND app = 'oa' ORDER BY expires_at DESC"""),
            {"openid": who.oa_openid},
        )
        for interaction, opened_at, expires_at, lim, used in rows:
            is_open = expires_at > now and who.following
            left = None if lim is None else max(lim - used, 0)
            windows.append(WindowRead(interaction=interaction, opened_at=opened_at, expires_at=expires_at,
                                      open=is_open, limit=lim, used=used, remaining=left if is_open else 0))
        usable = [w for w in windows if w.open]
        unlimited = any(w.remaining is None for w in usable)
        remaining = None if unlimited else sum(w.remaining or 0 for w in usable)
    day = local_date(now, s.timezone)
    used = await session.scalar(
        text("SELECT used FROM daily_caps WHERE member_no = :m AND local_date = :d"), {"m": member_no, "d": day}
    )
    recent = await messages.recent_for(session, member_no)
    return ReachRead(
        member_no=member_no, mp_openid=who.mp_openid, oa_openid=who.oa_openid, following=who.following,
        blocked=who.blocked, credits=credits, windows=windows, custom_sends_remaining=remaining,
        cap=CapRead(local_date=day, used=int(used or 0), limit=s.daily_marketing_cap),
        quiet_hours_now=quiet_until(now, zone=s.timezone, start=s.quiet_start, end=s.quiet_end) is not None,
        last_sends=[MessageRead.model_validate(m) for m in recent],
    )
