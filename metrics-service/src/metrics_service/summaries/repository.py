"""SQL of the summaries: keyed Roaring bitmaps in and out, per-member derivations from the facts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyroaring import BitMap
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service.campaigns.repository import MEMBER_OF

# Bitmap tables and their key columns (only these literals ever reach the SQL text).
KEYS: dict[str, tuple[str, ...]] = {
    "period_bitmaps": ("period_id", "kind"),
    "cohort_bitmaps": ("view", "key_kind", "key_id"),
    "community_bitmaps": ("community_id",),
}
Key = tuple[Any, ...]


def _where(table: str) -> tuple[str, tuple[str, ...]]:
    columns = KEYS[table]
    return " AND ".join(f"{c} = :{c}" for c in columns), columns


async def load(session: AsyncSession, table: str, keys: list[Key], *, lock: bool = False) -> dict[Key, BitMap]:
    """The stored bitmaps of ``keys`` (missing ones absent); ``lock`` takes them FOR UPDATE in key order."""
    if not keys:
        return {}
    columns = KEYS[table]
    params = {c: [k[i] for k in keys] for i, c in enumerate(columns)}
    casts = {"period_id": "bigint", "key_id": "bigint", "community_id": "bigint"}
    unnest = ", ".join(f"CAST(:{c} AS {casts.get(c, 'text')}[])" for c in columns)
    join = " AND ".join(f"b.{c} = t.{c}" for c in columns)
    rows = await session.execute(
        text(
            f"SELECT {', '.join('b.' + c for c in columns)}, b.members FROM {table} b "  # noqa: S608
            f"JOIN unnest({unnest}) AS t({', '.join(columns)}) ON {join} "
            f"ORDER BY {', '.join('b.' + c for c in columns)}{' FOR UPDATE OF b' if lock else ''}"
        ),
        params,
    )
    return {tuple(r[:-1]): BitMap.deserialize(bytes(r[-1])) for r in rows}


async def store(
    session: AsyncSession, table: str, maps: dict[Key, BitMap], extra: dict[Key, Any] | None = None
) -> None:
    """Write bitmaps (insert or replace); an empty bitmap deletes its row."""
    columns = KEYS[table]
    keep = [{**dict(zip(columns, k, strict=True)), "m": b.serialize(), "n": len(b),
             "x": (extra or {}).get(k)} for k, b in sorted(maps.items()) if b]
    gone = [dict(zip(columns, k, strict=True)) for k, b in sorted(maps.items()) if not b]
    if keep:
        extra_col = ", scene" if table == "cohort_bitmaps" else ""
        extra_val = ", :x" if table == "cohort_bitmaps" else ""
        extra_set = ", scene = COALESCE(excluded.scene, cohort_bitmaps.scene)" if table == "cohort_bitmaps" else ""
        await session.execute(
            text(
                f"INSERT INTO {table} ({', '.join(columns)}, members, cardinality{extra_col}) "  # noqa: S608
                f"VALUES ({', '.join(':' + c for c in columns)}, :m, :n{extra_val}) "
                f"ON CONFLICT ({', '.join(columns)}) DO UPDATE SET members = excluded.members, "
                f"cardinality = excluded.cardinality{extra_set}"
            ),
            keep,
        )
    if gone:
        where, _ = _where(table)
        await session.execute(text(f"DELETE FROM {table} WHERE {where}"), gone)  # noqa: S608


async def all_keys(session: AsyncSession, table: str) -> list[Key]:
    """Every key of a bitmap table."""
    columns = KEYS[table]
    rows = await session.execute(text(f"SELECT {', '.join(columns)} FROM {table}"))  # noqa: S608
    return [tuple(r) for r in rows]


# --- derivations of dirty members ------------------------------------------------


async def memberships(session: AsyncSession, member_nos: list[int]) -> list[tuple[int, int, bool]]:
    """``(period_id, member_no, is_member)`` for every period a member registered for."""
    rows = await session.execute(
        text(
            f"SELECT r.period_id, r.member_no, bool_or({MEMBER_OF}) FROM registration_facts r "  # noqa: S608
            "WHERE r.member_no = ANY(CAST(:ms AS bigint[])) GROUP BY 1, 2"
        ),
        {"ms": member_nos},
    )
    return [(int(p), int(m), bool(b)) for p, m, b in rows]


async def cohort_keys(session: AsyncSession, member_nos: list[int]) -> dict[int, tuple[Any, ...]]:
    """Per member: first registration (at, period), first touch (at, channel, scene), last membership period."""
    rows = await session.execute(
        text(
            f"""
            SELECT m.member_no, fr.created_at, fr.period_id, ft.touched_at, ft.channel_id, ft.scene, lr.period_id
            FROM unnest(CAST(:ms AS bigint[])) AS m(member_no)
            LEFT JOIN LATERAL (
              SELECT created_at, period_id FROM registration_facts WHERE member_no = m.member_no
              ORDER BY created_at, registration_id LIMIT 1) fr ON true
            LEFT JOIN LATERAL (
              SELECT touched_at, channel_id, scene FROM channel_touches WHERE member_no = m.member_no
              ORDER BY touched_at, channel_id LIMIT 1) ft ON true
            LEFT JOIN LATERAL (
              SELECT r.period_id FROM registration_facts r WHERE r.member_no = m.member_no AND {MEMBER_OF}
              ORDER BY r.created_at DESC, r.registration_id DESC LIMIT 1) lr ON true
            """  # noqa: S608  (a fixed clause)
        ),
        {"ms": member_nos},
    )
    return {int(r[0]): tuple(r[1:]) for r in rows}


async def stored_cohorts(session: AsyncSession, member_nos: list[int]) -> dict[int, tuple[Any, ...]]:
    """Per member: the (source_kind, source_id, source_scene, destination_id) their bitmaps hold now."""
    rows = await session.execute(
        text(
            "SELECT member_no, source_kind, source_id, source_scene, destination_id FROM member_cohorts "
            "WHERE member_no = ANY(CAST(:ms AS bigint[])) FOR UPDATE"
        ),
        {"ms": member_nos},
    )
    return {int(r[0]): tuple(r[1:]) for r in rows}


async def put_cohorts(session: AsyncSession, rows: dict[int, tuple[Any, ...] | None]) -> None:
    """Replace members' stored cohort keys (None: forget the member)."""
    gone = [m for m, v in rows.items() if v is None]
    keep = [{"m": m, "sk": v[0], "si": v[1], "ss": v[2], "d": v[3]} for m, v in sorted(rows.items()) if v]
    if gone:
        await session.execute(
            text("DELETE FROM member_cohorts WHERE member_no = ANY(CAST(:ms AS bigint[]))"), {"ms": gone}
        )
    if keep:
        await session.execute(
            text(
                """
                INSERT INTO member_cohorts (member_no, source_kind, source_id, source_scene, destination_id)
                VALUES (:m, :sk, :si, :ss, :d)
                ON CONFLICT (member_no) DO UPDATE SET source_kind = excluded.source_kind,
                  source_id = excluded.source_id, source_scene = excluded.source_scene,
                  destination_id = excluded.destination_id
                """
            ),
            keep,
        )


