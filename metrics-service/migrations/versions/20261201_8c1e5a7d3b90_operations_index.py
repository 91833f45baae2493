"""operations index projections

Daily rollups per member and hour, and the campaign, channel and community
facts every figure of the operations index is computed from.

Revision ID: 8c1e5a7d3b90
Revises: 2762f691b59b
Create Date: 2026-12-01 10:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8c1e5a7d3b90"
down_revision: str | None = "2762f691b59b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("daily_counters", "value", type_=sa.BigInteger(), existing_type=sa.Integer())
    op.create_table(
        "member_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("mp_events", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("dwell_ms", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("day", "member_no", name=op.f("pk_member_days")),
    )
    op.create_index("ix_member_days_member_day", "member_days", ["member_no", "day"], unique=False)
    op.create_table(
        "activity_hours",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("day", "hour", name=op.f("pk_activity_hours")),
    )
    op.create_table(
        "member_openids",
        sa.Column("openid", sa.Text(), nullable=False),
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("openid", name=op.f("pk_member_openids")),
    )
    op.create_index(op.f("ix_member_openids_member_no"), "member_openids", ["member_no"], unique=False)
    op.create_table(
        "period_facts",
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("series_id", sa.BigInteger(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("fee_fen", sa.Integer(), nullable=True),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_registration_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("period_id", name=op.f("pk_period_facts")),
    )
    op.create_index(op.f("ix_period_facts_series_id"), "period_facts", ["series_id"], unique=False)
    op.create_table(
        "registration_facts",
        sa.Column("registration_id", sa.BigInteger(), nullable=False),
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("series_id", sa.BigInteger(), nullable=True),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_fen", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_how", sa.Text(), nullable=True),
        sa.Column("refunded_fen", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("registration_id", name=op.f("pk_registration_facts")),
    )
    op.create_index(op.f("ix_registration_facts_member_no"), "registration_facts", ["member_no"], unique=False)
    op.create_index(op.f("ix_registration_facts_period_id"), "registration_facts", ["period_id"], unique=False)
    op.create_table(
        "refund_facts",
        sa.Column("refund_id", sa.BigInteger(), nullable=False),
        sa.Column("registration_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text(), server_default="issued", nullable=False),
        sa.PrimaryKeyConstraint("refund_id", name=op.f("pk_refund_facts")),
    )
    op.create_index(op.f("ix_refund_facts_period_id"), "refund_facts", ["period_id"], unique=False)
    op.create_index(op.f("ix_refund_facts_registration_id"), "refund_facts", ["registration_id"], unique=False)
    op.create_table(
        "checkin_facts",
        sa.Column("checkin_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("checkin_id", name=op.f("pk_checkin_facts")),
    )
    op.create_index(op.f("ix_checkin_facts_period_id"), "checkin_facts", ["period_id"], unique=False)
    op.create_table(
        "channel_touches",
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("scene", sa.Text(), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("member_no", "channel_id", name=op.f("pk_channel_touches")),
    )
    op.create_table(
        "follow_facts",
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("first_followed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_scene", sa.Text(), nullable=True),
        sa.Column("following", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.PrimaryKeyConstraint("member_no", name=op.f("pk_follow_facts")),
    )
    op.create_table(
        "community_facts",
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("open_gid", sa.Text(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("community_id", name=op.f("pk_community_facts")),
    )
    op.create_index(op.f("ix_community_facts_period_id"), "community_facts", ["period_id"], unique=False)
    op.create_table(
        "community_member_facts",
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sightings", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("community_id", "member_no", name=op.f("pk_community_member_facts")),
    )
    op.create_index(
        op.f("ix_community_member_facts_member_no"), "community_member_facts", ["member_no"], unique=False
    )


def downgrade() -> None:
    for table in (
        "community_member_facts", "community_facts", "follow_facts", "channel_touches", "checkin_facts",
        "refund_facts", "registration_facts", "period_facts", "member_openids", "activity_hours", "member_days",
    ):
        op.drop_table(table)
    op.alter_column("daily_counters", "value", type_=sa.Integer(), existing_type=sa.BigInteger())
