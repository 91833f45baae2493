"""retention pairs and lifecycle buckets for weeks and months too

``retention_days`` / ``lifecycle_days`` kept the counts of day buckets only;
``retention_pairs`` / ``lifecycle_buckets`` keep them per unit (day, ISO
week, calendar month) from the day and span bitmaps
(``metrics_service.activity.transitions``), so retention and lifecycle read
kept rows at every granularity and intersect bitmaps only for the buckets a
range cuts.

Revision ID: c7f1a9e3d2b6
Revises: b4d8e2a61f95
Create Date: 2026-12-01 20:20:00
"""

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "c7f1a9e3d2b6"
down_revision: str | None = "b4d8e2a61f95"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HORIZON = 60


def _next(start: date, unit: str) -> date:
    if unit == "week":
        return start + timedelta(days=7)
    if unit == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def _previous(start: date, unit: str) -> date:
    if unit == "week":
        return start - timedelta(days=7)
    if unit == "month":
        return (start - timedelta(days=1)).replace(day=1)
    return start - timedelta(days=1)


def upgrade() -> None:
    op.drop_table("lifecycle_days")
    op.drop_table("retention_days")
    op.create_table(
        "retention_pairs",
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("cohort", sa.Date(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit", "cohort", "start", name=op.f("pk_retention_pairs")),
    )
    op.create_table(
        "lifecycle_buckets",
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("resurrected", sa.Integer(), nullable=False),
        sa.Column("dormant", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit", "start", name=op.f("pk_lifecycle_buckets")),
    )
    # Existing installations: the counts of the bitmaps already kept (the module's rules).
    from pyroaring import BitMap

    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT kind, 'day', day, members FROM day_bitmaps WHERE kind IN ('any', 'new') AND cardinality > 0"
            " UNION ALL SELECT kind, unit, start, members FROM span_bitmaps"
            " WHERE kind IN ('any', 'new') AND cardinality > 0"
        )
    )
    maps = {(kind, unit, start): BitMap.deserialize(bytes(stored)) for kind, unit, start, stored in rows}
    empty = BitMap()
    buckets = set()
    for (kind, unit, cohort), fresh in maps.items():
        buckets.add((unit, cohort))
        if kind == "any":
            buckets.add((unit, _next(cohort, unit)))
            continue
        start = cohort
        for _ in range(HORIZON + 1):
            active = maps.get(("any", unit, start))
            if active is not None:
                bind.execute(
                    sa.text("INSERT INTO retention_pairs VALUES (:u, :c, :s, :n)"),
                    {"u": unit, "c": cohort, "s": start, "n": fresh.intersection_cardinality(active)},
                )
            start = _next(start, unit)
    for unit, start in sorted(buckets):
        now, fresh = maps.get(("any", unit, start), empty), maps.get(("new", unit, start), empty)
        previous = maps.get(("any", unit, _previous(start, unit)), empty)
        old = now - fresh
        returning = old.intersection_cardinality(previous)
        bind.execute(
            sa.text("INSERT INTO lifecycle_buckets VALUES (:u, :s, :a, :b, :c, :d)"),
            {"u": unit, "s": start, "a": len(fresh), "b": returning, "c": len(old) - returning,
             "d": len(previous) - previous.intersection_cardinality(now)},
        )


def downgrade() -> None:
    op.drop_table("lifecycle_buckets")
    op.drop_table("retention_pairs")
    op.create_table(
        "retention_days",
        sa.Column("cohort", sa.Date(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("cohort", "day", name=op.f("pk_retention_days")),
    )
    op.create_table(
        "lifecycle_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("resurrected", sa.Integer(), nullable=False),
        sa.Column("dormant", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_lifecycle_days")),
    )
