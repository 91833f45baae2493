"""The whole local system: infrastructure first, then the simulator, services and gateway.

``run`` is what ``make run`` does. The order matters: PostgreSQL and the
broker must be up, the databases and topics created and every migration
applied before any service starts, so that services never race their schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import secrets
import shlex
import signal
import string
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType

import psutil

from qunyun_local import broker, postgres
from qunyun_local.migrate import SERVICES, migrate_all, migration_services, repo_root
from shared.kafka.topics import all_topics
from shared.settings import SERVICE_PORTS

DATABASES: tuple[str, ...] = ("qunyun_gateway", *(f"qunyun_{service}" for service in SERVICES))

# The port variable each process reads (see each package's config).
PORT_ENV: dict[str, str] = {
    "gateway": "GATEWAY_PORT",
    **{service: f"{service.upper()}_PORT" for service in SERVICES},
    "simulator": "WECHAT_SIM_PORT",
}

# The module each process runs with ``python -m``.
MODULES: dict[str, str] = {
    "simulator": "wechat_simulator",
    **{service: f"{service}_service" for service in SERVICES},
    "gateway": "gateway",
}

ENV_FILE_NAME = "local.env"
_GENERATED_SECRETS: dict[str, int] = {"QUNYUN_SECRET_KEY": 48, "QUNYUN_ADMIN_PASSWORD": 16}
_ALPHABET = string.ascii_letters + string.digits


class StackError(RuntimeError):
    """The local stack cannot start; the message says what to do."""


@dataclass(frozen=True)
class Ports:
    """Every port the local stack listens on; ``QUNYUN_<NAME>_PORT`` overrides each."""

    gateway: int = SERVICE_PORTS["gateway"]
    identity: int = SERVICE_PORTS["identity"]
    campaign: int = SERVICE_PORTS["campaign"]
    tagging: int = SERVICE_PORTS["tagging"]
    messaging: int = SERVICE_PORTS["messaging"]
    metrics: int = SERVICE_PORTS["metrics"]
    simulator: int = SERVICE_PORTS["simulator"]
    broker: int = 9092

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Ports:
        """Defaults, overridden by ``QUNYUN_GATEWAY_PORT``, ``QUNYUN_BROKER_PORT``, ..."""
        environ = dict(os.environ) if environ is None else environ
        values: dict[str, int] = {}
        for field in dataclasses.fields(cls):
            raw = environ.get(f"QUNYUN_{field.name.upper()}_PORT")
            if raw:
                try:
                    values[field.name] = int(raw)
                except ValueError as exc:
                    raise StackError(f"QUNYUN_{field.name.upper()}_PORT is not a port: {raw!r}") from exc
        return cls(**values)

    def with_offset(self, offset: int) -> Ports:
        """Every port shifted by ``offset`` (a second stack beside the first, e.g. for tests)."""
        return Ports(**{name: port + offset for name, port in self.items()})

    def items(self) -> list[tuple[str, int]]:
        """``(name, port)`` for every port, broker last."""
        return [(field.name, getattr(self, field.name)) for field in dataclasses.fields(self)]

    def process_ports(self) -> dict[str, int]:
        """The HTTP processes' ports (everything but the broker)."""
        return {name: port for name, port in self.items() if name != "broker"}


def embedded_postgres_wanted() -> bool:
    """True unless ``DATABASE_URL`` points at a server of the user's."""
    return not os.environ.get("DATABASE_URL")


def embedded_broker_wanted() -> bool:
    """True unless ``KAFKA_BOOTSTRAP_SERVERS`` points at a cluster of the user's."""
    return not os.environ.get("KAFKA_BOOTSTRAP_SERVERS")


def env_file(data_dir: Path) -> Path:
    """The dotenv file every process reads (``shared.settings.default_env_file``)."""
    return data_dir.expanduser().resolve() / ENV_FILE_NAME


