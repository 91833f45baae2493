"""retention pairs and lifecycle days

Counts derived from the day bitmaps and kept beside them
(``metrics_service.activity.transitions``): per first-seen day and later day
up to 60 days on, how many of that day's new members were active
(``retention_days``); per day, its new / returning / resurrecting / dormant
members against the day before (``lifecycle_days``). Retention and lifecycle
at day granularity read these rows instead of intersecting day bitmaps.

Revision ID: b4d8e2a61f95
Revises: 6e2a9c4d1b73
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "b4d8e2a61f95"
down_revision: str | None = "6e2a9c4d1b73"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HORIZON = 60


def upgrade() -> None:
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
    # Existing installations: the counts of the day bitmaps already kept (the same rules as the module's).
    from pyroaring import BitMap

    bind = op.get_bind()
    maps = {
        (kind, day): BitMap.deserialize(bytes(stored))
        for kind, day, stored in bind.execute(
            sa.text("SELECT kind, day, members FROM day_bitmaps WHERE kind IN ('any', 'new') AND cardinality > 0")
        )
    }
    empty = BitMap()
    for (kind, cohort), fresh in maps.items():
        if kind != "new":
            continue
        for k in range(HORIZON + 1):
            active = maps.get(("any", cohort + timedelta(days=k)))
            if active is not None:
                bind.execute(
                    sa.text("INSERT INTO retention_days VALUES (:c, :d, :n)"),
                    {"c": cohort, "d": cohort + timedelta(days=k), "n": fresh.intersection_cardinality(active)},
                )
    days = {day for _, day in maps} | {day + timedelta(days=1) for kind, day in maps if kind == "any"}
    for day in sorted(days):
        now, fresh = maps.get(("any", day), empty), maps.get(("new", day), empty)
        previous = maps.get(("any", day - timedelta(days=1)), empty)
        old = now - fresh
        returning = old.intersection_cardinality(previous)
        bind.execute(
            sa.text("INSERT INTO lifecycle_days VALUES (:d, :a, :b, :c, :e)"),
            {"d": day, "a": len(fresh), "b": returning, "c": len(old) - returning,
             "e": len(previous) - previous.intersection_cardinality(now)},
        )


def downgrade() -> None:
    op.drop_table("lifecycle_days")
    op.drop_table("retention_days")
