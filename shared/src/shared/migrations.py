"""The body of every service's Alembic ``env.py`` (one place, one behaviour).

The database URL comes from the service's settings (``<SERVICE>_DATABASE_URL``
or its own database on ``DATABASE_URL``); an explicit ``sqlalchemy.url`` in
the Alembic config (tests) wins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import shared_metadata
from shared.events import inbox, outbox  # noqa: F401  (registers the shared tables)
from shared.settings import ServiceSettings, load_settings, to_async_url


def run_env(metadata: MetaData, settings_cls: type[ServiceSettings]) -> None:
    """Run migrations online or offline for one service."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url") or load_settings(settings_cls).own_database_url()
    url = to_async_url(url)
    targets: Sequence[MetaData] = [metadata, shared_metadata]

    def configure(connection: Connection | None = None) -> None:
        if connection is None:
            context.configure(url=url, literal_binds=True, target_metadata=targets, compare_type=True)
        else:
            context.configure(connection=connection, target_metadata=targets, compare_type=True)

    if context.is_offline_mode():
        configure()
        with context.begin_transaction():
            context.run_migrations()
        return

    def do_run(connection: Connection) -> None:
        configure(connection)
        with context.begin_transaction():
            context.run_migrations()

    async def online() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(online())


def create_shared_tables() -> None:
    """In a service's first migration: the outbox and inbox tables every service has.

    One definition for every service database; a later change to these
    tables is a migration in each service that calls a helper here too.
    """
    from alembic import op
    from sqlalchemy.dialects import postgresql

    from shared.events.outbox import NOTIFY_FUNCTION_SQL, NOTIFY_TRIGGER_SQL

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("envelope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    op.create_index("ix_outbox_pending", "outbox", ["id"], unique=False,
                    postgresql_where=sa.text("published_at IS NULL"))
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"], unique=False)
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.Text(), server_default="applied", nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_processed_events")),
    )
    op.execute(NOTIFY_FUNCTION_SQL)
    op.execute(NOTIFY_TRIGGER_SQL)


def drop_outbox_notify_trigger() -> None:
    """Writers wake their in-process relay, or NOTIFY explicitly (shared.events.outbox.WAKE_KEY)."""
    from alembic import op

    from shared.events.outbox import DROP_NOTIFY_SQL

    op.execute(DROP_NOTIFY_SQL)


def restore_outbox_notify_trigger() -> None:
    """The reverse of :func:`drop_outbox_notify_trigger`."""
    from alembic import op

    from shared.events.outbox import NOTIFY_FUNCTION_SQL, NOTIFY_TRIGGER_SQL

    op.execute(NOTIFY_FUNCTION_SQL)
    op.execute(NOTIFY_TRIGGER_SQL)


def drop_shared_tables() -> None:
    """The reverse of :func:`create_shared_tables`."""
    from alembic import op

    from shared.events.outbox import DROP_NOTIFY_SQL

    op.execute(DROP_NOTIFY_SQL)
    op.drop_table("processed_events")
    op.drop_index("ix_outbox_published_at", table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox", postgresql_where=sa.text("published_at IS NULL"))
    op.drop_table("outbox")