async def channel_flags(session: AsyncSession, member_nos: list[int]) -> list[dict[str, Any]]:
    """Per (channel, member) touched: first touch, scene and the funnel flags (definitions: channels)."""
    rows = await session.execute(
        text(
            f"""
            WITH t AS (
              SELECT channel_id, min(scene) AS scene, member_no, min(touched_at) AS at FROM channel_touches
              WHERE member_no = ANY(CAST(:ms AS bigint[])) GROUP BY channel_id, member_no
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
              SELECT DISTINCT r.member_no FROM registration_facts r
              WHERE r.member_no = ANY(CAST(:ms AS bigint[])) AND {MEMBER_OF}
              GROUP BY r.member_no, r.series_id HAVING count(DISTINCT r.period_id) >= 2
            )
            SELECT t.channel_id, t.member_no, t.scene, t.at, f.member_no IS NOT NULL AS followed,
              coalesce(reg.registered, false) AS registered, coalesce(reg.paid, false) AS paid,
              coalesce(reg.completed, false) AS completed, rn.member_no IS NOT NULL AS renewed
            FROM t
            JOIN reg USING (channel_id, member_no)
            LEFT JOIN follow_facts f ON f.member_no = t.member_no
            LEFT JOIN renewed rn ON rn.member_no = t.member_no
            """  # noqa: S608  (a fixed clause)
        ),
        {"ms": member_nos},
    )
    return [dict(r) for r in rows.mappings()]


