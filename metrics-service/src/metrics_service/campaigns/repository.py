"""SQL of the campaign projections: periods, registrations, refunds, check-ins, channels, follows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# --- writes ----------------------------------------------------------------


async def period_announced(
    session: AsyncSession, *, period_id: int, series_id: int, number: int, fee_fen: int, at: datetime
) -> None:
    """A period opened (campaign.period.opened)."""
    await session.execute(
        text(
            """
            INSERT INTO period_facts (period_id, series_id, number, fee_fen, announced_at)
            VALUES (:p, :s, :n, :f, :at)
            ON CONFLICT (period_id) DO UPDATE SET series_id = excluded.series_id, number = excluded.number,
              fee_fen = excluded.fee_fen, announced_at = LEAST(period_facts.announced_at, excluded.announced_at)
            """
        ),
        {"p": period_id, "s": series_id, "n": number, "f": fee_fen, "at": at},
    )


async def period_closed(session: AsyncSession, *, period_id: int, series_id: int, at: datetime) -> None:
    """A period ended."""
    await session.execute(
        text(
            """
            INSERT INTO period_facts (period_id, series_id, closed_at) VALUES (:p, :s, :at)
            ON CONFLICT (period_id) DO UPDATE SET closed_at = excluded.closed_at,
              series_id = COALESCE(period_facts.series_id, excluded.series_id)
            """
        ),
        {"p": period_id, "s": series_id, "at": at},
    )


async def period_settled(session: AsyncSession, *, period_id: int, series_id: int, at: datetime) -> None:
    """Every refund of a period was confirmed."""
    await session.execute(
        text(
            """
            INSERT INTO period_facts (period_id, series_id, settled_at) VALUES (:p, :s, :at)
            ON CONFLICT (period_id) DO UPDATE SET settled_at = excluded.settled_at
            """
        ),
        {"p": period_id, "s": series_id, "at": at},
    )


async def registration_created(
    session: AsyncSession, *, registration_id: int, member_no: int, series_id: int, period_id: int,
    fee_fen: int, channel: str | None, at: datetime,
) -> None:
    """A registration was created; the period's first registration moment moves with it."""
    await session.execute(
        text(
            """
            INSERT INTO registration_facts (registration_id, member_no, series_id, period_id, fee_fen, channel,
                                            created_at)
            VALUES (:r, :m, :s, :p, :f, :c, :at) ON CONFLICT (registration_id) DO NOTHING
            """
        ),
        {"r": registration_id, "m": member_no, "s": series_id, "p": period_id, "f": fee_fen, "c": channel,
         "at": at},
    )
    await session.execute(
        text(
            """
            INSERT INTO period_facts (period_id, series_id, first_registration_at) VALUES (:p, :s, :at)
            ON CONFLICT (period_id) DO UPDATE SET
              series_id = COALESCE(period_facts.series_id, excluded.series_id),
              first_registration_at = LEAST(period_facts.first_registration_at, excluded.first_registration_at)
            """
        ),
        {"p": period_id, "s": series_id, "at": at},
    )


async def registration_paid(session: AsyncSession, *, registration_id: int, amount_fen: int, at: datetime) -> None:
    """A registration's payment was confirmed."""
    await session.execute(
        text("UPDATE registration_facts SET paid_at = :at, paid_fen = :a WHERE registration_id = :r"),
        {"r": registration_id, "a": amount_fen, "at": at},
    )


async def registration_ended(session: AsyncSession, *, registration_id: int, how: str, at: datetime) -> None:
    """A registration was cancelled or expired."""
    await session.execute(
        text(
            "UPDATE registration_facts SET ended_at = :at, ended_how = :how "
            "WHERE registration_id = :r AND ended_at IS NULL"
        ),
        {"r": registration_id, "how": how, "at": at},
    )


async def refund_issued(
    session: AsyncSession, *, refund_id: int, registration_id: int, period_id: int, member_no: int,
    amount_fen: int, at: datetime,
) -> None:
    """A refund was accepted by WeChat Pay."""
    await session.execute(
        text(
            """
            INSERT INTO refund_facts (refund_id, registration_id, period_id, member_no, amount_fen, issued_at)
            VALUES (:f, :r, :p, :m, :a, :at) ON CONFLICT (refund_id) DO NOTHING
            """
        ),
        {"f": refund_id, "r": registration_id, "p": period_id, "m": member_no, "a": amount_fen, "at": at},
    )
    await session.execute(
        text("UPDATE registration_facts SET refunded_fen = refunded_fen + :a WHERE registration_id = :r"),
        {"r": registration_id, "a": amount_fen},
    )


