"""initial schema

Revision ID: 3bbd4a2b1415
Revises:
Create Date: 2026-11-23 10:21:17.610400
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.migrations import create_shared_tables, drop_shared_tables

revision: str = "3bbd4a2b1415"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column(
            "member_no",
            sa.BigInteger(),
            sa.Identity(always=True, start=10001, minvalue=10001, cycle=False),
            nullable=False,
        ),
        sa.Column("unionid", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("merged_into", sa.BigInteger(), nullable=True),
        sa.Column("first_app", sa.Text(), nullable=False),
        sa.Column("channel_scene", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'merged') = (merged_into IS NOT NULL)", name=op.f("ck_members_merged_has_target")
        ),
        sa.CheckConstraint("status IN ('active', 'merged')", name=op.f("ck_members_status")),
        sa.ForeignKeyConstraint(["merged_into"], ["members.member_no"], name=op.f("fk_members_merged_into_members")),
        sa.PrimaryKeyConstraint("member_no", name=op.f("pk_members")),
        sa.UniqueConstraint("unionid", name=op.f("uq_members_unionid")),
    )
    op.create_index(op.f("ix_members_merged_into"), "members", ["merged_into"], unique=False)
    op.create_table(
        "staff",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_logins", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'operator', 'sales', 'viewer')", name=op.f("ck_staff_role")),
        sa.CheckConstraint("username = lower(username)", name=op.f("ck_staff_username_lower")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_username")),
    )
    op.create_table(
        "wechat_access_tokens",
        sa.Column("appid", sa.Text(), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("refresh_count", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("appid", name=op.f("pk_wechat_access_tokens")),
    )
    op.create_table(
        "followers",
        sa.Column("appid", sa.Text(), nullable=False),
        sa.Column("openid", sa.Text(), nullable=False),
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column("first_subscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("subscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("subscribe_scene", sa.Text(), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_scan_scene", sa.Text(), nullable=True),
        sa.Column("last_scanned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["member_no"], ["members.member_no"], name=op.f("fk_followers_member_no_members")),
        sa.PrimaryKeyConstraint("appid", "openid", name=op.f("pk_followers")),
    )
    op.create_index(op.f("ix_followers_member_no"), "followers", ["member_no"], unique=False)
    op.create_table(
        "member_merges",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("from_member_no", sa.BigInteger(), nullable=False),
        sa.Column("into_member_no", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_member_no"], ["members.member_no"], name=op.f("fk_member_merges_from_member_no_members")
        ),
        sa.ForeignKeyConstraint(
            ["into_member_no"], ["members.member_no"], name=op.f("fk_member_merges_into_member_no_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_merges")),
    )
    op.create_index(op.f("ix_member_merges_from_member_no"), "member_merges", ["from_member_no"], unique=False)
    op.create_index(op.f("ix_member_merges_into_member_no"), "member_merges", ["into_member_no"], unique=False)
    op.create_table(
        "member_openids",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("app", sa.Text(), nullable=False),
        sa.Column("appid", sa.Text(), nullable=False),
        sa.Column("openid", sa.Text(), nullable=False),
        sa.Column("unionid", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("app IN ('mp', 'oa', 'web')", name=op.f("ck_member_openids_app")),
        sa.ForeignKeyConstraint(["member_no"], ["members.member_no"], name=op.f("fk_member_openids_member_no_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_openids")),
        sa.UniqueConstraint("appid", "openid", name=op.f("uq_member_openids_appid_openid")),
    )
    op.create_index(op.f("ix_member_openids_member_no"), "member_openids", ["member_no"], unique=False)
    op.create_index(op.f("ix_member_openids_openid"), "member_openids", ["openid"], unique=False)
    op.create_table(
        "member_phones",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("phone_hash", sa.LargeBinary(), nullable=False),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=False),
        sa.Column("country_code", sa.Text(), nullable=False),
        sa.Column("masked", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("source IN ('code', 'encrypted_data')", name=op.f("ck_member_phones_source")),
        sa.ForeignKeyConstraint(["member_no"], ["members.member_no"], name=op.f("fk_member_phones_member_no_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_phones")),
        sa.UniqueConstraint("phone_hash", name=op.f("uq_member_phones_phone_hash")),
    )
    op.create_index(op.f("ix_member_phones_member_no"), "member_phones", ["member_no"], unique=False)
    op.create_table(
        "mp_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("appid", sa.Text(), nullable=False),
        sa.Column("openid", sa.Text(), nullable=False),
        sa.Column("session_key_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["member_no"], ["members.member_no"], name=op.f("fk_mp_sessions_member_no_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mp_sessions")),
    )
    op.create_index("ix_mp_sessions_member_latest", "mp_sessions", ["member_no", "appid", "created_at"], unique=False)
    op.create_table(
        "phone_conflicts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("phone_hash", sa.LargeBinary(), nullable=False),
        sa.Column("masked", sa.Text(), nullable=False),
        sa.Column("member_no", sa.BigInteger(), nullable=False),
        sa.Column("owner_member_no", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'merged', 'dismissed')", name=op.f("ck_phone_conflicts_status")),
        sa.ForeignKeyConstraint(
            ["member_no"], ["members.member_no"], name=op.f("fk_phone_conflicts_member_no_members")
        ),
        sa.ForeignKeyConstraint(
            ["owner_member_no"],
            ["members.member_no"],
            name=op.f("fk_phone_conflicts_owner_member_no_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_conflicts")),
    )
    op.create_index(op.f("ix_phone_conflicts_member_no"), "phone_conflicts", ["member_no"], unique=False)
    op.create_index(
        "ix_phone_conflicts_open",
        "phone_conflicts",
        ["id"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(op.f("ix_phone_conflicts_owner_member_no"), "phone_conflicts", ["owner_member_no"], unique=False)
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["mp_sessions.id"], name=op.f("fk_refresh_tokens_session_id_mp_sessions")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_refresh_tokens")),
    )
    op.create_index(op.f("ix_refresh_tokens_session_id"), "refresh_tokens", ["session_id"], unique=False)
    create_shared_tables()


def downgrade() -> None:
    drop_shared_tables()
    op.drop_index(op.f("ix_refresh_tokens_session_id"), table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index(op.f("ix_phone_conflicts_owner_member_no"), table_name="phone_conflicts")
    op.drop_index("ix_phone_conflicts_open", table_name="phone_conflicts", postgresql_where=sa.text("status = 'open'"))
    op.drop_index(op.f("ix_phone_conflicts_member_no"), table_name="phone_conflicts")
    op.drop_table("phone_conflicts")
    op.drop_index("ix_mp_sessions_member_latest", table_name="mp_sessions")
    op.drop_table("mp_sessions")
    op.drop_index(op.f("ix_member_phones_member_no"), table_name="member_phones")
    op.drop_table("member_phones")
    op.drop_index(op.f("ix_member_openids_openid"), table_name="member_openids")
    op.drop_index(op.f("ix_member_openids_member_no"), table_name="member_openids")
    op.drop_table("member_openids")
    op.drop_index(op.f("ix_member_merges_into_member_no"), table_name="member_merges")
    op.drop_index(op.f("ix_member_merges_from_member_no"), table_name="member_merges")
    op.drop_table("member_merges")
    op.drop_index(op.f("ix_followers_member_no"), table_name="followers")
    op.drop_table("followers")
    op.drop_table("wechat_access_tokens")
    op.drop_table("staff")
    op.drop_index(op.f("ix_members_merged_into"), table_name="members")
    op.drop_table("members")