async def stored_channel_members(session: AsyncSession, member_nos: list[int]) -> list[dict[str, Any]]:
    """The channel_members rows of members, locked."""
    rows = await session.execute(
        text(
            "SELECT * FROM channel_members WHERE member_no = ANY(CAST(:ms AS bigint[])) "
            "ORDER BY channel_id, member_no FOR UPDATE"
        ),
        {"ms": member_nos},
    )
    return [dict(r) for r in rows.mappings()]


FLAGS = ("followed", "registered", "paid", "completed", "renewed")


async def replace_channel_members(
    session: AsyncSession, member_nos: list[int], rows: list[dict[str, Any]]
) -> None:
    """The members' channel_members rows become ``rows``."""
    await session.execute(
        text("DELETE FROM channel_members WHERE member_no = ANY(CAST(:ms AS bigint[]))"), {"ms": member_nos}
    )
    if rows:
        await session.execute(
            text(
                f"INSERT INTO channel_members (channel_id, member_no, day, scene, {', '.join(FLAGS)}) "  # noqa: S608
                f"VALUES (:channel_id, :member_no, :day, :scene, {', '.join(':' + f for f in FLAGS)})"
            ),
            rows,
        )


async def add_channel_days(session: AsyncSession, deltas: dict[tuple[int, Any], list[Any]]) -> None:
    """Add ``[scene, scanned, followed, registered, paid, completed, renewed]`` to each (channel, day)."""
    if not deltas:
        return
    keys = sorted(deltas)
    steps = ("scanned", *FLAGS)
    params: dict[str, Any] = {"c": [k[0] for k in keys], "d": [k[1] for k in keys],
                              "s": [deltas[k][0] for k in keys]}
    for i, name in enumerate(steps):
        params[name] = [deltas[k][i + 1] for k in keys]
    await session.execute(
        text(
            f"""
            INSERT INTO channel_days (channel_id, day, scene, {', '.join(steps)})
            SELECT * FROM unnest(CAST(:c AS bigint[]), CAST(:d AS date[]), CAST(:s AS text[]),
                                 {', '.join(f'CAST(:{n} AS int[])' for n in steps)})
            ON CONFLICT (channel_id, day) DO UPDATE SET scene = LEAST(channel_days.scene, excluded.scene),
              {', '.join(f'{n} = channel_days.{n} + excluded.{n}' for n in steps)}
            """  # noqa: S608  (fixed names)
        ),
        params,
    )
    await session.execute(
        text(
            "DELETE FROM channel_days d USING unnest(CAST(:c AS bigint[]), CAST(:d AS date[])) AS k(c, d) "
            "WHERE d.channel_id = k.c AND d.day = k.d AND d.scanned = 0"
        ),
        {"c": params["c"], "d": params["d"]},
    )


# --- periods and groups ------------------------------------------------------------


