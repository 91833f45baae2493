"""SQL of the community projections: groups, their period, who was seen when."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pyroaring import BitMap
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service.activity import bitmaps


async def member_seen(
    session: AsyncSession, *, community_id: int, open_gid: str, member_no: int, at: datetime
) -> None:
    """Record a sighting; a new group gets the period it belongs to (definitions)."""
    created = await session.scalar(
        text(
            """
            INSERT INTO community_facts (community_id, open_gid, period_id, first_seen_at, last_seen_at)
            VALUES (:c, :g, NULL, :at, :at)
            ON CONFLICT (community_id) DO UPDATE SET
              first_seen_at = LEAST(community_facts.first_seen_at, excluded.first_seen_at),
              last_seen_at = GREATEST(community_facts.last_seen_at, excluded.last_seen_at)
            RETURNING (xmax = 0)
            """
        ),
        {"c": community_id, "g": open_gid, "at": at},
    )
    if created:
        await session.execute(
            text(
                """
                UPDATE community_facts SET period_id = (
                  SELECT r.period_id FROM registration_facts r
                  LEFT JOIN period_facts p ON p.period_id = r.period_id
                  WHERE r.member_no = :m AND r.created_at <= :at AND r.ended_at IS NULL
                    AND (p.closed_at IS NULL OR p.closed_at > :at)
                  ORDER BY r.created_at DESC, r.registration_id DESC LIMIT 1)
                WHERE community_id = :c
                """
            ),
            {"c": community_id, "m": member_no, "at": at},
        )
    await session.execute(
        text(
            """
            INSERT INTO community_member_facts (community_id, member_no, first_seen_at, last_seen_at, sightings)
            VALUES (:c, :m, :at, :at, 1)
            ON CONFLICT (community_id, member_no) DO UPDATE SET
              first_seen_at = LEAST(community_member_facts.first_seen_at, excluded.first_seen_at),
              last_seen_at = GREATEST(community_member_facts.last_seen_at, excluded.last_seen_at),
              sightings = community_member_facts.sightings + 1
            """
        ),
        {"c": community_id, "m": member_no, "at": at},
    )


async def periods_of_sighting(
    session: AsyncSession, *, community_id: int, at: datetime, named: list[int]
) -> list[int]:
    """The periods a sighting counts for (definitions: groups of a period).

    The periods the sighting event names (the group's links at that moment,
    as campaign-service knew them); else the links metrics saw from
    ``campaign.community.linked`` / ``.unlinked`` that were in force at ``at``;
    else, for a group no link event ever named, the period inferred for it at
    its first sighting.
    """
    if named:
        return sorted(set(named))
    links = (
        await session.execute(
            text(
                "SELECT period_id, linked_at <= :at AND (unlinked_at IS NULL OR unlinked_at > :at), "
                "linked_at = min(linked_at) OVER () AND :at < linked_at "
                "FROM community_links WHERE community_id = :c ORDER BY period_id"
            ),
            {"c": community_id, "at": at},
        )
    ).all()
    if links:  # a group staff linked: its links decide, never the inference
        in_force = [int(p) for p, now_linked, _ in links if now_linked]
        # Before the group's first link, its first link's periods (definitions: groups of a period).
        return in_force or [int(p) for p, _, first_link_later in links if first_link_later]
    inferred = await session.scalar(
        text("SELECT period_id FROM community_facts WHERE community_id = :c"), {"c": community_id}
    )
    return [int(inferred)] if inferred is not None else []


async def period_seen(
    session: AsyncSession, *, period_ids: list[int], community_id: int, member_no: int, at: datetime
) -> None:
    """Record a sighting under each period it counts for."""
    if not period_ids:
        return
    await session.execute(
        text(
            """
            INSERT INTO period_sightings (period_id, community_id, member_no, first_seen_at, last_seen_at)
            SELECT p, :c, :m, :at, :at FROM unnest(CAST(:ps AS bigint[])) AS p
            ON CONFLICT (period_id, community_id, member_no) DO UPDATE SET
              first_seen_at = LEAST(period_sightings.first_seen_at, excluded.first_seen_at),
              last_seen_at = GREATEST(period_sightings.last_seen_at, excluded.last_seen_at)
            """
        ),
        {"ps": sorted(period_ids), "c": community_id, "m": member_no, "at": at},
    )


async def linked(
    session: AsyncSession, *, community_id: int, open_gid: str, period_id: int, series_id: int, at: datetime
) -> None:
    """A group was linked to a period; the group shows under its latest linked period."""
    await session.execute(
        text(
            """
            INSERT INTO community_links (community_id, period_id, series_id, linked_at) VALUES (:c, :p, :s, :at)
            ON CONFLICT (community_id, period_id) DO UPDATE SET series_id = excluded.series_id,
              linked_at = LEAST(community_links.linked_at, excluded.linked_at),
              unlinked_at = CASE WHEN community_links.unlinked_at > excluded.linked_at
                                 THEN community_links.unlinked_at END
            """
        ),
        {"c": community_id, "p": period_id, "s": series_id, "at": at},
    )
    await session.execute(
        text(
            """
            INSERT INTO community_facts (community_id, open_gid, period_id, first_seen_at, last_seen_at)
            VALUES (:c, :g, :p, :at, :at)
            ON CONFLICT (community_id) DO UPDATE SET period_id = excluded.period_id
            """
        ),
        {"c": community_id, "g": open_gid, "p": period_id, "at": at},
    )


async def backfill_link(session: AsyncSession, *, community_id: int, period_id: int) -> None:
    """Count for a just-linked period the group's sightings (first or last) made while the link held.

    For the group's first link, its sightings before the link count too
    (definitions: groups of a period).

    A sighting naming no periods may be applied before the link event it
    follows (they travel on different partitions); this recovers it from the
    group's first and last sighting of each member. Events that name their
    periods (campaign-service stamps them) never need it.
    """
    await session.execute(
        text(
            """
            INSERT INTO period_sightings (period_id, community_id, member_no, first_seen_at, last_seen_at)
            SELECT l.period_id, m.community_id, m.member_no,
              CASE WHEN m.first_seen_at >= l.linked_at OR f.first_link THEN m.first_seen_at ELSE m.last_seen_at END,
              CASE WHEN l.unlinked_at IS NULL OR m.last_seen_at < l.unlinked_at THEN m.last_seen_at
                   ELSE m.first_seen_at END
            FROM community_links l JOIN community_member_facts m USING (community_id)
            CROSS JOIN LATERAL (
              SELECT NOT EXISTS (SELECT 1 FROM community_links e
                                 WHERE e.community_id = l.community_id AND e.linked_at < l.linked_at) AS first_link
            ) f
            WHERE l.community_id = :c AND l.period_id = :p
              AND ((m.first_seen_at >= l.linked_at AND (l.unlinked_at IS NULL OR m.first_seen_at < l.unlinked_at))
                OR (m.last_seen_at >= l.linked_at AND (l.unlinked_at IS NULL OR m.last_seen_at < l.unlinked_at))
                OR (f.first_link AND m.first_seen_at < l.linked_at))
            ON CONFLICT (period_id, community_id, member_no) DO UPDATE SET
              first_seen_at = LEAST(period_sightings.first_seen_at, excluded.first_seen_at),
              last_seen_at = GREATEST(period_sightings.last_seen_at, excluded.last_seen_at)
            """
        ),
        {"c": community_id, "p": period_id},
    )


async def unlinked(session: AsyncSession, *, community_id: int, period_id: int, at: datetime) -> None:
    """A group's link to a period ended (sightings made while linked keep counting for it)."""
    await session.execute(
        text(
            """
            UPDATE community_links SET unlinked_at = :at
            WHERE community_id = :c AND period_id = :p AND linked_at <= :at
              AND (unlinked_at IS NULL OR unlinked_at > :at)
            """
        ),
        {"c": community_id, "p": period_id, "at": at},
    )


