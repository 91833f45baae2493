"""periods: when they started and their own check-in reminder time

Revision ID: 7d1c0e4b9a21
Revises: 52dfe2e199bb
Create Date: 2026-12-01 13:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7d1c0e4b9a21'
down_revision: str | None = '52dfe2e199bb'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('campaign_periods', sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('campaign_periods', sa.Column('started_on', sa.Date(), nullable=True))
    op.add_column('campaign_periods', sa.Column('reminder_time', sa.Time(), nullable=True))
    op.add_column('campaign_periods', sa.Column('series_id', sa.BigInteger(), nullable=True))
    op.add_column('campaign_periods', sa.Column('number', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column('campaign_periods', 'number')
    op.drop_column('campaign_periods', 'series_id')
    op.drop_column('campaign_periods', 'reminder_time')
    op.drop_column('campaign_periods', 'started_on')
    op.drop_column('campaign_periods', 'started_at')
