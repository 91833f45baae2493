"""auto replies

Revision ID: cd66d096dd29
Revises: 578a0a47465e
Create Date: 2026-11-23 10:17:43.700292
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'cd66d096dd29'
down_revision: str | None = '578a0a47465e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('auto_replies',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('keyword', sa.Text(), nullable=False),
    sa.Column('match', sa.Text(), server_default='exact', nullable=False),
    sa.Column('app', sa.Text(), server_default='all', nullable=False),
    sa.Column('reply', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('updated_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auto_replies')),
    sa.UniqueConstraint('keyword', 'match', 'app', name=op.f('uq_auto_replies_keyword_match_app'))
    )


def downgrade() -> None:
    op.drop_table('auto_replies')