async def refund_outcome(session: AsyncSession, *, refund_id: int, outcome: str) -> None:
    """A refund settled or failed (a failed one no longer counts as refunded)."""
    if outcome == "failed":
        await session.execute(
            text(
                """
                UPDATE registration_facts r SET refunded_fen = r.refunded_fen - f.amount_fen
                FROM refund_facts f WHERE f.refund_id = :f AND f.registration_id = r.registration_id
                  AND f.outcome <> 'failed'
                """
            ),
            {"f": refund_id},
        )
    await session.execute(
        text("UPDATE refund_facts SET outcome = :o WHERE refund_id = :f"), {"f": refund_id, "o": outcome}
    )


async def checkin_recorded(
    session: AsyncSession, *, checkin_id: int, period_id: int, member_no: int, local_date: date
) -> None:
    """A check-in."""
    await session.execute(
        text(
            """
            INSERT INTO checkin_facts (checkin_id, period_id, member_no, local_date) VALUES (:c, :p, :m, :d)
            ON CONFLICT (checkin_id) DO NOTHING
            """
        ),
        {"c": checkin_id, "p": period_id, "m": member_no, "d": local_date},
    )


async def checkin_voided(session: AsyncSession, *, checkin_id: int) -> None:
    """A voided check-in no longer counts."""
    await session.execute(text("DELETE FROM checkin_facts WHERE checkin_id = :c"), {"c": checkin_id})


async def channel_touched(
    session: AsyncSession, *, member_no: int, channel_id: int, scene: str, at: datetime
) -> None:
    """A member came in through a channel (the earliest touch is kept)."""
    await session.execute(
        text(
            """
            INSERT INTO channel_touches (member_no, channel_id, scene, touched_at) VALUES (:m, :c, :s, :at)
            ON CONFLICT (member_no, channel_id) DO UPDATE SET
              touched_at = LEAST(channel_touches.touched_at, excluded.touched_at)
            """
        ),
        {"m": member_no, "c": channel_id, "s": scene, "at": at},
    )


async def followed(session: AsyncSession, *, member_no: int, scene: str | None, at: datetime) -> bool:
    """A member follows the service account; True when they did not follow before (a new follow)."""
    before = await session.scalar(
        text("SELECT following FROM follow_facts WHERE member_no = :m FOR UPDATE"), {"m": member_no}
    )
    await session.execute(
        text(
            """
            INSERT INTO follow_facts (member_no, first_followed_at, first_scene, following)
            VALUES (:m, :at, :s, true)
            ON CONFLICT (member_no) DO UPDATE SET following = true,
              first_scene = CASE WHEN excluded.first_followed_at < follow_facts.first_followed_at
                                 THEN excluded.first_scene ELSE follow_facts.first_scene END,
              first_followed_at = LEAST(follow_facts.first_followed_at, excluded.first_followed_at)
            """
        ),
        {"m": member_no, "s": scene, "at": at},
    )
    return not before


async def unfollowed(session: AsyncSession, *, member_no: int) -> bool:
    """A member stopped following; True when they were following."""
    changed = await session.scalar(
        text(
            "UPDATE follow_facts SET following = false WHERE member_no = :m AND following "
            "RETURNING member_no"
        ),
        {"m": member_no},
    )
    return changed is not None


