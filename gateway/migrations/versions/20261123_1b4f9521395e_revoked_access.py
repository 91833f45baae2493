"""revoked access

Revision ID: 1b4f9521395e
Revises: b99c4cea9667
Create Date: 2026-11-23 11:30:29.105695
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '1b4f9521395e'
down_revision: str | None = 'b99c4cea9667'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('revoked_access',
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'subject', name=op.f('pk_revoked_access'))
    )
    op.create_index(op.f('ix_revoked_access_revoked_at'), 'revoked_access', ['revoked_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_revoked_access_revoked_at'), table_name='revoked_access')
    op.drop_table('revoked_access')
