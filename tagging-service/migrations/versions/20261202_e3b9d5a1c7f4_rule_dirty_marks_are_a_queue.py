"""rule dirty marks are a queue: one row per mark, none merged into another

A mark merged into a member's existing row (``ON CONFLICT DO NOTHING``) could
be lost: a staff member removes a tag while the rule sweep takes that
member's row; the sweep judges the member before the removal commits, and
the removal's mark went into the row the sweep consumed. A mark is now a row
of its own (``id``), invisible to the sweep until its transaction commits, so
the sweep that sees it also sees the change behind it. The sweep takes a
member's rows together and judges the member once.

Revision ID: e3b9d5a1c7f4
Revises: 4c1f7a2e9d06
Create Date: 2026-12-02 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e3b9d5a1c7f4"
down_revision: str | None = "4c1f7a2e9d06"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("pk_rule_dirty_members", "rule_dirty_members", type_="primary")
    op.add_column("rule_dirty_members", sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False))
    op.create_primary_key("pk_rule_dirty_members", "rule_dirty_members", ["id"])


def downgrade() -> None:
    op.execute("DELETE FROM rule_dirty_members a USING rule_dirty_members b "
               "WHERE a.member_no = b.member_no AND a.id > b.id")
    op.drop_constraint("pk_rule_dirty_members", "rule_dirty_members", type_="primary")
    op.drop_column("rule_dirty_members", "id")
    op.create_primary_key("pk_rule_dirty_members", "rule_dirty_members", ["member_no"])
