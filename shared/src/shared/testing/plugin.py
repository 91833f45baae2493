"""pytest plugin (entry point ``qunyun``): fixtures on real PostgreSQL and Kafka.

- ``infra``: the run's PostgreSQL server and broker (started once per run).
- ``migrated_database``: factory of fresh databases with a service's migrations.
- ``service_settings``: settings of a service pointed at a test database and an
  isolated Kafka namespace.
- ``running_app``: an app started in-process with its lifespan (relay and
  consumers included), with an ``httpx.AsyncClient`` on it.
- ``internal_headers``: headers carrying an internal token for a service.
- ``system``: the whole system as processes, for end-to-end tests.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from shared.auth import MemberPrincipal, StaffPrincipal, TokenCodec
from shared.settings import ServiceSettings
from shared.testing.infra import Infra, drop_database, migrated_database, start_infra
from shared.testing.system import System, own_system

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers the suite uses."""
    config.addinivalue_line("markers", "e2e: needs the whole system running as processes")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture(scope="session")
def infra(pytestconfig: pytest.Config) -> Iterator[Infra]:
    """The PostgreSQL server and broker of this test run."""
    started = start_infra(Path(pytestconfig.rootpath))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
async def migrated_db(infra: Infra) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Factory: ``await migrated_db("identity")`` → name of a fresh, migrated database."""
    created: list[str] = []

    async def make(service: str) -> str:
        name = await migrated_database(infra, service)
        created.append(name)
        return name

    yield make
    for name in created:
        await drop_database(infra.server_uri, name)


@pytest.fixture
def kafka_namespace() -> str:
    """A topic/consumer-group prefix private to one test."""
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture
def service_settings(infra: Infra, kafka_namespace: str) -> Callable[..., Any]:
    """Factory: settings of a service on a test database and this test's namespace."""

    def make(settings_cls: type[SettingsT], database_name: str, **overrides: Any) -> SettingsT:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": infra.server_uri,
            "database_name": database_name,
            "kafka_bootstrap_servers": infra.bootstrap,
            "kafka_namespace": kafka_namespace,
            "log_json": True,
        }
        values.update(overrides)
        return settings_cls(_env_file=None, **values)

    return make


@asynccontextmanager
async def run_app(app: FastAPI, *, base_url: str = "http://testserver") -> AsyncIterator[httpx.AsyncClient]:
    """Start ``app`` with its lifespan and yield a client talking to it in-process."""
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


@pytest.fixture
def running_app() -> Callable[[FastAPI], Any]:
    """``async with running_app(app) as client``: an in-process app with its lifespan."""
    return run_app


@pytest.fixture
def internal_headers() -> Callable[..., dict[str, str]]:
    """Factory of headers with an internal token (as the gateway would send)."""

    def make(
        settings: ServiceSettings,
        *,
        member_no: int | None = None,
        staff_roles: tuple[str, ...] | None = None,
        staff_id: int = 1,
        caller: str = "gateway",
    ) -> dict[str, str]:
        member = MemberPrincipal(member_no=member_no) if member_no is not None else None
        staff = (
            StaffPrincipal(staff_id=staff_id, username=f"staff{staff_id}", roles=frozenset(staff_roles))
            if staff_roles is not None
            else None
        )
        token = TokenCodec(settings).issue_internal(
            caller=caller, audience=settings.service_name, member=member, staff=staff
        )
        return {"authorization": f"Bearer {token}"}

    return make


@pytest.fixture(scope="session")
def system(infra: Infra) -> Iterator[System]:
    """The whole system running as processes (simulator, services, gateway)."""
    with own_system(infra) as running:
        yield running
