"""Fixtures of identity-service tests: the WeChat simulator and identity apps on fresh databases.

Run against existing servers with ``QUNYUN_TEST_DATABASE_URL`` / ``QUNYUN_TEST_KAFKA``
(the shared plugin starts its own otherwise).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from identity_service.config import IdentitySettings
from identity_service.deps import IdentityContext, context_of
from identity_service.main import create_app
from shared.auth import MemberPrincipal, StaffPrincipal, TokenCodec
from shared.contracts import REGISTRY, load_all
from shared.events.envelope import Envelope
from shared.runtime import ServiceRuntime
from shared.testing.infra import drop_database, free_port, migrated_database, run_sync

REPO = Path(__file__).resolve().parents[2]
SIMULATOR_SRC = REPO / "deploy" / "local" / "simulator" / "src"


# -- the WeChat simulator -------------------------------------------------------


class Simulator:
    """The simulator's control API."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.AsyncClient(base_url=url, timeout=10)

    async def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.http.post(path, json=body)
        response.raise_for_status()
        return response.json()

    async def person(self, *, with_unionid: bool = True) -> dict[str, Any]:
        """A new simulated person."""
        return await self._post("/sim/people", {"with_unionid": with_unionid})  # type: ignore[no-any-return]

    async def give_unionid(self, person_id: str) -> dict[str, Any]:
        """The person's apps were bound to the Open Platform."""
        return await self._post(f"/sim/people/{person_id}/unionid")  # type: ignore[no-any-return]

    async def login_code(self, person_id: str) -> str:
        """``wx.login`` (rotates the person's session_key)."""
        return str((await self._post(f"/sim/people/{person_id}/login-code"))["code"])

    async def phone_code(self, person_id: str, phone: str, country_code: str = "86") -> str:
        """The phone button's code."""
        body = {"phone": phone, "country_code": country_code}
        return str((await self._post(f"/sim/people/{person_id}/phone-code", body))["code"])

    async def encrypted(self, person_id: str, **body: Any) -> dict[str, str]:
        """encryptedData + iv under the person's latest session_key."""
        return await self._post(f"/sim/people/{person_id}/encrypted-data", body)  # type: ignore[no-any-return]

    async def follow(self, person_id: str, scene: str | None = None) -> None:
        """The person follows the service account (the push itself goes nowhere in these tests)."""
        await self.http.post(f"/sim/people/{person_id}/follow", json={"scene": scene})

    async def fault(
        self,
        path: str,
        *,
        errcode: int | None = None,
        http_status: int | None = None,
        times: int = 1,
        latency_ms: int = 0,
    ) -> None:
        """Fail the next ``times`` calls of ``path``."""
        await self._post(
            "/sim/faults",
            {
                "path": path,
                "errcode": errcode,
                "http_status": http_status,
                "times": times,
                "latency_ms": latency_ms,
            },
        )

    async def clear_faults(self) -> None:
        """Remove every injected failure."""
        await self.http.delete("/sim/faults")

    async def token_calls(self, appid: str) -> int:
        """How many cgi-bin/token calls ``appid`` made so far."""
        stats = (await self.http.get("/sim/stats")).json()
        return int(stats["token_calls"].get(appid, 0))

    async def expire_tokens(self, appid: str | None = None) -> None:
        """Expire the current access tokens at WeChat's side."""
        await self._post("/sim/tokens/expire", {"appid": appid})


@pytest.fixture(scope="session")
def simulator_url(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A WeChat simulator process for this test run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUNYUN_", "WECHAT_SIM_"))}
    port = free_port()
    env.update(
        {
            "QUNYUN_ENV": "test",
            "QUNYUN_ENV_FILE": os.devnull,
            "WECHAT_SIM_PORT": str(port),
            # Pushes of simulated follows go nowhere: these tests feed events themselves.
            "QUNYUN_GATEWAY_URL": f"http://127.0.0.1:{free_port()}",
        }
    )
    if importlib.util.find_spec("wechat_simulator") is None:
        if not SIMULATOR_SRC.exists():
            pytest.skip("the WeChat simulator is not available")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SIMULATOR_SRC), env.get("PYTHONPATH")]))
    log = open(tmp_path_factory.mktemp("simulator") / "simulator.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "wechat_simulator"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/sim/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the WeChat simulator did not start")
        time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