def read_env_file(path: Path) -> dict[str, str]:
    """Parse the simple ``KEY='value'`` dotenv files this module writes."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _write_env_file(path: Path, values: dict[str, str]) -> None:
    lines = [
        "# Written by qunyun-local. The secret key and admin password are generated once",
        "# and kept; the rest is refreshed on every start. Real environment variables win.",
    ]
    for key, value in values.items():
        if "'" in value or "\n" in value:
            raise StackError(f"cannot write {key} to {path}: value contains a quote or newline")
        lines.append(f"{key}='{value}'")
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


def _random_secret(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def build_env(data_dir: Path, ports: Ports) -> dict[str, str]:
    """The environment of every local process (only Qunyun's variables; lay it over ``os.environ``).

    The secret key and admin password are generated on first use, kept in
    ``<data_dir>/local.env`` and printed once. A variable already set in the
    real environment keeps the user's value, except the ports and the
    per-service URLs, which always follow ``ports``.
    """
    # Imported here so `stop` and `clean` work even when key generation cannot.
    from qunyun_local.devkeys import ensure_dev_pay_keys

    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    path = env_file(data_dir)
    stored = read_env_file(path)
    fresh: list[str] = []
    for key, length in _GENERATED_SECRETS.items():
        if not stored.get(key):
            stored[key] = _random_secret(length)
            fresh.append(key)

    simulator_url = f"http://127.0.0.1:{ports.simulator}"
    generated: dict[str, str] = {
        "QUNYUN_ENV": "development",
        "QUNYUN_SECRET_KEY": stored["QUNYUN_SECRET_KEY"],
        "QUNYUN_ADMIN_USERNAME": "admin",
        "QUNYUN_ADMIN_PASSWORD": stored["QUNYUN_ADMIN_PASSWORD"],
        **ensure_dev_pay_keys(data_dir),
        "DATABASE_URL": postgres.server_uri(data_dir),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{ports.broker}",
        "QUNYUN_GATEWAY_URL": f"http://127.0.0.1:{ports.gateway}",
        "QUNYUN_WECHAT_API_BASE": simulator_url,
        "QUNYUN_WECHATPAY_API_BASE": simulator_url,
    }
    env = {key: os.environ.get(key) or value for key, value in generated.items()}
    env["QUNYUN_DATA_DIR"] = str(data_dir)
    for name, port in ports.process_ports().items():
        env[PORT_ENV[name]] = str(port)
        if name != "gateway":
            env[f"QUNYUN_{name.upper()}_URL"] = f"http://127.0.0.1:{port}"

    # What processes started outside the launcher (pytest, one service by hand)
    # need to find this stack: only our own values, never the user's.
    persisted = {key: stored[key] for key in _GENERATED_SECRETS}
    persisted.update(
        {key: value for key, value in generated.items() if key not in os.environ and key not in persisted}
    )
    persisted["QUNYUN_DATA_DIR"] = str(data_dir)
    _write_env_file(path, persisted)

    if fresh:
        # stderr: `eval "$(qunyun-local env)"` reads stdout.
        print(f"Generated {', '.join(fresh)} in {path} (kept for later runs).", file=sys.stderr, flush=True)
        if "QUNYUN_ADMIN_PASSWORD" in fresh and not os.environ.get("QUNYUN_ADMIN_PASSWORD"):
            print(
                f"Admin login: {env['QUNYUN_ADMIN_USERNAME']} / {env['QUNYUN_ADMIN_PASSWORD']}"
                "  (printed only this once)",
                file=sys.stderr,
                flush=True,
            )
    return env


def child_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` over the real environment, with unbuffered Python output for the log multiplexer."""
    return {**os.environ, **env, "PYTHONUNBUFFERED": "1"}


def run_dir(data_dir: Path) -> Path:
    """Where each process records its pid, so a later launcher can stop leftovers."""
    return data_dir.expanduser().resolve() / "run"


def processes(env: dict[str, str], ports: Ports, *, with_broker: bool) -> dict[str, str]:
    """Shell commands for honcho, by process name (simulator, services, gateway; broker first if asked).

    Each command records its pid under ``$QUNYUN_DATA_DIR/run/`` before it
    execs, so :func:`stop_leftover_processes` can find it after a crash.
    """
    pids = run_dir(Path(env["QUNYUN_DATA_DIR"]))
    commands: dict[str, list[str]] = {}
    if with_broker:
        commands["broker"] = broker.broker_command(ports.broker)
    for name, module in MODULES.items():
        commands[name] = [sys.executable, "-m", module]
    return {
        name: f"echo $$ > {shlex.quote(str(pids / f'{name}.pid'))}; exec {shlex.join(command)}"
        for name, command in commands.items()
    }


def _is_leftover(pid: int, name: str) -> bool:
    """True if ``pid`` still runs the command we recorded under ``name`` (pids get reused)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    if name == "broker":
        return bool(cmdline) and Path(cmdline[0]).name.startswith("tansu")
    module = MODULES.get(name)
    return module is not None and any(
        cmdline[i] == "-m" and cmdline[i + 1] == module for i in range(len(cmdline) - 1)
    )


def stop_leftover_processes(data_dir: Path, *, timeout: float = 10.0) -> list[str]:
    """Stop processes recorded under ``run/`` that outlived a killed launcher; clear the pid files."""
    directory = run_dir(data_dir)
    targets: dict[str, int] = {}
    for pid_file in sorted(directory.glob("*.pid")) if directory.exists() else []:
        if pid_file.stem == "launcher":
            continue
        try:
            pid = int(pid_file.read_text().strip())
        except ValueError:
            pid = 0
        if pid and _is_leftover(pid, pid_file.stem):
            targets[pid_file.stem] = pid
        pid_file.unlink(missing_ok=True)
    for pid in targets.values():
        _signal_group(pid, signal.SIGTERM)
    _, alive = psutil.wait_procs(_existing(targets.values()), timeout=timeout)
    for proc in alive:
        _signal_group(proc.pid, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=5)
    return list(targets)


def _existing(pids: Iterable[int]) -> list[psutil.Process]:
    found = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            found.append(psutil.Process(pid))
    return found


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def running_launcher(data_dir: Path) -> int | None:
    """The pid of a live launcher that owns ``data_dir``, if any.

    The pid file holds the pid and the process start time, so a reused pid is not mistaken for it.
    """
    pid_file = run_dir(data_dir) / "launcher.pid"
    try:
        pid_text, started_text = pid_file.read_text().split()
        pid, started = int(pid_text), float(started_text)
        proc = psutil.Process(pid)
        alive = proc.status() != psutil.STATUS_ZOMBIE and abs(proc.create_time() - started) < 0.01
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return pid if alive and pid != os.getpid() else None


@contextlib.contextmanager
def _launcher_lock(data_dir: Path) -> Iterator[None]:
    """One launcher per data directory: a second would fight the first over ports and the server."""
    other = running_launcher(data_dir)
    if other is not None:
        raise StackError(
            f"another qunyun-local (pid {other}) is running for {data_dir}; stop it first"
            " (Ctrl-C there, or `qunyun-local stop`)"
        )
    directory = run_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    pid_file = directory / "launcher.pid"
    me = psutil.Process()
    pid_file.write_text(f"{me.pid} {me.create_time()}\n")
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            if int(pid_file.read_text().split()[0]) == me.pid:
                pid_file.unlink()


def _check_ports_free(ports: Ports, *, with_broker: bool) -> None:
    busy = [
        (name, port)
        for name, port in ports.items()
        if (name != "broker" or with_broker) and broker.port_in_use(port)
    ]
    if busy:
        listing = ", ".join(f"{name} {port} (QUNYUN_{name.upper()}_PORT)" for name, port in busy)
        raise StackError(f"ports already in use: {listing}. Stop what listens there or choose other ports.")


def topic_partitions() -> int:
    """``QUNYUN_TOPIC_PARTITIONS`` (default 12)."""
    return int(os.environ.get("QUNYUN_TOPIC_PARTITIONS") or 12)


def _say(message: str) -> None:
    print(f"qunyun-local: {message}", flush=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def infrastructure(data_dir: Path, ports: Ports, *, with_services: bool = True) -> Iterator[dict[str, str]]:
    """PostgreSQL, databases, broker, topics and migrations; yields the env; stops PG and broker on exit.

    With ``with_services`` the service and simulator ports are checked to be
    free before anything starts (``run``), so a clash fails fast.
    """
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # SIGTERM/SIGHUP before honcho takes over must unwind through the cleanup below.
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        with _launcher_lock(data_dir), _started_infrastructure(data_dir, ports, with_services) as env:
            yield env
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _started_infrastructure(data_dir: Path, ports: Ports, with_services: bool) -> Iterator[dict[str, str]]:
    use_pg = embedded_postgres_wanted()
    use_broker = embedded_broker_wanted()
    broker_proc: subprocess.Popen[bytes] | None = None
    broker_log = data_dir / "broker.log"
    try:
        leftovers = stop_leftover_processes(data_dir)
        if leftovers:
            _say(f"stopped leftovers of an earlier run: {', '.join(leftovers)}")
        if use_broker and broker.stop_stale_broker(broker.pid_file_of(broker_log)):
            _say("stopped the broker of an earlier run")
        if with_services:
            _check_ports_free(ports, with_broker=use_broker)
        elif use_broker and broker.port_in_use(ports.broker):
            raise StackError(f"broker port {ports.broker} is in use (QUNYUN_BROKER_PORT)")

        started = time.monotonic()
        if use_pg:
            was_running = postgres.is_running(data_dir)
            postgres.start_postgres(data_dir, keep_alive=True)
            _say(f"postgres {'reused' if was_running else 'started'} in {postgres.pg_data_dir(data_dir)}")
        env = build_env(data_dir, ports)
        created = asyncio.run(postgres.ensure_databases(env["DATABASE_URL"], list(DATABASES)))
        if created:
            _say(f"created databases {', '.join(created)}")

        if use_broker:
            broker_proc = broker.start_broker(ports.broker, broker_log)
            _say(f"broker started on 127.0.0.1:{ports.broker} (log: {broker_log})")
        bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
        try:
            asyncio.run(broker.wait_for_broker(bootstrap, timeout=30))
        except TimeoutError as exc:
            raise StackError(f"{exc}\n{_tail(broker_log) if use_broker else ''}") from exc
        topics = asyncio.run(broker.create_topics(bootstrap, all_topics(), topic_partitions()))
        if topics:
            _say(f"created {len(topics)} topics with {topic_partitions()} partitions")

        migrate_all(env, migration_services())
        _say(f"infrastructure ready in {time.monotonic() - started:.1f}s")
        yield env
    finally:
        # A second Ctrl-C must not cut the shutdown short and strand the server.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        leftovers = stop_leftover_processes(data_dir)
        if leftovers:
            _say(f"stopped {', '.join(leftovers)}")
        if broker_proc is not None:
            broker.stop_broker(broker_proc, pid_file=broker.pid_file_of(broker_log))
            _say("broker stopped")
        if use_pg and postgres.stop_postgres(data_dir):
            _say("postgres stopped")
        _say(f"data kept in {data_dir}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def banner(env: dict[str, str], ports: Ports, *, ready: bool) -> str:
    """The URLs and login a person needs, as printed once the gateway answers."""
    gateway = env["QUNYUN_GATEWAY_URL"].rstrip("/")
    rows = [
        ("gateway", gateway),
        ("API docs", f"{gateway}/docs"),
        ("simulator", f"http://127.0.0.1:{ports.simulator}"),
        *((service, env[f"QUNYUN_{service.upper()}_URL"]) for service in SERVICES),
        ("broker", env["KAFKA_BOOTSTRAP_SERVERS"] + ("" if embedded_broker_wanted() else " (yours)")),
        ("database", env["DATABASE_URL"] + ("" if embedded_postgres_wanted() else " (yours)")),
    ]
    if os.environ.get("QUNYUN_ADMIN_PASSWORD"):
        login = f"{env['QUNYUN_ADMIN_USERNAME']} / $QUNYUN_ADMIN_PASSWORD (from your environment)"
    else:
        login = (
            f"{env['QUNYUN_ADMIN_USERNAME']} / QUNYUN_ADMIN_PASSWORD in "
            f"{Path(env['QUNYUN_DATA_DIR']) / ENV_FILE_NAME}"
        )
    rows.append(("admin login", login))
    head = "Qunyun is up:" if ready else "Qunyun is starting (the gateway has not answered /healthz yet):"
    body = "\n".join(f"  {name:<12} {value}" for name, value in rows)
    return f"{head}\n{body}\nCtrl-C stops everything; data stays in {env['QUNYUN_DATA_DIR']}."


def _wait_healthy(url: str, timeout: float, stop: threading.Event) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our http:// URL
                if response.status == 200:
                    return True
        except OSError:
            pass
        stop.wait(0.5)
    return False


def run(data_dir: Path, ports: Ports) -> int:
    """``make run``: the infrastructure, then every process under honcho until Ctrl-C or a crash."""
    from honcho.manager import Manager
    from honcho.printer import Message, Printer

    with infrastructure(data_dir, ports) as env:
        manager = Manager(Printer(sys.stdout))
        environment = child_env(env)
        run_dir(data_dir).mkdir(parents=True, exist_ok=True)
        for name, command in processes(env, ports, with_broker=False).items():
            manager.add_process(name, command, env=environment, cwd=str(repo_root()))

        stop = threading.Event()

        def announce() -> None:
            ready = _wait_healthy(f"{env['QUNYUN_GATEWAY_URL'].rstrip('/')}/healthz", 90.0, stop)
            if not stop.is_set():
                text = banner(env, ports, ready=ready)
                manager.events.put(Message("line", text + "\n", datetime.now(), "qunyun", None))

        signal.signal(signal.SIGHUP, lambda signum, frame: manager.terminate())
        threading.Thread(target=announce, name="banner", daemon=True).start()
        try:
            manager.loop()  # honcho handles SIGINT/SIGTERM: it stops every process, then returns
        finally:
            stop.set()
        code = manager.returncode
    return 0 if code in (None, 0, 130, 143) else int(code)


def infra(data_dir: Path, ports: Ports) -> int:
    """PostgreSQL, the broker, topics and migrations only, in the foreground until Ctrl-C."""
    try:
        with infrastructure(data_dir, ports, with_services=False) as env:
            print("Infrastructure is up; start services yourself with these variables:", flush=True)
            for key in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "QUNYUN_DATA_DIR"):
                print(f"  {key}={env[key]}", flush=True)
            print("(`qunyun-local env` prints them all.) Ctrl-C stops.", flush=True)
            signal.signal(signal.SIGINT, _interrupt)
            while True:
                time.sleep(1)
    except KeyboardInterrupt:
        return 0


def migrate(data_dir: Path, ports: Ports) -> int:
    """Apply every service's migrations (starting the embedded server just for that if needed)."""
    use_pg = embedded_postgres_wanted()
    started = False
    try:
        if use_pg:
            started = not postgres.is_running(data_dir)
            postgres.start_postgres(data_dir, keep_alive=True)
        env = build_env(data_dir, ports)
        asyncio.run(postgres.ensure_databases(env["DATABASE_URL"], list(DATABASES)))
        migrate_all(env, migration_services())
    finally:
        if started:
            postgres.stop_postgres(data_dir)
    return 0


def revision(data_dir: Path, ports: Ports, service: str, message: str) -> int:
    """``alembic revision --autogenerate`` for one service, against its database brought to head first."""
    from qunyun_local.migrate import alembic_command, service_dir

    if service not in (*SERVICES, "gateway"):
        raise StackError(f"unknown service {service!r}: one of gateway, {', '.join(SERVICES)}")
    use_pg = embedded_postgres_wanted()
    started = False
    try:
        if use_pg:
            started = not postgres.is_running(data_dir)
            postgres.start_postgres(data_dir, keep_alive=True)
        env = build_env(data_dir, ports)
        asyncio.run(postgres.ensure_databases(env["DATABASE_URL"], list(DATABASES)))
        migrate_all(env, [service])
        return subprocess.call(  # noqa: S603 - our interpreter running alembic
            alembic_command(service, "revision", "--autogenerate", "-m", message),
            cwd=service_dir(service),
            env=child_env(env),
        )
    finally:
        if started:
            postgres.stop_postgres(data_dir)


def shell_exports(env: dict[str, str]) -> str:
    """``env`` as ``export KEY='value'`` lines for ``eval "$(qunyun-local env)"``."""
    return "\n".join(f"export {key}={shlex.quote(value)}" for key, value in sorted(env.items()))


def stop(data_dir: Path) -> int:
    """Stop what runs for ``data_dir``: a live launcher (which cleans up), leftovers, PostgreSQL."""
    launcher = running_launcher(data_dir)
    if launcher is not None:
        _say(f"asking qunyun-local (pid {launcher}) to stop")
        with contextlib.suppress(ProcessLookupError):
            os.kill(launcher, signal.SIGTERM)
        _, alive = psutil.wait_procs(_existing([launcher]), timeout=60)
        if alive:
            raise StackError(f"qunyun-local (pid {launcher}) did not stop within 60s")
    leftovers = stop_leftover_processes(data_dir)
    if leftovers:
        _say(f"stopped {', '.join(leftovers)}")
    if broker.stop_stale_broker(broker.pid_file_of(data_dir.expanduser().resolve() / "broker.log")):
        _say("broker stopped")
    if postgres.stop_postgres(data_dir):
        _say("postgres stopped")
    else:
        _say("postgres was not running")
    return 0
