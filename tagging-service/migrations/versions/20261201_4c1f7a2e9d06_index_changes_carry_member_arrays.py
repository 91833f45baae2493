"""index changes carry member arrays; the expiry index holds only expiring tags

A bulk application (a rule's back-fill chunk, a staff bulk tagging) logs one
``index_changes`` row with every member it changed in ``member_nos`` instead
of one row per member: a back-fill wrote a row and two index entries per
application only for the bitmaps to read them back as one run. ``member_no``
stays for single changes (and rows written before this revision).

``ix_member_tags_expires_at`` indexed every member tag, NULL expiries
included, though the expiry sweep only ever looks for tags that expire: it
is now partial, so an application without expiry writes one index entry
less.

Revision ID: 4c1f7a2e9d06
Revises: b5c2e8f17a63
Create Date: 2026-12-01 23:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "4c1f7a2e9d06"
down_revision: str | None = "b5c2e8f17a63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("index_changes", "member_no", existing_type=sa.BigInteger(), nullable=True)
    op.add_column("index_changes", sa.Column("member_nos", postgresql.ARRAY(sa.BigInteger()), nullable=True))
    op.create_check_constraint("ck_index_changes_names_members", "index_changes",
                               "member_no IS NOT NULL OR member_nos IS NOT NULL")
    op.drop_index("ix_member_tags_expires_at", table_name="member_tags")
    op.create_index("ix_member_tags_expires_at", "member_tags", ["expires_at"],
                    postgresql_where=sa.text("expires_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_member_tags_expires_at", table_name="member_tags")
    op.create_index("ix_member_tags_expires_at", "member_tags", ["expires_at"])
    # Each array row back into one row per member, in the same order.
    op.execute("""INSERT INTO index_changes (kind, key, member_no, added, at)
                  SELECT c.kind, c.key, m, c.added, c.at FROM index_changes c,
                         unnest(c.member_nos) WITH ORDINALITY AS u(m, n)
                  WHERE c.member_nos IS NOT NULL ORDER BY c.id, u.n""")
    op.execute("DELETE FROM index_changes WHERE member_no IS NULL")
    op.drop_constraint("ck_index_changes_names_members", "index_changes", type_="check")
    op.drop_column("index_changes", "member_nos")
    op.alter_column("index_changes", "member_no", existing_type=sa.BigInteger(), nullable=False)
