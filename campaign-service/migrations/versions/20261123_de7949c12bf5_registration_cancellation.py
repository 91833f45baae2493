"""registration cancellation

Revision ID: de7949c12bf5
Revises: a051d486ff0c
Create Date: 2026-11-23 10:59:15.774124
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'de7949c12bf5'
down_revision: str | None = 'a051d486ff0c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('registrations', sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('registrations', sa.Column('cancel_reason', sa.Text(), nullable=True))
    op.add_column('registrations', sa.Column('cancelled_by_kind', sa.Text(), nullable=True))
    op.add_column('registrations', sa.Column('cancelled_by', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column('registrations', 'cancelled_by')
    op.drop_column('registrations', 'cancelled_by_kind')
    op.drop_column('registrations', 'cancel_reason')
    op.drop_column('registrations', 'cancelled_at')