async def closed_periods_up_to(
    session: AsyncSession, period_ids: list[int]
) -> dict[int, list[tuple[int, datetime]]]:
    """Per period: the ended periods of its series up to and including it (series order), with their end."""
    if not period_ids:
        return {}
    rows = await session.execute(
        text(
            """
            SELECT p.period_id, n.period_id, n.closed_at FROM period_facts p
            JOIN period_facts n ON n.series_id = p.series_id
            WHERE p.period_id = ANY(CAST(:ps AS bigint[])) AND n.closed_at IS NOT NULL
              AND (COALESCE(n.number, 2147483647), n.period_id) <= (COALESCE(p.number, 2147483647), p.period_id)
            """
        ),
        {"ps": period_ids},
    )
    out: dict[int, list[tuple[int, datetime]]] = {}
    for counted, period_id, closed_at in rows:
        out.setdefault(int(counted), []).append((int(period_id), closed_at))
    return out


async def series_of_periods(session: AsyncSession, period_ids: list[int]) -> set[int]:
    """The series of these periods."""
    rows = await session.scalars(
        text("SELECT DISTINCT series_id FROM period_facts WHERE period_id = ANY(CAST(:ps AS bigint[])) "
             "AND series_id IS NOT NULL"),
        {"ps": period_ids},
    )
    return {int(s) for s in rows}


async def seen_after_ended(session: AsyncSession, *, period_ids: list[int], after: datetime) -> list[int]:
    """Members seen after ``after`` in a group of one of ``period_ids``."""
    rows = await session.scalars(
        text(
            """
            SELECT DISTINCT member_no FROM period_sightings
            WHERE period_id = ANY(CAST(:ps AS bigint[])) AND last_seen_at > :after
            """
        ),
        {"ps": period_ids, "after": after},
    )
    return [int(m) for m in rows]


async def community_members(session: AsyncSession, community_ids: list[int]) -> dict[int, list[int]]:
    """The members seen in each group (the facts)."""
    rows = await session.execute(
        text(
            "SELECT community_id, array_agg(member_no) FROM community_member_facts "
            "WHERE community_id = ANY(CAST(:cs AS bigint[])) GROUP BY community_id"
        ),
        {"cs": community_ids},
    )
    return {int(c): list(ms) for c, ms in rows}


# --- reads of the figures -------------------------------------------------------------


async def period_maps(session: AsyncSession, period_ids: list[int], kind: str) -> dict[int, BitMap]:
    """The ``kind`` bitmap of each period (empty when it has none)."""
    stored = await load(session, "period_bitmaps", [(p, kind) for p in period_ids])
    return {p: stored.get((p, kind), BitMap()) for p in period_ids}


async def cohort_maps(session: AsyncSession, view: str) -> list[tuple[str, int, str | None, BitMap]]:
    """Every key of a cohort view with its scene and members."""
    rows = await session.execute(
        text("SELECT key_kind, key_id, scene, members FROM cohort_bitmaps WHERE view = :v ORDER BY 1, 2"),
        {"v": view},
    )
    return [(str(k), int(i), s, BitMap.deserialize(bytes(m))) for k, i, s, m in rows]


async def channel_totals(session: AsyncSession, *, first: Any, last: Any) -> list[dict[str, Any]]:
    """Per channel: the funnel counts of the members it touched on a day of the range."""
    rows = await session.execute(
        text(
            """
            SELECT channel_id, min(scene) AS scene, sum(scanned) AS scanned, sum(followed) AS followed,
              sum(registered) AS registered, sum(paid) AS paid, sum(completed) AS completed,
              sum(renewed) AS renewed
            FROM channel_days WHERE day BETWEEN :a AND :b
            GROUP BY channel_id HAVING sum(scanned) > 0 ORDER BY channel_id
            """
        ),
        {"a": first, "b": last},
    )
    return [dict(r) for r in rows.mappings()]


async def community_maps(session: AsyncSession, community_ids: list[int]) -> dict[int, BitMap]:
    """The members seen in each group."""
    stored = await load(session, "community_bitmaps", [(c,) for c in community_ids])
    return {k[0]: b for k, b in stored.items()}


async def period_summary(session: AsyncSession, period_id: int) -> dict[str, Any] | None:
    """A period's stored figure."""
    figure = await session.scalar(text("SELECT figure FROM period_summaries WHERE period_id = :p"), {"p": period_id})
    return dict(figure) if figure is not None else None
