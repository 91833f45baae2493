"""Run every service's Alembic migrations against its own database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

SERVICES: tuple[str, ...] = ("identity", "campaign", "tagging", "messaging", "metrics")


class MigrationError(RuntimeError):
    """A service's ``alembic upgrade head`` failed; the message carries its output."""


def repo_root() -> Path:
    """The repository this launcher was installed from (editable install), else the cwd."""
    explicit = os.environ.get("QUNYUN_REPO_ROOT")
    if explicit:
        return Path(explicit).resolve()
    candidate = Path(__file__).resolve().parents[4]  # deploy/local/src/qunyun_local/migrate.py
    if (candidate / "shared").is_dir() and (candidate / "deploy").is_dir():
        return candidate
    return Path.cwd().resolve()


def service_dir(service: str) -> Path:
    """A service's project directory (``gateway/`` or ``<name>-service/``)."""
    root = repo_root()
    return root / "gateway" if service == "gateway" else root / f"{service}-service"


def migration_services() -> list[str]:
    """Every service with a database: the five domain services, plus the gateway once it has migrations."""
    services = list(SERVICES)
    if (service_dir("gateway") / "alembic.ini").exists():
        services.insert(0, "gateway")
    return services


def alembic_command(service: str, *args: str) -> list[str]:
    """``python -m alembic -c <service>/alembic.ini <args>``."""
    ini = service_dir(service) / "alembic.ini"
    return [sys.executable, "-m", "alembic", "-c", str(ini), *args]


def migrate_all(env: dict[str, str], services: list[str]) -> None:
    """``alembic upgrade head`` for each service (in parallel: one database each).

    ``env`` is laid over ``os.environ``; a failure raises :class:`MigrationError`
    with the failing services' output.
    """
    missing = [s for s in services if not (service_dir(s) / "alembic.ini").exists()]
    if missing:
        raise MigrationError("no alembic.ini for: " + ", ".join(f"{s} ({service_dir(s)})" for s in missing))
    child_env = {**os.environ, **env}
    started = time.monotonic()
    running = {
        service: subprocess.Popen(  # noqa: S603 - our interpreter running alembic
            alembic_command(service, "upgrade", "head"),
            cwd=service_dir(service),
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for service in services
    }
    failures: list[str] = []
    try:
        for service, proc in running.items():
            output, _ = proc.communicate()
            if proc.returncode != 0:
                failures.append(f"--- {service} (exit {proc.returncode}) ---\n{output.rstrip()}")
    finally:
        for proc in running.values():  # interrupted: leave no migration half-watched
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
    if failures:
        raise MigrationError("alembic upgrade head failed:\n" + "\n".join(failures))
    print(f"migrated {', '.join(services)} in {time.monotonic() - started:.1f}s", flush=True)