async def merge_member(session: AsyncSession, *, from_no: int, into_no: int) -> None:
    """Re-key a merged member's sightings."""
    params = {"from": from_no, "into": into_no}
    await session.execute(
        text(
            """
            INSERT INTO period_sightings (period_id, community_id, member_no, first_seen_at, last_seen_at)
            SELECT period_id, community_id, :into, first_seen_at, last_seen_at FROM period_sightings
            WHERE member_no = :from
            ON CONFLICT (period_id, community_id, member_no) DO UPDATE SET
              first_seen_at = LEAST(period_sightings.first_seen_at, excluded.first_seen_at),
              last_seen_at = GREATEST(period_sightings.last_seen_at, excluded.last_seen_at)
            """
        ),
        params,
    )
    await session.execute(text("DELETE FROM period_sightings WHERE member_no = :from"), params)
    await session.execute(
        text(
            """
            INSERT INTO community_member_facts (community_id, member_no, first_seen_at, last_seen_at, sightings)
            SELECT community_id, :into, first_seen_at, last_seen_at, sightings FROM community_member_facts
            WHERE member_no = :from
            ON CONFLICT (community_id, member_no) DO UPDATE SET
              first_seen_at = LEAST(community_member_facts.first_seen_at, excluded.first_seen_at),
              last_seen_at = GREATEST(community_member_facts.last_seen_at, excluded.last_seen_at),
              sightings = community_member_facts.sightings + excluded.sightings
            """
        ),
        params,
    )
    await session.execute(text("DELETE FROM community_member_facts WHERE member_no = :from"), params)


