"""The ledger's atomic statements: each reserve is one conditional UPDATE, exact under concurrency.

PostgreSQL re-checks an UPDATE's WHERE clause on the row version it locked,
so two concurrent reserves of the last credit cannot both succeed: one finds
``credits > 0`` false after the other committed and reserves nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# (sends allowed or None for unlimited, duration) per app and interaction (docs/wechat.md).
HOUR = timedelta(hours=1)
WINDOW_RULES: dict[str, dict[str, tuple[int | None, timedelta]]] = {
    "oa": {
        "message": (5, 48 * HOUR),  # a user message
        "event": (3, timedelta(minutes=1)),  # a menu click, a follow, a QR scan
        "payment": (None, 48 * HOUR),  # older rule (unconfirmed which applies): 20 per 48 h
    },
    "mp": {
        "message": (5, 48 * HOUR),
        "session": (2, timedelta(minutes=1)),
    },
}


async def add_credit(session: AsyncSession, *, openid: str, template_id: str, long_term: bool) -> None:
    """One accept: one more send of the template (long-term subscriptions are unlimited)."""
    await session.execute(
        text(
            """INSERT INTO subscribe_credits (openid, template_id, credits, long_term, accepted_total, last_decision)
               VALUES (:openid, :template_id, 1, :long_term, 1, 'accept')
               ON CONFLICT (openid, template_id) DO UPDATE SET
                 credits = subscribe_credits.credits + 1, long_term = subscribe_credits.long_term OR :long_term,
                 accepted_total = subscribe_credits.accepted_total + 1, last_decision = 'accept',
                 zeroed_reason = NULL, updated_at = now()"""
        ),
        {"openid": openid, "template_id": template_id, "long_term": long_term},
    )


async def zero_credits(session: AsyncSession, *, openid: str, template_id: str, reason: str, decision: str | None
                       ) -> None:
    """No sends left of the template (a 43101, or the user turned it off in settings)."""
    await session.execute(
        text(
            """INSERT INTO subscribe_credits (openid, template_id, credits, last_decision, zeroed_reason)
               VALUES (:openid, :template_id, 0, :decision, :reason)
               ON CONFLICT (openid, template_id) DO UPDATE SET credits = 0, long_term = false,
                 last_decision = COALESCE(:decision, subscribe_credits.last_decision),
                 zeroed_reason = :reason, updated_at = now()"""
        ),
        {"openid": openid, "template_id": template_id, "reason": reason, "decision": decision},
    )


async def note_rejection(session: AsyncSession, *, openid: str, template_id: str) -> None:
    """A reject in a popup: recorded; accepted credits already held stay (WeChat keeps them)."""
    await session.execute(
        text(
            """INSERT INTO subscribe_credits (openid, template_id, credits, last_decision)
               VALUES (:openid, :template_id, 0, 'reject')
               ON CONFLICT (openid, template_id) DO UPDATE SET last_decision = 'reject', updated_at = now()"""
        ),
        {"openid": openid, "template_id": template_id},
    )


async def reserve_credit(session: AsyncSession, *, openid: str, template_id: str) -> bool:
    """Take one credit if there is one (a long-term subscription is never used up)."""
    row = await session.execute(
        text(
            """UPDATE subscribe_credits SET credits = credits - CASE WHEN long_term THEN 0 ELSE 1 END,
                 updated_at = now()
               WHERE openid = :openid AND template_id = :template_id AND (long_term OR credits > 0)
               RETURNING long_term"""
        ),
        {"openid": openid, "template_id": template_id},
    )
    return row.first() is not None


async def release_credit(session: AsyncSession, *, openid: str, template_id: str) -> None:
    """Give back a reserved credit (the send failed without reaching the user)."""
    await session.execute(
        text(
            """UPDATE subscribe_credits SET credits = credits + 1, updated_at = now()
               WHERE openid = :openid AND template_id = :template_id AND NOT long_term"""
        ),
        {"openid": openid, "template_id": template_id},
    )


async def open_window(session: AsyncSession, *, openid: str, app: str, interaction: str, at: datetime) -> None:
    """An interaction opens (or renews) its window; an older push never replaces a newer window."""
    rule = WINDOW_RULES.get(app, {}).get(interaction)
    if rule is None:
        return
    limit, duration = rule
    await session.execute(
        text(
            """INSERT INTO cs_windows (openid, app, interaction, opened_at, expires_at, lim, used)
               VALUES (:openid, :app, :interaction, :at, :expires, :lim, 0)
               ON CONFLICT (openid, app, interaction) DO UPDATE SET opened_at = :at, expires_at = :expires,
                 lim = :lim, used = 0
               WHERE cs_windows.opened_at < :at"""
        ),
        {"openid": openid, "app": app, "interaction": interaction, "at": at, "expires": at + duration,
         "lim": limit},
    )


async def close_windows(session: AsyncSession, *, openid: str, app: str, now: datetime) -> None:
    """Every window of the openid ends now (unfollow, or WeChat answered 45015)."""
    await session.execute(
        text("UPDATE cs_windows SET expires_at = LEAST(expires_at, :now) WHERE openid = :openid AND app = :app"),
        {"openid": openid, "app": app, "now": now},
    )


async def exhaust_windows(session: AsyncSession, *, openid: str, app: str) -> None:
    """WeChat answered 45047: the counted windows are used up."""
    await session.execute(
        text("UPDATE cs_windows SET used = lim WHERE openid = :openid AND app = :app AND lim IS NOT NULL"),
        {"openid": openid, "app": app},
    )


async def consume_window(session: AsyncSession, *, openid: str, app: str, now: datetime) -> str | None:
    """Use one send of an open window (unlimited ones first, then the one closing first); its interaction."""
    candidates = await session.execute(
        text(
            """SELECT interaction FROM cs_windows WHERE openid = :openid AND app = :app AND expires_at > :now
               AND (lim IS NULL OR used < lim) ORDER BY (lim IS NOT NULL), expires_at"""
        ),
        {"openid": openid, "app": app, "now": now},
    )
    for (interaction,) in candidates.all():
        taken = await session.execute(
            text(
                """UPDATE cs_windows SET used = used + 1
                   WHERE openid = :openid AND app = :app AND interaction = :interaction AND expires_at > :now
                   AND (lim IS NULL OR used < lim) RETURNING interaction"""
            ),
            {"openid": openid, "app": app, "interaction": interaction, "now": now},
        )
        if taken.first() is not None:
            return str(interaction)
    return None


async def release_window(session: AsyncSession, *, openid: str, app: str, interaction: str) -> None:
    """Give back a send of a window (the send failed without reaching the user)."""
    await session.execute(
        text(
            """UPDATE cs_windows SET used = GREATEST(used - 1, 0)
               WHERE openid = :openid AND app = :app AND interaction = :interaction"""
        ),
        {"openid": openid, "app": app, "interaction": interaction},
    )


async def reserve_cap(session: AsyncSession, *, member_no: int, day: date, cap: int) -> bool:
    """Count one marketing send of the member's day if the cap allows it."""
    if cap <= 0:
        return False
    row = await session.execute(
        text(
            """INSERT INTO daily_caps (member_no, local_date, used) VALUES (:member_no, :day, 1)
               ON CONFLICT (member_no, local_date) DO UPDATE SET used = daily_caps.used + 1
               WHERE daily_caps.used < :cap RETURNING used"""
        ),
        {"member_no": member_no, "day": day, "cap": cap},
    )
    return row.first() is not None


async def release_cap(session: AsyncSession, *, member_no: int, day: date) -> None:
    """Un-count a marketing send that did not go out."""
    await session.execute(
        text(
            """UPDATE daily_caps SET used = GREATEST(used - 1, 0)
               WHERE member_no = :member_no AND local_date = :day"""
        ),
        {"member_no": member_no, "day": day},
    )
