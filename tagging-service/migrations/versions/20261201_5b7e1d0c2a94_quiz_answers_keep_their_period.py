"""quiz answers keep their period

A quiz answer that names only its period is counted under that period and
resolved to the series when segments are evaluated: the period's series may
become known (campaign.events) after the answer (app.activity) arrives.

Revision ID: 5b7e1d0c2a94
Revises: c8014bf94b71
Create Date: 2026-12-01 10:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b7e1d0c2a94"
down_revision: str | None = "c8014bf94b71"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("daily_quiz", sa.Column("period_id", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
    op.drop_constraint("pk_daily_quiz", "daily_quiz", type_="primary")
    op.create_primary_key("pk_daily_quiz", "daily_quiz", ["member_no", "day", "series_id", "period_id"])


def downgrade() -> None:
    op.drop_constraint("pk_daily_quiz", "daily_quiz", type_="primary")
    op.execute(
        "DELETE FROM daily_quiz a USING daily_quiz b WHERE a.ctid > b.ctid AND a.member_no = b.member_no "
        "AND a.day = b.day AND a.series_id = b.series_id"
    )
    op.create_primary_key("pk_daily_quiz", "daily_quiz", ["member_no", "day", "series_id"])
    op.drop_column("daily_quiz", "period_id")
