"""initial schema

Revision ID: 578a0a47465e
Revises:
Create Date: 2026-11-23 09:52:45.564286
"""

from collections.abc import Sequence

from shared.migrations import create_shared_tables, drop_shared_tables

revision: str = "578a0a47465e"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_shared_tables()


def downgrade() -> None:
    drop_shared_tables()
