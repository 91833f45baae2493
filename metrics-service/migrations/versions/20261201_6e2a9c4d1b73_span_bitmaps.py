"""span bitmaps, merged-member index

Roaring bitmaps of the members active / active in the mini-program / new in
each ISO week and calendar month (Asia/Shanghai days), kept at ingest beside
the day bitmaps, so range figures read one row per interval; a partial index
of merged members, so the member total is a counter sum minus a small count.

Revision ID: 6e2a9c4d1b73
Revises: 9a3c6e1f2b47
Create Date: 2026-12-01 16:40:00
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "6e2a9c4d1b73"
down_revision: str | None = "9a3c6e1f2b47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "span_bitmaps",
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("members", sa.LargeBinary(), nullable=False),
        sa.Column("cardinality", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("unit", "start", "kind", name=op.f("pk_span_bitmaps")),
    )
    # Roaring bitmaps of spread members do not compress: skip pglz's attempt on every write.
    op.execute("ALTER TABLE span_bitmaps ALTER COLUMN members SET STORAGE EXTERNAL")
    op.execute("ALTER TABLE day_bitmaps ALTER COLUMN members SET STORAGE EXTERNAL")
    op.create_index(
        "ix_member_facts_merged", "member_facts", ["member_no"], postgresql_where=sa.text("merged_into IS NOT NULL")
    )
    # Existing installations: the weeks and months of the day bitmaps already kept (their unions).
    from pyroaring import BitMap

    bind = op.get_bind()
    spans: dict[tuple[str, object, str], BitMap] = {}
    for day, kind, stored in bind.execute(sa.text("SELECT day, kind, members FROM day_bitmaps")):
        if not stored:
            continue
        members = BitMap.deserialize(bytes(stored))
        for unit, start in (("week", day - timedelta(days=day.weekday())), ("month", day.replace(day=1))):
            spans.setdefault((unit, start, kind), BitMap()).update(members)
    for (unit, start, kind), members in spans.items():
        bind.execute(
            sa.text("INSERT INTO span_bitmaps VALUES (:u, :s, :k, :m, :n)"),
            {"u": unit, "s": start, "k": kind, "m": members.serialize(), "n": len(members)},
        )


def downgrade() -> None:
    op.drop_index("ix_member_facts_merged", table_name="member_facts")
    op.drop_table("span_bitmaps")