async def seen_after(
    session: AsyncSession, *, period_ids: list[int], member_nos: list[int], after: datetime
) -> set[int]:
    """Of ``member_nos``, those seen after ``after`` in a group of one of ``period_ids``."""
    rows = await session.scalars(
        text(
            """
            SELECT DISTINCT m.member_no FROM community_member_facts m
            JOIN community_facts c USING (community_id)
            WHERE c.period_id = ANY(CAST(:ps AS bigint[])) AND m.member_no = ANY(CAST(:ms AS bigint[]))
              AND m.last_seen_at > :after
            """
        ),
        {"ps": period_ids, "ms": member_nos, "after": after},
    )
    return {int(m) for m in rows}


async def mp_active_between(
    session: AsyncSession, *, member_nos: list[int], first: date, last: date
) -> set[int]:
    """Of ``member_nos``, those active in the mini-program on a day in ``[first, last]``."""
    active = await bitmaps.union(session, kind=bitmaps.MINI_PROGRAM, first=first, last=last)
    return {m for m in member_nos if m in active}


async def groups(session: AsyncSession, *, series_id: int | None) -> list[dict[str, Any]]:
    """Groups with their period and series (one series, or all)."""
    rows = await session.execute(
        text(
            """
            SELECT c.community_id, c.open_gid, c.period_id, p.series_id, c.first_seen_at, c.last_seen_at
            FROM community_facts c LEFT JOIN period_facts p USING (period_id)
            WHERE CAST(:s AS bigint) IS NULL OR p.series_id = :s
            ORDER BY c.community_id
            """
        ),
        {"s": series_id},
    )
    return [dict(r) for r in rows.mappings()]


async def members_by_group(session: AsyncSession, community_ids: list[int]) -> dict[int, BitMap]:
    """The members seen in each group."""
    rows = await session.execute(
        text(
            """
            SELECT community_id, array_agg(member_no) FROM community_member_facts
            WHERE community_id = ANY(CAST(:cs AS bigint[])) GROUP BY community_id
            """
        ),
        {"cs": community_ids},
    )
    return {int(c): bitmaps.bitmap(members) for c, members in rows}
