"""Database plumbing: engines, sessions, declarative bases and the unit of work.

Each service declares its own ``Base`` with :func:`declarative_base` (so one
test run can import every service without their tables mixing). The tables
every service needs the same way (outbox, inbox, idempotency keys) live on
``shared_metadata`` and each service's Alembic environment includes it.

The entry point owns the transaction: :func:`unit_of_work` is what routes,
consumers and the relay use; code below only ``flush()``es.

A few hot paths (a WeChat push, a returning member's login) are one SQL
statement that is its own transaction. They run on a plain asyncpg pool
(:func:`create_driver_pool`): measured at about three times the statements per
second of the same statement through an engine connection, because a pool
checkout through SQLAlchemy costs more than the statement itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata() -> MetaData:
    """A MetaData with the project's constraint naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class SharedBase(DeclarativeBase):
    """Tables every service has in its own database (outbox, inbox, idempotency)."""

    metadata = make_metadata()


shared_metadata = SharedBase.metadata


SERVER_SETTINGS = {"timezone": "UTC", "application_name": "qunyun"}


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20, **kwargs: Any) -> AsyncEngine:
    """An asyncpg engine with sane pool settings and UTC sessions."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # No pre-ping: it costs a round trip per checkout; a dead connection
        # fails its statement and the entry point's retry or error path runs.
        pool_recycle=1800,
        connect_args={"server_settings": SERVER_SETTINGS},
        **kwargs,
    )


async def create_driver_pool(dsn: str, *, max_size: int) -> asyncpg.Pool:
    """A plain asyncpg pool for single-statement hot paths (autocommit, prepared statements).

    Connections open on first use, so a service starts while its database is
    still coming up, like the engine does.
    """
    return await asyncpg.create_pool(
        dsn, min_size=0, max_size=max_size, server_settings=SERVER_SETTINGS,
        max_inactive_connection_lifetime=300, reset=_keep_connection_state,
    )


async def _keep_connection_state(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query on release (a round trip per use).

    Statements on this pool are single autocommit statements that change no
    session state (no SET, LISTEN, advisory locks or open cursors), so there
    is nothing to reset.
    """


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit when the block succeeds, roll back when it raises."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
