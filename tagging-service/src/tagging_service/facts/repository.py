"""SQL of the member-facts projection (upserts that are safe to replay in event order)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tagging_service.facts.models import MemberFact, PeriodInfo

# How many of the latest event ids a projection row keeps (evidence of rule applications).
EVIDENCE_EVENTS = 5


async def update_member(session: AsyncSession, member_no: int, **values: Any) -> None:
    """Set columns of a member's facts row (which must exist)."""
    await session.execute(
        text(f"UPDATE member_facts SET {', '.join(f'{k} = :{k}' for k in values)} WHERE member_no = :m"),  # noqa: S608
        {"m": member_no, **values},
    )


async def phone_of(session: AsyncSession, member_no: int) -> str | None:
    """The masked phone a member's facts hold."""
    return await session.scalar(text("SELECT phone_masked FROM member_facts WHERE member_no = :m"), {"m": member_no})


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


async def registration(session: AsyncSession, member_no: int, period_id: int, *, event_id: UUID | None = None,
                       **values: Any) -> None:
    """Upsert a member's registration row in a period; ``None`` values leave columns unchanged."""
    columns = {k: v for k, v in values.items() if v is not None}
    sets = [f"{k} = COALESCE(member_periods.{k}, EXCLUDED.{k})" for k in columns]
    names = ["member_no", "period_id", *columns]
    params = [":member_no", ":period_id", *(f":{k}" for k in columns)]
    if event_id is not None:
        names.append("event_ids")
        params.append("ARRAY[CAST(:event_id AS uuid)]")
        sets.append(f"event_ids = (EXCLUDED.event_ids || member_periods.event_ids)[1:{EVIDENCE_EVENTS}]")
        columns["event_id"] = event_id
    await session.execute(
        text(f"INSERT INTO member_periods ({', '.join(names)}) VALUES ({', '.join(params)}) "  # noqa: S608
             f"ON CONFLICT (member_no, period_id) DO UPDATE SET {', '.join(sets) or 'period_id = EXCLUDED.period_id'}"),
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
                  voided: bool, event_id: UUID | None = None) -> None:
    """Record (or void) a check-in (``event_id``: the event that recorded it)."""
    await session.execute(
        text("INSERT INTO member_checkins (checkin_id, member_no, period_id, local_date, voided, event_id) "
             "VALUES (:c, :m, :p, :d, :v, :e) ON CONFLICT (checkin_id) DO UPDATE SET voided = EXCLUDED.voided, "
             "event_id = COALESCE(member_checkins.event_id, EXCLUDED.event_id)"),
        {"c": checkin_id, "m": member_no, "p": period_id, "d": day, "v": voided, "e": event_id},
    )


async def sighting(session: AsyncSession, *, member_no: int, community_id: int, open_gid: str,
                   period_id: int | None, at: datetime, event_id: UUID | None = None) -> bool:
    """Record a group sighting; returns whether it is the member's first in that group."""
    await session.execute(
        text("INSERT INTO communities (community_id, open_gid, period_id) VALUES (:c, :g, :p) "
             "ON CONFLICT (community_id) DO UPDATE SET "
             "period_id = COALESCE(EXCLUDED.period_id, communities.period_id)"),
        {"c": community_id, "g": open_gid, "p": period_id},
    )
    first = await session.scalar(
        text("INSERT INTO group_sightings (member_no, community_id, first_seen_at, last_seen_at, event_ids) "  # noqa: S608
             "VALUES (:m, :c, :at, :at, CASE WHEN CAST(:e AS uuid) IS NULL THEN '{}'::uuid[] "
             "ELSE ARRAY[CAST(:e AS uuid)] END) ON CONFLICT (member_no, community_id) DO UPDATE SET "
             "sightings = group_sightings.sightings + 1, "
             f"event_ids = (EXCLUDED.event_ids || group_sightings.event_ids)[1:{EVIDENCE_EVENTS}], "
             "first_seen_at = LEAST(group_sightings.first_seen_at, EXCLUDED.first_seen_at), "
             "last_seen_at = GREATEST(group_sightings.last_seen_at, EXCLUDED.last_seen_at) "
             "RETURNING (xmax = 0)"),
        {"m": member_no, "c": community_id, "at": at, "e": event_id},
    )
    return bool(first)


async def survivors_of(session: AsyncSession, member_nos: list[int]) -> dict[int, int]:
    """member → the member number that now stands for it, for those merged away."""
    found: dict[int, int] = {}
    pending = member_nos
    for _ in range(10):  # merges chain rarely; a cycle must not hang a consumer
        rows = (await session.execute(
            text("SELECT member_no, merged_into FROM member_facts "
                 "WHERE member_no = ANY(CAST(:m AS bigint[])) AND merged_into IS NOT NULL"), {"m": pending},
        )).all()
        if not rows:
            break
        step = {int(m): int(into) for m, into in rows}
        for origin, current in list(found.items()):
            found[origin] = step.get(current, current)
        for m, into in step.items():
            found.setdefault(m, into)
        pending = sorted(set(step.values()))
    return found


