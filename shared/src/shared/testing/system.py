"""The whole system as real processes, for end-to-end tests through the gateway.

The simulator, every service and the gateway run as ``python -m <package>``
subprocesses against the run's PostgreSQL server (fresh ``qunyun_*``
databases, real migrations) and broker (a topic namespace of their own).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

import httpx

from shared.clock import SETTLE_SECONDS, Clock
from shared.testing.infra import Infra, drop_database, free_port, migrated_database, run_sync

SERVICES = ("identity", "campaign", "tagging", "messaging", "metrics")
PACKAGES = {name: f"{name}_service" for name in SERVICES} | {"gateway": "gateway", "simulator": "wechat_simulator"}
PORT_ENV = {
    "gateway": "GATEWAY_PORT", "identity": "IDENTITY_PORT", "campaign": "CAMPAIGN_PORT",
    "tagging": "TAGGING_PORT", "messaging": "MESSAGING_PORT", "metrics": "METRICS_PORT",
    "simulator": "WECHAT_SIM_PORT",
}


def available(name: str) -> bool:
    """Whether the package of ``name`` is installed (services land one by one)."""
    return importlib.util.find_spec(PACKAGES[name]) is not None


class ProcessExited(RuntimeError):
    """A process of a test system ended while it was being waited for."""

    def __init__(self, name: str, returncode: int, logs: Path, log_tail: str) -> None:
        super().__init__(f"{name} exited with {returncode}; the end of {logs / (name + '.log')}:\n{log_tail}")
        self.log_tail = log_tail

    @property
    def port_taken(self) -> bool:
        """The process could not listen: its port was taken after it was chosen."""
        return "address already in use" in self.log_tail.lower()


@dataclass
class System:
    """A running Qunyun: URLs, credentials and its processes."""

    env: dict[str, str]
    urls: dict[str, str]
    logs: Path
    admin_username: str
    admin_password: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        """Base URL of the gateway."""
        return self.urls["gateway"]

    @property
    def simulator(self) -> str:
        """Base URL of the WeChat simulator."""
        return self.urls["simulator"]

    def start(self, name: str) -> None:
        """Start (or restart) one process."""
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 (owned by the process)
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", PACKAGES[name]], env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to one process and wait for it to end."""
        process = self.processes[name]
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def set_clock(self, moment: datetime | None) -> None:
        """Move every process's clock to ``moment`` (timezone-aware), or back to real time.

        Returns once every process reads the new time (``SETTLE_SECONDS`` after the write).
        """
        Clock(self.env["QUNYUN_TEST_CLOCK_FILE"]).set(moment)
        time.sleep(SETTLE_SECONDS)

    def databases(self) -> list[str]:
        """The databases this system created."""
        return [v for k, v in self.env.items() if k.endswith("_DATABASE_NAME")]

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The last ``lines`` lines of ``name``'s log (what a failed start printed)."""
        try:
            text = (self.logs / f"{name}.log").read_text(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def wait_healthy(self, name: str, *, path: str = "/healthz", timeout: float = 60) -> None:
        """Block until ``name`` answers 200 on ``path``."""
        deadline = time.monotonic() + timeout
        url = self.urls[name] + path
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise ProcessExited(name, self.processes[name].returncode, self.logs, self.log_tail(name))
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{name} not healthy at {url}; see {self.logs / (name + '.log')}")


def system_env(infra: Infra, ports: dict[str, int], namespace: str) -> dict[str, str]:
    """Environment of every process of a test system."""
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUNYUN_", "GATEWAY_", "IDENTITY_"))}
    env.update(
        {
            "QUNYUN_ENV": "test",
            "QUNYUN_DATA_DIR": str(infra.data_dir),
            "QUNYUN_ENV_FILE": str(infra.data_dir / "none.env"),
            "DATABASE_URL": infra.server_uri,
            "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
            "QUNYUN_KAFKA_NAMESPACE": namespace,
            "QUNYUN_SECRET_KEY": secrets.token_urlsafe(36),
            "QUNYUN_ADMIN_USERNAME": "admin",
            "QUNYUN_ADMIN_PASSWORD": secrets.token_urlsafe(12),
            "QUNYUN_GATEWAY_URL": urls["gateway"],
            "QUNYUN_WECHAT_API_BASE": urls["simulator"],
            "QUNYUN_WECHATPAY_API_BASE": urls["simulator"],
            "QUNYUN_LOG_LEVEL": "INFO",
            # One moved clock for every process of this system (shared.clock).
            "QUNYUN_TEST_CLOCK_FILE": str(infra.data_dir / f"clock-{namespace.rstrip('.')}"),
        }
    )
    for name, port in ports.items():
        env[PORT_ENV[name]] = str(port)
        env[f"QUNYUN_{name.upper()}_URL"] = urls[name]
    try:
        from qunyun_local.devkeys import ensure_dev_pay_keys

        env.update(ensure_dev_pay_keys(infra.data_dir))
    except ImportError:
        pass
    return env


def start_system(infra: Infra, extra_env: dict[str, str] | None = None) -> System:
    """Create fresh databases, start every available process, wait until ready.

    ``extra_env`` adds or overrides settings of every process (e.g. ``IDENTITY_WORKERS``).
    A start whose port was taken before its process bound it (ports are chosen
    where outgoing connections do not take theirs, but another program may
    listen) is tried again on new ports, twice at most.
    """
    for _ in range(2):
        try:
            return _start_system_once(infra, extra_env)
        except ProcessExited as exited:
            if not exited.port_taken:
                raise
    return _start_system_once(infra, extra_env)


def _start_system_once(infra: Infra, extra_env: dict[str, str] | None) -> System:
    names = [name for name in ("simulator", *SERVICES, "gateway") if available(name)]
    ports = {name: free_port() for name in ("simulator", *SERVICES, "gateway")}
    namespace = f"sys{secrets.token_hex(3)}."
    env = system_env(infra, ports, namespace) | (extra_env or {})

    # Databases named for this run: never touch the qunyun_* databases of a
    # developer's `make run` on the same server.
    suffix = namespace.rstrip(".")

    async def databases() -> None:
        for name in names:
            if name == "simulator":
                continue
            database = f"qunyun_{name}_{suffix}"
            await migrated_database(infra, name, name=database)
            env[f"{name.upper()}_DATABASE_NAME"] = database

    run_sync(databases)
    logs = infra.data_dir / "logs" / namespace.rstrip(".")
    logs.mkdir(parents=True, exist_ok=True)
    system = System(
        env=env, urls={n: f"http://127.0.0.1:{p}" for n, p in ports.items()}, logs=logs,
        admin_username=env["QUNYUN_ADMIN_USERNAME"], admin_password=env["QUNYUN_ADMIN_PASSWORD"],
    )
    try:
        for name in names:
            system.start(name)
        for name in names:
            system.wait_healthy(name, path="/sim/healthz" if name == "simulator" else "/healthz")
        system.wait_healthy("gateway", path="/readyz", timeout=90)
    except Exception:
        system.stop()
        for database in system.databases():
            run_sync(partial(drop_database, infra.server_uri, database))
        raise
    return system


@contextmanager
def own_system(infra: Infra, extra_env: dict[str, str] | None = None) -> Iterator[System]:
    """A system of its own for a test module whose writes or faults must not reach the shared one.

    ``extra_env`` as for :func:`start_system` (e.g. ``{"CAMPAIGN_WORKERS": "2"}``); the
    processes are stopped and the databases dropped afterwards.
    """
    running = start_system(infra, extra_env)
    try:
        yield running
    finally:
        running.stop()
        for name in running.databases():
            run_sync(partial(drop_database, infra.server_uri, name))
