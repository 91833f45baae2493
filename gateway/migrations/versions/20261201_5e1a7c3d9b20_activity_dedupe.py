"""activity dedupe

Client event ids of mini-program activity items already recorded, so a
retried batch is published once.

Revision ID: 5e1a7c3d9b20
Revises: c0dc334d58c0
Create Date: 2026-12-01 10:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5e1a7c3d9b20'
down_revision: str | None = 'c0dc334d58c0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('received_activity',
    sa.Column('member_no', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('member_no', 'event_id', name=op.f('pk_received_activity'))
    )
    op.create_index(op.f('ix_received_activity_received_at'), 'received_activity', ['received_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_received_activity_received_at'), table_name='received_activity')
    op.drop_table('received_activity')
