"""callback dedupe

Revision ID: b99c4cea9667
Revises: c31ade422dc9
Create Date: 2026-11-23 10:17:23.033361
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b99c4cea9667'
down_revision: str | None = 'c31ade422dc9'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('received_pay_notifications',
    sa.Column('notification_id', sa.Text(), nullable=False),
    sa.Column('event_type', sa.Text(), nullable=False),
    sa.Column('out_trade_no', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('notification_id', name=op.f('pk_received_pay_notifications'))
    )
    op.create_index(op.f('ix_received_pay_notifications_out_trade_no'), 'received_pay_notifications', ['out_trade_no'], unique=False)
    op.create_table('received_pushes',
    sa.Column('dedupe_key', sa.Text(), nullable=False),
    sa.Column('app', sa.Text(), nullable=False),
    sa.Column('openid', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('dedupe_key', name=op.f('pk_received_pushes'))
    )
    op.create_index(op.f('ix_received_pushes_received_at'), 'received_pushes', ['received_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_received_pushes_received_at'), table_name='received_pushes')
    op.drop_table('received_pushes')
    op.drop_index(op.f('ix_received_pay_notifications_out_trade_no'), table_name='received_pay_notifications')
    op.drop_table('received_pay_notifications')