async def merge_member(session: AsyncSession, *, from_no: int, into_no: int) -> None:
    """Re-key a merged member's campaign facts."""
    params = {"from": from_no, "into": into_no}
    for table in ("registration_facts", "refund_facts", "checkin_facts"):
        await session.execute(text(f"UPDATE {table} SET member_no = :into WHERE member_no = :from"), params)  # noqa: S608
    await session.execute(
        text(
            """
            INSERT INTO channel_touches (member_no, channel_id, scene, touched_at)
            SELECT :into, channel_id, scene, touched_at FROM channel_touches WHERE member_no = :from
            ON CONFLICT (member_no, channel_id) DO UPDATE SET
              touched_at = LEAST(channel_touches.touched_at, excluded.touched_at)
            """
        ),
        params,
    )
    await session.execute(text("DELETE FROM channel_touches WHERE member_no = :from"), params)
    await session.execute(
        text(
            """
            INSERT INTO follow_facts (member_no, first_followed_at, first_scene, following)
            SELECT :into, first_followed_at, first_scene, following FROM follow_facts WHERE member_no = :from
            ON CONFLICT (member_no) DO UPDATE SET
              following = follow_facts.following OR excluded.following,
              first_followed_at = LEAST(follow_facts.first_followed_at, excluded.first_followed_at)
            """
        ),
        params,
    )
    await session.execute(text("DELETE FROM follow_facts WHERE member_no = :from"), params)


# --- reads -----------------------------------------------------------------

# A registration that makes its member a member of the period (definitions).
MEMBER_OF = "(r.paid_at IS NOT NULL OR r.fee_fen = 0) AND r.ended_at IS NULL"


async def period(session: AsyncSession, period_id: int) -> dict[str, Any] | None:
    """A period's facts."""
    row = (
        await session.execute(text("SELECT * FROM period_facts WHERE period_id = :p"), {"p": period_id})
    ).mappings().first()
    return dict(row) if row else None


async def series_periods(session: AsyncSession, series_id: int) -> list[dict[str, Any]]:
    """A series' periods in number order (unknown numbers last, by id)."""
    rows = await session.execute(
        text("SELECT * FROM period_facts WHERE series_id = :s ORDER BY number NULLS LAST, period_id"),
        {"s": series_id},
    )
    return [dict(r) for r in rows.mappings()]


async def members_of_periods(session: AsyncSession, period_ids: list[int]) -> dict[int, set[int]]:
    """Members of each period."""
    rows = await session.execute(
        text(
            f"SELECT r.period_id, r.member_no FROM registration_facts r "  # noqa: S608
            f"WHERE r.period_id = ANY(CAST(:ps AS bigint[])) AND {MEMBER_OF}"
        ),
        {"ps": period_ids},
    )
    out: dict[int, set[int]] = {p: set() for p in period_ids}
    for period_id, member_no in rows:
        out[int(period_id)].add(int(member_no))
    return out


async def period_summary(session: AsyncSession, period_id: int) -> dict[str, int]:
    """Registrations, paid, cancelled, expired, revenue and refunds of one period."""
    row = (
        await session.execute(
            text(
                """
                SELECT count(*) AS registrations,
                  count(*) FILTER (WHERE paid_at IS NOT NULL) AS paid,
                  count(*) FILTER (WHERE ended_how = 'cancelled') AS cancelled,
                  count(*) FILTER (WHERE ended_how = 'expired') AS expired,
                  coalesce(sum(paid_fen), 0) AS revenue_fen
                FROM registration_facts WHERE period_id = :p
                """
            ),
            {"p": period_id},
        )
    ).mappings().one()
    refunds = (
        await session.execute(
            text(
                """
                SELECT count(*) FILTER (WHERE outcome <> 'failed') AS refunds_issued,
                  coalesce(sum(amount_fen) FILTER (WHERE outcome <> 'failed'), 0) AS refund_total_fen,
                  count(*) FILTER (WHERE outcome = 'settled') AS refunds_settled
                FROM refund_facts WHERE period_id = :p
                """
            ),
            {"p": period_id},
        )
    ).mappings().one()
    return {**{k: int(v) for k, v in row.items()}, **{k: int(v) for k, v in refunds.items()}}


async def checkin_days(session: AsyncSession, period_id: int) -> tuple[int, list[int], int]:
    """Days the period had check-ins on, days checked per member (members of the period), completions."""
    plan_days = int(
        await session.scalar(
            text("SELECT count(DISTINCT local_date) FROM checkin_facts WHERE period_id = :p"), {"p": period_id}
        )
        or 0
    )
    rows = await session.execute(
        text(
            f"""
            SELECT r.member_no, count(DISTINCT c.local_date) AS days,
              bool_or(r.paid_fen > 0 AND r.refunded_fen >= r.paid_fen) AS completed
            FROM registration_facts r
            LEFT JOIN checkin_facts c ON c.period_id = r.period_id AND c.member_no = r.member_no
            WHERE r.period_id = :p AND {MEMBER_OF}
            GROUP BY r.member_no
            """  # noqa: S608  (a fixed clause)
        ),
        {"p": period_id},
    )
    days, completed = [], 0
    for _, n, done in rows:
        days.append(int(n))
        completed += 1 if done else 0
    return plan_days, days, completed


