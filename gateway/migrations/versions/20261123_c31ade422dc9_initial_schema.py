"""initial schema

Revision ID: c31ade422dc9
Revises:
Create Date: 2026-11-23 09:50:13.603621
"""

from collections.abc import Sequence

from shared.migrations import create_shared_tables, drop_shared_tables

revision: str = "c31ade422dc9"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_shared_tables()


def downgrade() -> None:
    drop_shared_tables()
