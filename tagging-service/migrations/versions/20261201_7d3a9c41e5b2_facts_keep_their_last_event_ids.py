"""facts keep their last event ids

Each projection row keeps the last few event ids behind it (newest first,
at most ``EVIDENCE_EVENTS``), so a rule application can name the events that
made its condition true without an event store lookup.

Revision ID: 7d3a9c41e5b2
Revises: 5b7e1d0c2a94
Create Date: 2026-12-01 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7d3a9c41e5b2"
down_revision: str | None = "5b7e1d0c2a94"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("member_periods", "group_sightings", "daily_activity", "daily_quiz")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("event_ids", postgresql.ARRAY(sa.Uuid()),
                                       server_default=sa.text("'{}'::uuid[]"), nullable=False))
    op.add_column("member_checkins", sa.Column("event_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("member_checkins", "event_id")
    for table in TABLES:
        op.drop_column(table, "event_ids")
