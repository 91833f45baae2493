"""How a commit reaches the relay: in-process wake when the relay is ours, NOTIFY otherwise."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from shared.contracts.identity import MemberFollowed
from shared.db import create_engine, create_session_factory, unit_of_work
from shared.events.outbox import NOTIFY_CHANNEL, WAKE_KEY, emit
from shared.settings import to_async_url, with_database


def _follow(member_no: int) -> MemberFollowed:
    return MemberFollowed(member_no=member_no, appid="wxoa", openid=f"o{member_no}", scene=None,
                          followed_at=datetime.now(UTC))


@pytest.fixture
async def metrics_db(infra, migrated_db):
    """(plain URL, session factory) of a freshly migrated metrics database."""
    url = with_database(infra.server_uri, await migrated_db("metrics"))
    engine = create_engine(to_async_url(url))
    yield url, create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def notifications(metrics_db):
    """NOTIFYs on the outbox channel, as a list filled by a LISTENing connection."""
    url, _ = metrics_db
    listener = await asyncpg.connect(url)
    received: list[str] = []
    await listener.add_listener(NOTIFY_CHANNEL, lambda *args: received.append(args[2]))
    yield received
    await listener.close()


async def test_commits_wake_the_in_process_relay_without_a_notify(metrics_db, notifications):
    url, factory = metrics_db
    woken: list[int] = []
    factory.configure(info={"service": "metrics", WAKE_KEY: lambda: woken.append(1)})

    async with unit_of_work(factory) as session:
        await emit(session, _follow(10001), member_no=10001)
        assert woken == []  # not before the rows are committed
    assert woken == [1]

    with pytest.raises(RuntimeError):
        async with unit_of_work(factory) as session:
            await emit(session, _follow(10002), member_no=10002)
            raise RuntimeError("rolled back")
    async with unit_of_work(factory):
        pass  # wrote no event
    assert woken == [1]

    await asyncio.sleep(0.3)
    assert notifications == []
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 1
        assert await conn.fetchval("SELECT count(*) FROM pg_trigger WHERE tgname = 'outbox_notify'") == 0
    finally:
        await conn.close()


async def test_without_an_in_process_relay_a_commit_notifies_other_processes(metrics_db, notifications):
    _, factory = metrics_db
    factory.configure(info={"service": "metrics"})

    with pytest.raises(RuntimeError):
        async with unit_of_work(factory) as session:
            await emit(session, _follow(10003), member_no=10003)
            raise RuntimeError("rolled back")
    await asyncio.sleep(0.3)
    assert notifications == []

    async with unit_of_work(factory) as session:
        await emit(session, _follow(10004), member_no=10004)
    for _ in range(50):
        if notifications:
            break
        await asyncio.sleep(0.05)
    assert len(notifications) == 1
