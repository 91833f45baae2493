"""The body of every service's Alembic ``env.py`` (one place, one behaviour).

The database URL comes from the service's settings (``<SERVICE>_DATABASE_URL``
or its own database on ``DATABASE_URL``); an explicit ``sqlalchemy.url`` in
the Alembic config (tests) wins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

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
        kwargs = {"target_metadata": targets, "compare_type": True}
        if connection is None:
            context.configure(url=url, literal_binds=True, **kwargs)
        else:
            context.configure(connection=connection, **kwargs)

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