async def sim(simulator_url: str) -> AsyncIterator[Simulator]:
    """The simulator's control API; injected faults are cleared after each test."""
    simulator = Simulator(simulator_url)
    try:
        yield simulator
    finally:
        await simulator.clear_faults()
        await simulator.http.aclose()


# -- identity apps ----------------------------------------------------------------


@dataclass
class Identity:
    """One running identity app and helpers to call it as the gateway would."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: IdentitySettings

    @property
    def runtime(self) -> ServiceRuntime:
        return self.app.state.runtime  # type: ignore[no-any-return]

    @property
    def ctx(self) -> IdentityContext:
        return context_of(self.runtime)

    def _internal(
        self,
        *,
        member: MemberPrincipal | None = None,
        staff: StaffPrincipal | None = None,
        caller: str = "gateway",
    ) -> dict[str, str]:
        token = TokenCodec(self.settings).issue_internal(
            caller=caller, audience="identity", member=member, staff=staff
        )
        return {"authorization": f"Bearer {token}"}

    def public(self) -> dict[str, str]:
        """Headers of a sign-in endpoint forwarded by the gateway (no caller)."""
        return self._internal()

    def service(self, caller: str = "campaign") -> dict[str, str]:
        """Headers of another service calling an internal endpoint."""
        return self._internal(caller=caller)

    def member(self, session: dict[str, Any]) -> dict[str, str]:
        """Headers for the member of a login answer, carrying its session id like the gateway does."""
        principal = TokenCodec(self.settings).verify_member(session["token"])
        return self._internal(member=principal)

    def staff(self, *roles: str, staff_id: int = 1, username: str = "tester") -> dict[str, str]:
        """Headers for a staff user with ``roles``."""
        return self._internal(
            staff=StaffPrincipal(staff_id=staff_id, username=username, roles=frozenset(roles))
        )

    async def login(self, sim: Simulator, person_id: str) -> dict[str, Any]:
        """A mini-program login of a simulated person."""
        code = await sim.login_code(person_id)
        response = await self.client.post("/mp/v1/session", json={"code": code}, headers=self.public())
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        """Rows of a query on this app's database."""
        async with self.runtime.session_factory() as session:
            return list((await session.execute(text(statement), params)).all())

    async def execute(self, statement: str, **params: Any) -> None:
        """Run and commit a statement on this app's database (test set-up)."""
        async with self.runtime.session_factory() as session:
            await session.execute(text(statement), params)
            await session.commit()

    async def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Envelopes written to the outbox, oldest first, each checked against its contract."""
        load_all()
        rows = await self.sql("SELECT topic, key, envelope FROM outbox ORDER BY id")
        for row in rows:
            envelope = Envelope.model_validate(row.envelope)
            spec = REGISTRY[envelope.type]
            spec.model.model_validate(envelope.data)
            assert (row.topic, envelope.version) == (spec.topic, spec.version)
            if envelope.type.startswith("identity."):
                assert envelope.source == "identity" and row.key == str(envelope.member_no)
        return [r.envelope for r in rows if event_type is None or r.envelope["type"] == event_type]


@pytest.fixture
def identity_app(
    migrated_db: Callable[..., Any],
    service_settings: Callable[..., Any],
    running_app: Callable[..., Any],
    simulator_url: str,
) -> Callable[..., Any]:
    """``async with identity_app(database=None, **settings) as identity``: an app on a fresh (or given) DB."""

    @asynccontextmanager
    async def make(database: str | None = None, **overrides: Any) -> AsyncIterator[Identity]:
        name = database or await migrated_db("identity")
        values: dict[str, Any] = {
            "wechat_api_base": simulator_url,
            "run_worker": False,
            "wechat_retry_delay": 0.01,
        }
        values.update(overrides)
        settings = service_settings(IdentitySettings, name, **values)
        app = create_app(settings)
        async with running_app(app) as client:
            yield Identity(app=app, client=client, settings=settings)

    return make


@pytest.fixture
async def identity(identity_app: Callable[..., Any]) -> AsyncIterator[Identity]:
    """One identity app (no worker) on a fresh database."""
    async with identity_app() as running:
        yield running


@pytest.fixture
def migrated_db_sync(infra: Any) -> Iterator[str]:
    """A migrated database created outside the test's event loop (the CLI runs its own)."""
    name = run_sync(lambda: migrated_database(infra, "identity"))
    yield name
    run_sync(lambda: drop_database(infra.server_uri, name))

