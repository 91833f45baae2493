"""SQL of the member-facts projection (upserts that are safe to replay in event order)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tagging_service.facts.models import MemberFact, PeriodInfo


async def update_member(session: AsyncSession, member_no: int, **values: Any) -> None:
    """Set columns of a member's facts row (which must exist)."""
    await session.execute(
        text(f"UPDATE member_facts SET {', '.join(f'{k} = :{k}' for k in values)} WHERE member_no = :m"),  # noqa: S608
        {"m": member_no, **values},
    )


async def member(session: AsyncSession, member_no: int) -> MemberFact | None:
    """A member's facts row."""
    return await session.get(MemberFact, member_no)


async def survivor_of(session: AsyncSession, member_no: int) -> int:
    """The member number that now stands for ``member_no`` (itself unless merged away)."""
    for _ in range(10):  # merges chain rarely; a cycle must not hang a consumer
        into = await session.scalar(
            text("SELECT merged_into FROM member_facts WHERE member_no = :m"), {"m": member_no}
        )
        if into is None:
            return member_no
        member_no = int(into)
    return member_no


async def touch_active(session: AsyncSession, member_no: int, at: datetime) -> None:
    """Move ``last_active_at`` forward."""
    await session.execute(
        text("UPDATE member_facts SET last_active_at = GREATEST(COALESCE(last_active_at, :at), :at) "
             "WHERE member_no = :m"),
        {"m": member_no, "at": at},
    )


async def set_period(session: AsyncSession, period_id: int, series_id: int) -> None:
    """Remember a period's series."""
    await session.execute(
        insert(PeriodInfo).values(period_id=period_id, series_id=series_id)
        .on_conflict_do_update(index_elements=["period_id"], set_={"series_id": series_id})
    )


async def registration(session: AsyncSession, member_no: int, period_id: int, **values: Any) -> None:
    """Upsert a member's registration row in a period; ``None`` values leave columns unchanged."""
    columns = {k: v for k, v in values.items() if v is not None}
    sets = ", ".join(f"{k} = COALESCE(member_periods.{k}, EXCLUDED.{k})" for k in columns)
    sets = sets or "period_id = EXCLUDED.period_id"
    names = ", ".join(["member_no", "period_id", *columns])
    params = ", ".join([":member_no", ":period_id", *(f":{k}" for k in columns)])
    await session.execute(
        text(f"INSERT INTO member_periods ({names}) VALUES ({params}) "  # noqa: S608
             f"ON CONFLICT (member_no, period_id) DO UPDATE SET {sets}"),
        {"member_no": member_no, "period_id": period_id, **columns},
    )


async def cancel_registration(session: AsyncSession, member_no: int, period_id: int, at: datetime) -> None:
    """A registration ended without taking part."""
    await session.execute(
        text("UPDATE member_periods SET cancelled_at = :at WHERE member_no = :m AND period_id = :p"),
        {"m": member_no, "p": period_id, "at": at},
    )


async def reopen_registration(session: AsyncSession, member_no: int, period_id: int) -> None:
    """A member registered again after a cancellation."""
    await session.execute(
        text("UPDATE member_periods SET cancelled_at = NULL WHERE member_no = :m AND period_id = :p"),
        {"m": member_no, "p": period_id},
    )


async def add_refund(session: AsyncSession, member_no: int, period_id: int, amount_fen: int) -> None:
    """Count a confirmed refund."""
    await registration(session, member_no, period_id)
    await session.execute(
        text("UPDATE member_periods SET refund_fen = refund_fen + :a WHERE member_no = :m AND period_id = :p"),
        {"m": member_no, "p": period_id, "a": amount_fen},
    )


async def checkin(session: AsyncSession, *, checkin_id: int, member_no: int, period_id: int, day: date,
                  voided: bool) -> None:
    """Record (or void) a check-in."""
    await session.execute(
        text("INSERT INTO member_checkins (checkin_id, member_no, period_id, local_date, voided) "
             "VALUES (:c, :m, :p, :d, :v) ON CONFLICT (checkin_id) DO UPDATE SET voided = EXCLUDED.voided"),
        {"c": checkin_id, "m": member_no, "p": period_id, "d": day, "v": voided},
    )


async def sighting(session: AsyncSession, *, member_no: int, community_id: int, open_gid: str,
                   period_id: int | None, at: datetime) -> bool:
    """Record a group sighting; returns whether it is the member's first in that group."""
    await session.execute(
        text("INSERT INTO communities (community_id, open_gid, period_id) VALUES (:c, :g, :p) "
             "ON CONFLICT (community_id) DO UPDATE SET "
             "period_id = COALESCE(EXCLUDED.period_id, communities.period_id)"),
        {"c": community_id, "g": open_gid, "p": period_id},
    )
    first = await session.scalar(
        text("INSERT INTO group_sightings (member_no, community_id, first_seen_at, last_seen_at) "
             "VALUES (:m, :c, :at, :at) ON CONFLICT (member_no, community_id) DO UPDATE SET "
             "sightings = group_sightings.sightings + 1, "
             "first_seen_at = LEAST(group_sightings.first_seen_at, EXCLUDED.first_seen_at), "
             "last_seen_at = GREATEST(group_sightings.last_seen_at, EXCLUDED.last_seen_at) "
             "RETURNING (xmax = 0)"),
        {"m": member_no, "c": community_id, "at": at},
    )
    return bool(first)


async def seen_activity(session: AsyncSession, member_no: int, client_event_id: str) -> bool:
    """Claim a client activity id; False when it was counted before."""
    claimed = await session.scalar(
        text("INSERT INTO activity_seen (member_no, client_event_id) VALUES (:m, :c) "
             "ON CONFLICT DO NOTHING RETURNING 1"),
        {"m": member_no, "c": client_event_id},
    )
    return claimed is not None


