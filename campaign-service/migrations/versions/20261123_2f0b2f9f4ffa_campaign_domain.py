"""campaign domain

Revision ID: 2f0b2f9f4ffa
Revises: d675d1fb5de7
Create Date: 2026-11-23 10:23:38.480971
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '2f0b2f9f4ffa'
down_revision: str | None = 'd675d1fb5de7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('blocked_members',
    sa.Column('member_no', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('blocked_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('member_no', name=op.f('pk_blocked_members'))
    )
    op.create_table('idempotency_records',
    sa.Column('member_no', sa.BigInteger(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('request_hash', sa.Text(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('member_no', 'scope', 'key', name=op.f('pk_idempotency_records'))
    )
    op.create_index(op.f('ix_idempotency_records_created_at'), 'idempotency_records', ['created_at'], unique=False)
    op.create_table('series',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_series'))
    )
    op.create_table('periods',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('series_id', sa.BigInteger(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('state', sa.Text(), server_default='draft', nullable=False),
    sa.Column('registration_opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('registration_closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('timezone', sa.Text(), server_default='Asia/Shanghai', nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('taken', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('fee_fen', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('checkin_plan', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('refund_rule', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("state IN ('draft','open','running','closed','settled')", name=op.f('ck_periods_state_known')),
    sa.CheckConstraint('fee_fen >= 0', name=op.f('ck_periods_fee_not_negative')),
    sa.CheckConstraint('taken >= 0 AND taken <= capacity', name=op.f('ck_periods_taken_within_capacity')),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_periods_series_id_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_periods')),
    sa.UniqueConstraint('series_id', 'number', name=op.f('uq_periods_series_id_number'))
    )
    op.create_index(op.f('ix_periods_series_id'), 'periods', ['series_id'], unique=False)
    op.create_table('registrations',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('period_id', sa.BigInteger(), nullable=False),
    sa.Column('member_no', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('fee_fen', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['period_id'], ['periods.id'], name=op.f('fk_registrations_period_id_periods')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registrations'))
    )
    op.create_index(op.f('ix_registrations_member_no'), 'registrations', ['member_no'], unique=False)
    op.create_index(op.f('ix_registrations_period_id'), 'registrations', ['period_id'], unique=False)
    op.create_index('uq_registrations_active', 'registrations', ['period_id', 'member_no'], unique=True, postgresql_where=sa.text("state IN ('awaiting_payment', 'confirmed')"))
    op.create_table('checkins',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('period_id', sa.BigInteger(), nullable=False),
    sa.Column('registration_id', sa.BigInteger(), nullable=False),
    sa.Column('member_no', sa.BigInteger(), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('text', sa.Text(), server_default='', nullable=False),
    sa.Column('images', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('late', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.Column('voided_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['period_id'], ['periods.id'], name=op.f('fk_checkins_period_id_periods')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_checkins_registration_id_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkins')),
    sa.UniqueConstraint('period_id', 'member_no', 'local_date', name=op.f('uq_checkins_period_id_member_no_local_date'))
    )
    op.create_index(op.f('ix_checkins_member_no'), 'checkins', ['member_no'], unique=False)
    op.create_index(op.f('ix_checkins_registration_id'), 'checkins', ['registration_id'], unique=False)
    op.create_table('orders',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('registration_id', sa.BigInteger(), nullable=False),
    sa.Column('period_id', sa.BigInteger(), nullable=False),
    sa.Column('member_no', sa.BigInteger(), nullable=False),
    sa.Column('out_trade_no', sa.Text(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('state', sa.Text(), server_default='created', nullable=False),
    sa.Column('prepay_id', sa.Text(), nullable=True),
    sa.Column('transaction_id', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_orders_registration_id_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('out_trade_no', name=op.f('uq_orders_out_trade_no'))
    )
    op.create_index(op.f('ix_orders_member_no'), 'orders', ['member_no'], unique=False)
    op.create_index('ix_orders_pending_expiry', 'orders', ['expires_at'], unique=False, postgresql_where=sa.text("state = 'created'"))
    op.create_index(op.f('ix_orders_registration_id'), 'orders', ['registration_id'], unique=False)
    op.create_table('refunds',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('period_id', sa.BigInteger(), nullable=False),
    sa.Column('registration_id', sa.BigInteger(), nullable=False),
    sa.Column('member_no', sa.BigInteger(), nullable=False),
    sa.Column('out_trade_no', sa.Text(), nullable=True),
    sa.Column('out_refund_no', sa.Text(), nullable=False),
    sa.Column('fee_fen', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('checked_days', sa.Integer(), nullable=False),
    sa.Column('planned_days', sa.Integer(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('wechat_refund_id', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['period_id'], ['periods.id'], name=op.f('fk_refunds_period_id_periods')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_refunds_registration_id_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('out_refund_no', name=op.f('uq_refunds_out_refund_no')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_refunds_registration_id'))
    )
    op.create_index('ix_refunds_due', 'refunds', ['next_attempt_at'], unique=False, postgresql_where=sa.text("state = 'pending'"))
    op.create_index(op.f('ix_refunds_member_no'), 'refunds', ['member_no'], unique=False)
    op.create_index(op.f('ix_refunds_period_id'), 'refunds', ['period_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_refunds_period_id'), table_name='refunds')
    op.drop_index(op.f('ix_refunds_member_no'), table_name='refunds')
    op.drop_index('ix_refunds_due', table_name='refunds', postgresql_where=sa.text("state = 'pending'"))
    op.drop_table('refunds')
    op.drop_index(op.f('ix_orders_registration_id'), table_name='orders')
    op.drop_index('ix_orders_pending_expiry', table_name='orders', postgresql_where=sa.text("state = 'created'"))
    op.drop_index(op.f('ix_orders_member_no'), table_name='orders')
    op.drop_table('orders')
    op.drop_index(op.f('ix_checkins_registration_id'), table_name='checkins')
    op.drop_index(op.f('ix_checkins_member_no'), table_name='checkins')
    op.drop_table('checkins')
    op.drop_index('uq_registrations_active', table_name='registrations', postgresql_where=sa.text("state IN ('awaiting_payment', 'confirmed')"))
    op.drop_index(op.f('ix_registrations_period_id'), table_name='registrations')
    op.drop_index(op.f('ix_registrations_member_no'), table_name='registrations')
    op.drop_table('registrations')
    op.drop_index(op.f('ix_periods_series_id'), table_name='periods')
    op.drop_table('periods')
    op.drop_table('series')
    op.drop_index(op.f('ix_idempotency_records_created_at'), table_name='idempotency_records')
    op.drop_table('idempotency_records')
    op.drop_table('blocked_members')
