"""A consumer process killed mid-stream and restarted applies each event once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.config import GatewaySettings
from gateway.main import create_app as create_gateway
from shared.contracts.identity import MemberFollowed
from shared.db import unit_of_work
from shared.events.outbox import emit
from shared.settings import to_async_url, with_database
from shared.testing.waiting import eventually

EVENTS = 4000


def _start_worker(infra, database: str, namespace: str, log) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "QUNYUN_ENV": "test",
        "QUNYUN_ENV_FILE": os.devnull,
        "DATABASE_URL": infra.server_uri,
        "METRICS_DATABASE_NAME": database,
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
        "QUNYUN_KAFKA_NAMESPACE": namespace,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "metrics_service.worker"], env=env, stdout=log, stderr=subprocess.STDOUT
    )


@pytest.mark.slow
async def test_killed_consumer_applies_each_event_exactly_once(
    infra, migrated_db, service_settings, running_app, kafka_namespace, tmp_path
):
    metrics_db = await migrated_db("metrics")
    engine = create_async_engine(to_async_url(with_database(infra.server_uri, metrics_db)))

    async def follows() -> int:
        async with engine.connect() as conn:
            result = await conn.exec_driver_sql(
                "SELECT coalesce(sum(value), 0) FROM daily_counters WHERE kind='follows'"
            )
            return int(result.scalar_one())

    producer_settings = service_settings(GatewaySettings, await migrated_db("gateway"))
    app = create_gateway(producer_settings)
    log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115
    async with running_app(app):
        runtime = app.state.runtime
        for start in range(0, EVENTS, 500):
            async with unit_of_work(runtime.session_factory) as session:
                for i in range(start, start + 500):
                    # One follow per member: metrics counts a member's follows of a day once.
                    member = 10001 + i
                    await emit(
                        session,
                        MemberFollowed(
                            member_no=member,
                            appid="wxoa",
                            openid=f"o{member}",
                            scene=str(i),
                            followed_at=datetime.now(UTC),
                        ),
                        member_no=member,
                    )
        runtime.relay.wake()

        worker = _start_worker(infra, metrics_db, kafka_namespace, log)
        try:
            # Kill it hard once it is part-way through the stream.
            await eventually(follows, lambda n: n > 0, timeout=60, interval=0.02)
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            partial = await follows()
            assert 0 < partial < EVENTS, f"kill landed at {partial}; the test needs a mid-stream kill"
            worker = _start_worker(infra, metrics_db, kafka_namespace, log)
            await eventually(follows, lambda n: n >= EVENTS, timeout=120)
            await asyncio.sleep(3)  # any redelivered duplicate would land by now
            assert await follows() == EVENTS
        finally:
            worker.terminate()
            worker.wait(10)
            log.close()
    await engine.dispose()