async def claim_activity(session: AsyncSession, claims: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """Claim client activity ids; returns the (member, id) pairs not counted before."""
    rows = await session.execute(
        text("INSERT INTO activity_seen (member_no, client_event_id) "
             "SELECT * FROM unnest(CAST(:m AS bigint[]), CAST(:c AS text[])) "
             "ON CONFLICT DO NOTHING RETURNING member_no, client_event_id"),
        {"m": [m for m, _ in claims], "c": [c for _, c in claims]},
    )
    return {(int(m), str(c)) for m, c in rows}


def _uuid_array(ids: list[UUID]) -> str:
    return "{" + ",".join(str(i) for i in ids) + "}"


async def add_activity_rows(
    session: AsyncSession, rows: list[tuple[int, date, str, int, int, list[UUID]]]
) -> None:
    """Add (member, day, kind, items, duration_ms, newest event ids) to the daily activity counts."""
    await session.execute(
        text("INSERT INTO daily_activity (member_no, day, kind, items, duration_ms, event_ids) "  # noqa: S608
             "SELECT m, d, k, n, ms, CAST(e AS uuid[]) FROM unnest(CAST(:m AS bigint[]), CAST(:d AS date[]), "
             "CAST(:k AS text[]), CAST(:n AS integer[]), CAST(:ms AS bigint[]), CAST(:e AS text[])) "
             "AS u(m, d, k, n, ms, e) "
             "ON CONFLICT (member_no, day, kind) DO UPDATE SET items = daily_activity.items + EXCLUDED.items, "
             "duration_ms = daily_activity.duration_ms + EXCLUDED.duration_ms, "
             f"event_ids = (EXCLUDED.event_ids || daily_activity.event_ids)[1:{EVIDENCE_EVENTS}]"),
        {"m": [r[0] for r in rows], "d": [r[1] for r in rows], "k": [r[2] for r in rows],
         "n": [r[3] for r in rows], "ms": [r[4] for r in rows], "e": [_uuid_array(r[5]) for r in rows]},
    )


async def add_quiz_rows(
    session: AsyncSession, rows: list[tuple[int, date, int, int, int, int, list[UUID]]]
) -> None:
    """Add (member, day, series, period, answers, wrong, newest event ids) to the quiz counts (0 = not given)."""
    await session.execute(
        text("INSERT INTO daily_quiz (member_no, day, series_id, period_id, answers, wrong, event_ids) "  # noqa: S608
             "SELECT m, d, s, p, n, w, CAST(e AS uuid[]) FROM unnest(CAST(:m AS bigint[]), CAST(:d AS date[]), "
             "CAST(:s AS bigint[]), CAST(:p AS bigint[]), CAST(:n AS integer[]), CAST(:w AS integer[]), "
             "CAST(:e AS text[])) AS u(m, d, s, p, n, w, e) "
             "ON CONFLICT (member_no, day, series_id, period_id) DO UPDATE SET "
             "answers = daily_quiz.answers + EXCLUDED.answers, wrong = daily_quiz.wrong + EXCLUDED.wrong, "
             f"event_ids = (EXCLUDED.event_ids || daily_quiz.event_ids)[1:{EVIDENCE_EVENTS}]"),
        {"m": [r[0] for r in rows], "d": [r[1] for r in rows], "s": [r[2] for r in rows],
         "p": [r[3] for r in rows], "n": [r[4] for r in rows], "w": [r[5] for r in rows],
         "e": [_uuid_array(r[6]) for r in rows]},
    )


async def touch_active_many(session: AsyncSession, last: list[tuple[int, datetime]]) -> None:
    """Move ``last_active_at`` forward for many members."""
    await session.execute(
        text("UPDATE member_facts f SET last_active_at = GREATEST(COALESCE(f.last_active_at, u.at), u.at) "
             "FROM unnest(CAST(:m AS bigint[]), CAST(:at AS timestamptz[])) AS u(m, at) WHERE f.member_no = u.m"),
        {"m": [m for m, _ in last], "at": [at for _, at in last]},
    )


async def series_of_period(session: AsyncSession, period_id: int) -> int | None:
    """The series of a period, if known."""
    return await session.scalar(text("SELECT series_id FROM period_info WHERE period_id = :p"), {"p": period_id})


async def mark_dirty(session: AsyncSession, member_nos: list[int]) -> None:
    """The rules should look at these members again."""
    if member_nos:
        await session.execute(
            text("INSERT INTO rule_dirty_members (member_no) SELECT unnest(CAST(:m AS bigint[]))"),
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
         phone_sealed = CASE WHEN i.phone_masked IS NULL THEN f.phone_sealed ELSE i.phone_sealed END,
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
