"""day bitmaps

Roaring bitmaps of the members active, active in the mini-program and new on
each local day: distinct members over a range become unions of compressed sets.

Revision ID: 3d9b1f0c7a21
Revises: 8c1e5a7d3b90
Create Date: 2026-12-01 10:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3d9b1f0c7a21"
down_revision: str | None = "8c1e5a7d3b90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "day_bitmaps",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("members", sa.LargeBinary(), nullable=False),
        sa.Column("cardinality", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", name=op.f("pk_day_bitmaps")),
    )


def downgrade() -> None:
    op.drop_table("day_bitmaps")
