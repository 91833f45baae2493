"""phones sealed published at

``member_phones.sealed_published_at``: when ``identity.member.phone_bound`` with
the sealed number was published for the row. Rows that exist at upgrade time
stay NULL (their phone_bound may predate sealing); identity's worker (or
``python -m identity_service.cli republish-phones``) republishes them and
stamps them. New rows get ``now()`` by default.

Revision ID: 9c1f3e7a2b64
Revises: 7e2a9c4b5d10
Create Date: 2026-12-01 16:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '9c1f3e7a2b64'
down_revision: str | None = '7e2a9c4b5d10'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added without a default so existing rows stay NULL, then defaulted for new rows.
    op.add_column("member_phones", sa.Column("sealed_published_at", sa.DateTime(timezone=True), nullable=True))
    op.alter_column("member_phones", "sealed_published_at", server_default=sa.text("now()"))
    op.create_index(
        "ix_member_phones_sealed_unpublished", "member_phones", ["id"],
        postgresql_where=sa.text("sealed_published_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_member_phones_sealed_unpublished", table_name="member_phones")
    op.drop_column("member_phones", "sealed_published_at")
