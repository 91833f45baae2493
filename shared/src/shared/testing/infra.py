"""Starting the real PostgreSQL server and broker a test run uses.

By default the embedded PostgreSQL (under ``.data/test/``) and a fresh Tansu
broker on a free port; ``QUNYUN_TEST_DATABASE_URL`` / ``QUNYUN_TEST_KAFKA``
point the run at existing servers instead.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import threading
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from alembic import command
from alembic.config import Config

from shared.settings import to_async_url, to_plain_url, with_database

T = TypeVar("T")


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even inside a running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


# Ports this test process has handed out: two choices made before either
# process binds must not be the same port.
_handed_out: set[int] = set()
_handing_out = threading.Lock()
# Listening ports are chosen below the kernel's ephemeral range, never lower than this.
_LOWEST_PORT = 10_000


def free_port() -> int:
    """A TCP port free on the loopback interface now, which no outgoing connection will take.

    A port is chosen well before its process binds it (a test system runs its
    migrations in between). A port of the kernel's ephemeral range may become, in
    that time, the local port of an outgoing connection (a database or broker
    client of a system already running), and the bind then fails with
    EADDRINUSE. Ports below that range are never given to outgoing connections.
    """
    low, _ = _ephemeral_range()
    with _handing_out:
        if low - _LOWEST_PORT < 1_000:
            return _kernel_chosen_port()
        for _ in range(1_000):
            port = random.randrange(_LOWEST_PORT, low)
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
        return _kernel_chosen_port()


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux; the IANA range elsewhere)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 49_152, 65_535


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _kernel_chosen_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    _handed_out.add(port)
    return port


@dataclass
class Broker:
    """A broker process the tests own (so they may pause or stop it)."""

    bootstrap: str
    process: subprocess.Popen[bytes] | None = None

    def pause(self) -> None:
        """SIGSTOP the broker (simulates an outage without losing its memory)."""
        assert self.process is not None
        self.process.send_signal(19)

    def resume(self) -> None:
        """SIGCONT the broker."""
        assert self.process is not None
        self.process.send_signal(18)

    def stop(self) -> None:
        """Terminate the broker."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()


@dataclass
class Infra:
    """The servers of one test run."""

    repo: Path
    data_dir: Path
    server_uri: str
    broker: Broker
    owns_postgres: bool
    extra_brokers: list[Broker] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers of the shared broker."""
        return self.broker.bootstrap

    def start_broker(self) -> Broker:
        """A private broker for a test that disturbs it (outage tests)."""
        broker = start_tansu(self.data_dir / "logs")
        self.extra_brokers.append(broker)
        return broker

    def stop(self) -> None:
        """Stop everything this run started."""
        for broker in [self.broker, *self.extra_brokers]:
            broker.stop()
        if self.owns_postgres:
            from qunyun_local.postgres import stop_postgres

            stop_postgres(self.data_dir)


def start_tansu(log_dir: Path) -> Broker:
    """Start a Tansu broker on a free port and wait until it answers."""
    from qunyun_local.broker import start_broker, wait_for_broker

    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    process = start_broker(port, log_dir / f"broker-{port}.log")
    bootstrap = f"127.0.0.1:{port}"
    run_sync(lambda: wait_for_broker(bootstrap, timeout=30))
    return Broker(bootstrap=bootstrap, process=process)


def start_infra(repo: Path) -> Infra:
    """Start (or attach to) the PostgreSQL server and broker for this run."""
    data_dir = Path(os.environ.get("QUNYUN_TEST_DATA_DIR", repo / ".data" / "test"))
    data_dir.mkdir(parents=True, exist_ok=True)
    external_db = os.environ.get("QUNYUN_TEST_DATABASE_URL")
    if external_db:
        server_uri, owns = to_plain_url(external_db), False
    else:
        from qunyun_local.postgres import start_postgres

        server_uri, owns = start_postgres(data_dir, keep_alive=False), True
    external_kafka = os.environ.get("QUNYUN_TEST_KAFKA")
    broker = Broker(bootstrap=external_kafka) if external_kafka else start_tansu(data_dir / "logs")
    return Infra(repo=repo, data_dir=data_dir, server_uri=server_uri, broker=broker, owns_postgres=owns)


def alembic_config(repo: Path, service: str, url: str) -> Config:
    """The Alembic config of ``service`` pointed at ``url``."""
    folder = repo / ("gateway" if service == "gateway" else f"{service}-service")
    config = Config(str(folder / "alembic.ini"))
    config.set_main_option("script_location", str(folder / "migrations"))
    config.set_main_option("sqlalchemy.url", to_async_url(url).replace("%", "%%"))
    return config


async def create_database(server_uri: str, name: str) -> str:
    """Create an empty database; returns its plain URL."""
    conn = await asyncpg.connect(server_uri)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(server_uri, name)


async def drop_database(server_uri: str, name: str) -> None:
    """Drop a database, disconnecting whoever still uses it."""
    conn = await asyncpg.connect(server_uri)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def migrated_database(infra: Infra, service: str, *, name: str | None = None) -> str:
    """A fresh database with ``service``'s real migrations applied; returns its name."""
    name = name or f"t_{service}_{uuid.uuid4().hex[:10]}"
    url = await create_database(infra.server_uri, name)
    config = alembic_config(infra.repo, service, url)
    # Alembic's env runs its own event loop: keep it off ours.
    await asyncio.to_thread(command.upgrade, config, "head")
    return name