async def first_registrations(session: AsyncSession, member_nos: list[int]) -> dict[int, tuple[datetime, int]]:
    """Each member's first registration anywhere: (when, period)."""
    rows = await session.execute(
        text(
            """
            SELECT DISTINCT ON (member_no) member_no, created_at, period_id FROM registration_facts
            WHERE member_no = ANY(CAST(:ms AS bigint[])) ORDER BY member_no, created_at, registration_id
            """
        ),
        {"ms": member_nos},
    )
    return {int(m): (at, int(p)) for m, at, p in rows}


async def last_registrations(session: AsyncSession, member_nos: list[int]) -> dict[int, int]:
    """Each member's latest registration anywhere: its period."""
    rows = await session.execute(
        text(
            f"""
            SELECT DISTINCT ON (member_no) member_no, period_id FROM registration_facts r
            WHERE member_no = ANY(CAST(:ms AS bigint[])) AND {MEMBER_OF}
            ORDER BY member_no, created_at DESC, registration_id DESC
            """  # noqa: S608  (a fixed clause)
        ),
        {"ms": member_nos},
    )
    return {int(m): int(p) for m, p in rows}


async def first_touches(session: AsyncSession, member_nos: list[int]) -> dict[int, tuple[datetime, int, str]]:
    """Each member's first channel touch: (when, channel, scene)."""
    rows = await session.execute(
        text(
            """
            SELECT DISTINCT ON (member_no) member_no, touched_at, channel_id, scene FROM channel_touches
            WHERE member_no = ANY(CAST(:ms AS bigint[])) ORDER BY member_no, touched_at, channel_id
            """
        ),
        {"ms": member_nos},
    )
    return {int(m): (at, int(c), str(s)) for m, at, c, s in rows}


async def channel_funnel(session: AsyncSession, *, first: datetime, last: datetime) -> list[dict[str, Any]]:
    """Per channel: touched, followed, registered, paid, completed and renewed members (touched in range)."""
    rows = await session.execute(
        text(
            f"""
            WITH t AS (
              SELECT channel_id, min(scene) AS scene, member_no, min(touched_at) AS at FROM channel_touches
              WHERE touched_at >= :a AND touched_at < :b GROUP BY channel_id, member_no
            ),
            reg AS (
              SELECT t.channel_id, t.member_no,
                bool_or(r.registration_id IS NOT NULL) AS registered,
                bool_or(r.paid_at IS NOT NULL) AS paid,
                bool_or(r.paid_fen > 0 AND r.refunded_fen >= r.paid_fen) AS completed
              FROM t LEFT JOIN registration_facts r ON r.member_no = t.member_no AND r.created_at >= t.at
              GROUP BY t.channel_id, t.member_no
            ),
            renewed AS (
              SELECT DISTINCT t.channel_id, t.member_no FROM t
              JOIN registration_facts r ON r.member_no = t.member_no AND {MEMBER_OF}
              GROUP BY t.channel_id, t.member_no, r.series_id HAVING count(DISTINCT r.period_id) >= 2
            )
            SELECT t.channel_id, min(t.scene) AS scene, count(*) AS scanned,
              count(f.member_no) AS followed,
              count(*) FILTER (WHERE reg.registered) AS registered,
              count(*) FILTER (WHERE reg.paid) AS paid,
              count(*) FILTER (WHERE reg.completed) AS completed,
              count(rn.member_no) AS renewed
            FROM t
            JOIN reg USING (channel_id, member_no)
            LEFT JOIN follow_facts f ON f.member_no = t.member_no
            LEFT JOIN renewed rn ON rn.channel_id = t.channel_id AND rn.member_no = t.member_no
            GROUP BY t.channel_id ORDER BY t.channel_id
            """  # noqa: S608  (a fixed clause)
        ),
        {"a": first, "b": last},
    )
    return [dict(r) for r in rows.mappings()]
