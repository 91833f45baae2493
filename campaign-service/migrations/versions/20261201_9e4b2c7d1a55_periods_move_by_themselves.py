"""periods move by themselves

Revision ID: 9e4b2c7d1a55
Revises: 7c1e5a9b3d20
Create Date: 2026-12-01 10:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '9e4b2c7d1a55'
down_revision: str | None = '7c1e5a9b3d20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('periods', sa.Column('late_join', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('periods', sa.Column('auto_settle', sa.Boolean(), server_default=sa.text('true'), nullable=False))
    op.add_column('periods', sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint(op.f('ck_periods_state_known'), 'periods', type_='check')
    op.create_check_constraint(
        op.f('ck_periods_state_known'), 'periods',
        "state IN ('draft','open','running','closed','settled','cancelled')",
    )
    op.create_table(
        'period_transitions',
        sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column('period_id', sa.BigInteger(), nullable=False),
        sa.Column('from_state', sa.Text(), nullable=False),
        sa.Column('to_state', sa.Text(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('by_kind', sa.Text(), nullable=False),
        sa.Column('by_id', sa.BigInteger(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['period_id'], ['periods.id'], name=op.f('fk_period_transitions_period_id_periods')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_period_transitions')),
    )
    op.create_index(op.f('ix_period_transitions_period_id'), 'period_transitions', ['period_id'])
    # The moves made before this history existed, from the timestamps the periods kept.
    op.execute(
        "INSERT INTO period_transitions (period_id, from_state, to_state, at, by_kind, note) "
        "SELECT id, '', 'open', opened_at, 'unknown', 'before history was kept' FROM periods "
        "WHERE opened_at IS NOT NULL "
        "UNION ALL SELECT id, 'running', 'closed', closed_at, 'unknown', 'before history was kept' FROM periods "
        "WHERE closed_at IS NOT NULL "
        "UNION ALL SELECT id, 'closed', 'settled', settled_at, 'unknown', 'before history was kept' FROM periods "
        "WHERE settled_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_period_transitions_period_id'), table_name='period_transitions')
    op.drop_table('period_transitions')
    op.drop_constraint(op.f('ck_periods_state_known'), 'periods', type_='check')
    op.create_check_constraint(
        op.f('ck_periods_state_known'), 'periods', "state IN ('draft','open','running','closed','settled')"
    )
    op.drop_column('periods', 'cancelled_at')
    op.drop_column('periods', 'auto_settle')
    op.drop_column('periods', 'late_join')
