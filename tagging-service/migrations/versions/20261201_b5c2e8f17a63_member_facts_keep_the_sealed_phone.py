"""member facts keep the sealed phone

``identity.member.phone_bound`` now carries the full number sealed
(``shared.sealing``); tagging keeps it sealed and opens it only for a segment
export by a staff role allowed to see phones.

Revision ID: b5c2e8f17a63
Revises: 9e41b7c3d2a8
Create Date: 2026-12-01 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b5c2e8f17a63"
down_revision: str | None = "9e41b7c3d2a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("member_facts", sa.Column("phone_sealed", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("member_facts", "phone_sealed")
