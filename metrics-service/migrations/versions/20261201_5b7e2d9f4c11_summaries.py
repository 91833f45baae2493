"""summaries

Pre-aggregated structures of the renewal, cohort, channel and community
figures, maintained at ingest (metrics_service.summaries): period bitmaps
(members, seen after the period ended), cohort bitmaps (source, destination)
with each member's current keys, channel funnel rows per member and their
per-day counts, and group member bitmaps.

Revision ID: 5b7e2d9f4c11
Revises: 3d9b1f0c7a21
Create Date: 2026-12-01 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b7e2d9f4c11"
down_revision: str | None = "3d9b1f0c7a21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "period_bitmaps",
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("members", sa.LargeBinary(), nullable=False),
        sa.Column("cardinality", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("period_id", "kind", name=op.f("pk_period_bitmaps")),
    )
    op.create_table(
        "cohort_bitmaps",
        sa.Column("view", sa.Text(), nullable=False),
        sa.Column("key_kind", sa.Text(), nullable=False),
        sa.Column("key_id", sa.BigInteger(), nullable=False),
        sa.Column("scene", sa.Text(), nullable=True),
        sa.Column("members", sa.LargeBinary(), nullable=False),
        sa.Column("cardinality", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("view", "key_kind", "key_id", name=op.f("pk_cohort_bitmaps")),
    )
    op.create_table(
        "member_cohorts",
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("source_kind", sa.Text(), nullable=True),
        sa.Column("source_id", sa.BigInteger(), nullable=True),
        sa.Column("source_scene", sa.Text(), nullable=True),
        sa.Column("destination_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("member_no", name=op.f("pk_member_cohorts")),
    )
    op.create_table(
        "channel_members",
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scene", sa.Text(), nullable=False),
        sa.Column("followed", sa.Boolean(), nullable=False),
        sa.Column("registered", sa.Boolean(), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("renewed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "member_no", name=op.f("pk_channel_members")),
    )
    op.create_index(op.f("ix_channel_members_member_no"), "channel_members", ["member_no"])
    op.create_table(
        "channel_days",
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scene", sa.Text(), nullable=False),
        *(
            sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)
            for name in ("scanned", "followed", "registered", "paid", "completed", "renewed")
        ),
        sa.PrimaryKeyConstraint("channel_id", "day", name=op.f("pk_channel_days")),
    )
    op.create_table(
        "community_bitmaps",
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("members", sa.LargeBinary(), nullable=False),
        sa.Column("cardinality", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("community_id", name=op.f("pk_community_bitmaps")),
    )
    # The fallback queries behind seen_after read sightings of a group after a moment.
    op.create_index("ix_community_member_facts_group_last_seen", "community_member_facts",
                    ["community_id", "last_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_community_member_facts_group_last_seen", table_name="community_member_facts")
    for table in ("community_bitmaps", "channel_days", "channel_members", "member_cohorts", "cohort_bitmaps",
                  "period_bitmaps"):
        op.drop_table(table)
