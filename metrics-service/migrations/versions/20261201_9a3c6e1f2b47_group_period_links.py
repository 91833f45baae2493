"""group period links

A group's links to periods from campaign.community.linked / .unlinked
(community_links), and each sighting recorded for the periods it counts for
(period_sightings: the periods the sighting event names, else the group's
links at that moment, else the inferred period). Existing sightings are
carried over under their group's inferred period. Per-period figures
(period_summaries), recomputed when a period's facts change.

Revision ID: 9a3c6e1f2b47
Revises: 5b7e2d9f4c11
Create Date: 2026-12-01 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9a3c6e1f2b47"
down_revision: str | None = "5b7e2d9f4c11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "community_links",
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("series_id", sa.BigInteger(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unlinked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("community_id", "period_id", name=op.f("pk_community_links")),
    )
    op.create_table(
        "period_sightings",
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("period_id", "community_id", "member_no", name=op.f("pk_period_sightings")),
    )
    op.create_index("ix_period_sightings_period_last_seen", "period_sightings", ["period_id", "last_seen_at"])
    op.create_index(op.f("ix_period_sightings_member_no"), "period_sightings", ["member_no"])
    # One row per period: its figure, recomputed by the batch that changed its facts.
    op.create_table(
        "period_summaries",
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("figure", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("period_id", name=op.f("pk_period_summaries")),
    )
    op.execute(
        """
        INSERT INTO period_sightings (period_id, community_id, member_no, first_seen_at, last_seen_at)
        SELECT c.period_id, m.community_id, m.member_no, m.first_seen_at, m.last_seen_at
        FROM community_member_facts m JOIN community_facts c USING (community_id) WHERE c.period_id IS NOT NULL
        """
    )


def downgrade() -> None:
    op.drop_table("period_summaries")
    op.drop_table("period_sightings")
    op.drop_table("community_links")
