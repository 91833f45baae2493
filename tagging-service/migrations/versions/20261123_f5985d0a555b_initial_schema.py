"""initial schema

Revision ID: f5985d0a555b
Revises:
Create Date: 2026-11-23 09:52:43.978338
"""

from collections.abc import Sequence

from shared.migrations import create_shared_tables, drop_shared_tables

revision: str = "f5985d0a555b"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_shared_tables()


def downgrade() -> None:
    drop_shared_tables()
