"""initial schema

Revision ID: 1f3a0414243c
Revises:
Create Date: 2026-11-23 09:46:36.856641
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import create_shared_tables, drop_shared_tables

revision: str = "1f3a0414243c"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "daily_counters",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("value", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", name=op.f("pk_daily_counters")),
    )
    op.create_table(
        "member_facts",
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seen_date", sa.Date(), nullable=False),
        sa.Column("first_app", sa.Text(), nullable=False),
        sa.Column("channel_scene", sa.Text(), nullable=True),
        sa.Column("merged_into", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("member_no", name=op.f("pk_member_facts")),
    )
    op.create_index(op.f("ix_member_facts_first_seen_date"), "member_facts", ["first_seen_date"], unique=False)
    create_shared_tables()


def downgrade() -> None:
    drop_shared_tables()
    op.drop_index(op.f("ix_member_facts_first_seen_date"), table_name="member_facts")
    op.drop_table("member_facts")
    op.drop_table("daily_counters")
