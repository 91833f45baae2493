"""Shared pieces of the benchmarks: infra, processes, HTTP load, result tables.

Benchmarks are not tests: they print a table with a baseline measured in the
same run beside each figure. The machine is small and noisy; read the ratios.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
# Benchmarks get their own PostgreSQL data directory so a test run in the same
# checkout (which stops its server at the end) cannot pull it away mid-run.
os.environ.setdefault("QUNYUN_TEST_DATA_DIR", str(REPO / ".data" / "bench"))


@dataclass
class LoadResult:
    """Throughput and latency of one load run."""

    label: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def _to_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(label: str, url: str, *, headers: dict[str, str], connections: int = 50, seconds: int = 10,
        threads: int = 1) -> LoadResult:
    """GET ``url`` from ``connections`` keep-alive connections for ``seconds``.

    Uses wrk when it is on PATH (``apt-get install wrk``); otherwise the
    benchmark's own aiohttp client (:func:`http_get_load`), which costs more
    CPU per request on the same cores, so its absolute figures are lower:
    compare the ratios of one run. ``QUNYUN_BENCH_CLIENT=python`` forces it.
    """
    if shutil.which("wrk") is None or os.environ.get("QUNYUN_BENCH_CLIENT") == "python":
        return asyncio.run(http_get_load(label, url, headers=headers, connections=connections, seconds=seconds))
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    errors_match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(errors_match.group(1)) if errors_match else 0
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    return LoadResult(label, rps, p50, p99, errors)


def print_table(title: str, rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    """A plain text table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def spawn(module: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``python -m module`` with ``env``, output to ``log``."""
    handle = open(log, "ab")  # noqa: SIM115 (owned by the child)
    return subprocess.Popen([sys.executable, "-m", module], env={**os.environ, **env}, stdout=handle,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_http(url: str, timeout: float = 60) -> None:
    """Block until ``url`` answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


async def run_load(send: Callable[[int], Awaitable[bool]], count: int, concurrency: int,
                   rate: float | None = None, *, seconds: float | None = None) -> tuple[float, list[float], int]:
    """Call ``send(i)`` for i in range(count) from ``concurrency`` tasks; (per second, sorted latencies, failures).

    Without ``rate`` the tasks send back to back (saturation). With it, call i
    is scheduled at ``i / rate`` seconds and its latency counts from that time,
    so a slow answer delays no later measurement (no coordinated omission).
    With ``seconds`` no call starts after that many seconds (``count`` is then
    an upper bound) and the rate counts the calls that were made.
    """
    latencies: list[float] = []
    failures = 0
    next_index = 0

    async def worker() -> None:
        nonlocal failures, next_index
        while next_index < count:
            if seconds is not None and time.perf_counter() - begin >= seconds:
                return
            index = next_index
            next_index += 1
            started = time.perf_counter()
            if rate is not None:
                scheduled = begin + index / rate
                await asyncio.sleep(max(scheduled - started, 0))
                started = scheduled
            ok = await send(index)
            latencies.append(time.perf_counter() - started)
            failures += 0 if ok else 1

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies) / (time.perf_counter() - begin), sorted(latencies), failures


async def http_get_load(label: str, url: str, *, headers: dict[str, str], connections: int = 50,
                        seconds: float = 10) -> LoadResult:
    """The Python stand-in for wrk: ``connections`` keep-alive connections GET ``url`` for ``seconds``."""
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        async def send(_: int) -> bool:
            try:
                async with session.get(url) as response:
                    await response.read()
                    return response.status < 400
            except (OSError, TimeoutError, aiohttp.ClientError):  # wrk's socket errors
                return False

        per_second, latencies, failures = await run_load(send, 1 << 40, connections, seconds=seconds)
    if not latencies:
        return LoadResult(label, 0.0, 0.0, 0.0, failures)
    p50 = latencies[min(len(latencies) // 2, len(latencies) - 1)] * 1000
    p99 = latencies[min(int(len(latencies) * 0.99), len(latencies) - 1)] * 1000
    return LoadResult(label, per_second, p50, p99, failures)


class CpuMeter:
    """CPU seconds each named process tree (and every PostgreSQL process, and this one) spends in a window.

    On one small machine the load generator, the simulator and the servers
    share the cores, so throughput alone hides who spends them.
    """

    def __init__(self, processes: dict[str, int]) -> None:
        self._pids = processes
        self._start: dict[str, dict[int, float]] = {}

    def _groups(self) -> dict[str, list[psutil.Process]]:
        groups: dict[str, list[psutil.Process]] = {}
        for name, pid in self._pids.items():
            try:
                root = psutil.Process(pid)
                groups[name] = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        groups["postgres"] = [p for p in psutil.process_iter(["name"]) if "postgres" in (p.info["name"] or "")]
        groups["load generator"] = [psutil.Process()]
        return groups

    def _seconds(self) -> dict[str, dict[int, float]]:
        # Per process: one that starts or ends inside the window (another run's PostgreSQL stopping, a backend
        # closing) must neither add its whole lifetime nor take it away from the group's sum.
        totals: dict[str, dict[int, float]] = {}
        for name, processes in self._groups().items():
            per_pid: dict[int, float] = {}
            for process in processes:
                try:
                    times = process.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                per_pid[process.pid] = times.user + times.system
            totals[name] = per_pid
        return totals

    def start(self) -> None:
        """Open the window."""
        self._start = self._seconds()

    def stop(self) -> dict[str, float]:
        """CPU seconds per group since :meth:`start` (groups that used some; processes alive at the end)."""
        end = self._seconds()
        spent = {name: sum(seconds - self._start.get(name, {}).get(pid, 0.0) for pid, seconds in per_pid.items())
                 for name, per_pid in end.items()}
        return {name: seconds for name, seconds in spent.items() if seconds > 0.01}
