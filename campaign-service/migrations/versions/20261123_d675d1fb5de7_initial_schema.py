"""initial schema

Revision ID: d675d1fb5de7
Revises:
Create Date: 2026-11-23 09:52:42.218603
"""

from collections.abc import Sequence

from shared.migrations import create_shared_tables, drop_shared_tables

revision: str = "d675d1fb5de7"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_shared_tables()


def downgrade() -> None:
    drop_shared_tables()
