"""communities link many periods

Revision ID: 7c1e5a9b3d20
Revises: 46523a2d7c2e
Create Date: 2026-12-01 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '7c1e5a9b3d20'
down_revision: str | None = '46523a2d7c2e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'community_periods',
        sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column('community_id', sa.BigInteger(), nullable=False),
        sa.Column('period_id', sa.BigInteger(), nullable=False),
        sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('unlinked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_periods_community_id_communities')),
        sa.ForeignKeyConstraint(['period_id'], ['periods.id'], name=op.f('fk_community_periods_period_id_periods')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_community_periods')),
    )
    op.create_index(op.f('ix_community_periods_community_id'), 'community_periods', ['community_id'])
    op.create_index(op.f('ix_community_periods_period_id'), 'community_periods', ['period_id'])
    op.create_index('uq_community_periods_current', 'community_periods', ['community_id', 'period_id'],
                    unique=True, postgresql_where=sa.text('unlinked_at IS NULL'))
    # Today's links carry over as current links from the time they were made.
    op.execute(
        "INSERT INTO community_periods (community_id, period_id, linked_at) "
        "SELECT id, period_id, coalesce(linked_at, first_seen_at) FROM communities WHERE period_id IS NOT NULL"
    )
    op.add_column('community_sightings', sa.Column(
        'period_ids', postgresql.ARRAY(sa.BigInteger()), server_default=sa.text("'{}'"), nullable=False))
    op.execute("UPDATE community_sightings SET period_ids = ARRAY[period_id] WHERE period_id IS NOT NULL")


def downgrade() -> None:
    op.drop_column('community_sightings', 'period_ids')
    op.drop_index('uq_community_periods_current', table_name='community_periods')
    op.drop_index(op.f('ix_community_periods_period_id'), table_name='community_periods')
    op.drop_index(op.f('ix_community_periods_community_id'), table_name='community_periods')
    op.drop_table('community_periods')
