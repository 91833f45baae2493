"""period reminder time

Revision ID: b3f1c8a2d4e6
Revises: 9e4b2c7d1a55
Create Date: 2026-12-01 13:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b3f1c8a2d4e6'
down_revision: str | None = '9e4b2c7d1a55'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('periods', sa.Column('reminder_time', sa.Text(), nullable=True))
    op.create_check_constraint(
        'reminder_time_hh_mm', 'periods', "reminder_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'"
    )


def downgrade() -> None:
    op.drop_constraint('ck_periods_reminder_time_hh_mm', 'periods', type_='check')
    op.drop_column('periods', 'reminder_time')
