"""member last login day

The returning-login statement moves members.last_login_day (an Asia/Shanghai
date) and emits identity.member.logged_in only when it changed.

Revision ID: 7e2a9c4b5d10
Revises: 4c241518f55b
Create Date: 2026-12-01 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7e2a9c4b5d10'
down_revision: str | None = '4c241518f55b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("members", sa.Column("last_login_day", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("members", "last_login_day")