async def add_activity(session: AsyncSession, *, member_no: int, day: date, kind: str, duration_ms: int) -> None:
    """Count one activity item on a day."""
    await session.execute(
        text("INSERT INTO daily_activity (member_no, day, kind, items, duration_ms) VALUES (:m, :d, :k, 1, :ms) "
             "ON CONFLICT (member_no, day, kind) DO UPDATE SET items = daily_activity.items + 1, "
             "duration_ms = daily_activity.duration_ms + EXCLUDED.duration_ms"),
        {"m": member_no, "d": day, "k": kind, "ms": duration_ms},
    )


async def add_quiz(session: AsyncSession, *, member_no: int, day: date, series_id: int, period_id: int,
                   wrong: bool) -> None:
    """Count one quiz answer (and whether it was wrong); 0 = series or period not given."""
    await session.execute(
        text("INSERT INTO daily_quiz (member_no, day, series_id, period_id, answers, wrong) "
             "VALUES (:m, :d, :s, :p, 1, :w) "
             "ON CONFLICT (member_no, day, series_id, period_id) DO UPDATE SET answers = daily_quiz.answers + 1, "
             "wrong = daily_quiz.wrong + EXCLUDED.wrong"),
        {"m": member_no, "d": day, "s": series_id, "p": period_id, "w": 1 if wrong else 0},
    )


async def series_of_period(session: AsyncSession, period_id: int) -> int | None:
    """The series of a period, if known."""
    return await session.scalar(text("SELECT series_id FROM period_info WHERE period_id = :p"), {"p": period_id})


async def mark_dirty(session: AsyncSession, member_nos: list[int]) -> None:
    """The rules should look at these members again."""
    if member_nos:
        await session.execute(
            text("INSERT INTO rule_dirty_members (member_no) SELECT unnest(CAST(:m AS bigint[])) "
                 "ON CONFLICT DO NOTHING"),
            {"m": sorted(set(member_nos))},
        )


# Re-keying on a merge: additive projections are summed into the survivor's rows,
# the others move; the retired number disappears from the member universe.
MERGE_SQL = [
    """UPDATE member_facts i SET
         member_since = LEAST(i.member_since, f.member_since),
         follows_oa = i.follows_oa OR f.follows_oa,
         has_phone = i.has_phone OR f.has_phone,
         phone_masked = COALESCE(i.phone_masked, f.phone_masked),
         first_channel = CASE WHEN f.member_since < i.member_since AND f.first_channel IS NOT NULL
                              THEN f.first_channel ELSE COALESCE(i.first_channel, f.first_channel) END,
         last_active_at = GREATEST(i.last_active_at, f.last_active_at)
       FROM member_facts f WHERE i.member_no = :into AND f.member_no = :from""",
    "UPDATE member_facts SET merged_into = :into WHERE member_no = :from",
    """INSERT INTO member_periods (member_no, period_id, registered_at, paid_at, cancelled_at, refund_fen, channel)
       SELECT :into, period_id, registered_at, paid_at, cancelled_at, refund_fen, channel
       FROM member_periods WHERE member_no = :from
       ON CONFLICT (member_no, period_id) DO UPDATE SET
         registered_at = LEAST(member_periods.registered_at, EXCLUDED.registered_at),
         paid_at = COALESCE(member_periods.paid_at, EXCLUDED.paid_at),
         refund_fen = member_periods.refund_fen + EXCLUDED.refund_fen""",
    "DELETE FROM member_periods WHERE member_no = :from",
    "UPDATE member_checkins SET member_no = :into WHERE member_no = :from",
    """INSERT INTO group_sightings (member_no, community_id, first_seen_at, last_seen_at, sightings)
       SELECT :into, community_id, first_seen_at, last_seen_at, sightings FROM group_sightings WHERE member_no = :from
       ON CONFLICT (member_no, community_id) DO UPDATE SET
         first_seen_at = LEAST(group_sightings.first_seen_at, EXCLUDED.first_seen_at),
         last_seen_at = GREATEST(group_sightings.last_seen_at, EXCLUDED.last_seen_at),
         sightings = group_sightings.sightings + EXCLUDED.sightings""",
    "DELETE FROM group_sightings WHERE member_no = :from",
    """INSERT INTO daily_activity (member_no, day, kind, items, duration_ms)
       SELECT :into, day, kind, items, duration_ms FROM daily_activity WHERE member_no = :from
       ON CONFLICT (member_no, day, kind) DO UPDATE SET items = daily_activity.items + EXCLUDED.items,
         duration_ms = daily_activity.duration_ms + EXCLUDED.duration_ms""",
    "DELETE FROM daily_activity WHERE member_no = :from",
    """INSERT INTO daily_quiz (member_no, day, series_id, period_id, answers, wrong)
       SELECT :into, day, series_id, period_id, answers, wrong FROM daily_quiz WHERE member_no = :from
       ON CONFLICT (member_no, day, series_id, period_id) DO UPDATE SET answers = daily_quiz.answers + EXCLUDED.answers,
         wrong = daily_quiz.wrong + EXCLUDED.wrong""",
    "DELETE FROM daily_quiz WHERE member_no = :from",
    "UPDATE timeline_entries SET member_no = :into WHERE member_no = :from",
    "UPDATE service_notes SET member_no = :into WHERE member_no = :from",
    "DELETE FROM rule_dirty_members WHERE member_no = :from",
]


async def merge_facts(session: AsyncSession, from_member_no: int, into_member_no: int) -> None:
    """Re-key every projection row of ``from`` onto ``into``."""
    params = {"from": from_member_no, "into": into_member_no}
    for sql in MERGE_SQL:
        await session.execute(text(sql), params)
