"""A service run as several uvicorn workers: one port, every worker serving, metrics added up,
idle connections kept longer than our clients keep them."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from shared.testing.infra import free_port


def _worker_pids(supervisor: int) -> list[str]:
    """Child processes of the uvicorn supervisor (Linux /proc)."""
    return Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()


async def _healthz_on(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """One keep-alive GET /healthz on an open connection; the status line (b"" if the server closed it)."""
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: service\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    length = re.search(rb"content-length: (\d+)", head, re.I)
    if length:
        await reader.readexactly(int(length.group(1)))
    return head.split(b"\r\n", 1)[0]


def _healthz_count(exposition: str) -> float:
    pattern = re.compile(r'^http_requests_total\{[^}]*route="/healthz"[^}]*\} ([\d.e+]+)$', re.M)
    return sum(float(value) for value in pattern.findall(exposition))


async def test_a_service_with_two_workers_shares_its_port_and_its_metrics(
    infra, migrated_db, kafka_namespace, tmp_path
):
    port = free_port()
    env = {
        **os.environ,
        "QUNYUN_ENV": "test",
        "QUNYUN_ENV_FILE": os.devnull,
        "QUNYUN_LOG_LEVEL": "WARNING",
        "DATABASE_URL": infra.server_uri,
        "METRICS_DATABASE_NAME": await migrated_db("metrics"),
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
        "QUNYUN_KAFKA_NAMESPACE": kafka_namespace,
        "METRICS_PORT": str(port),
        "METRICS_WORKERS": "2",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(tmp_path / "metrics.log", "wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "metrics_service", env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            for _ in range(300):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError((tmp_path / "metrics.log").read_text()[-2000:])
        # Both workers up (children of the supervisor process).
        for _ in range(100):
            if len(_worker_pids(process.pid)) >= 2:
                break
            await asyncio.sleep(0.1)
        assert len(_worker_pids(process.pid)) >= 2

        # Fresh connections land on either worker; /metrics counts all of them.
        for _ in range(40):
            async with httpx.AsyncClient(base_url=base, timeout=5) as client:
                assert (await client.get("/healthz")).status_code == 200
        # Whichever worker answers, it reports the sum over both.
        for _ in range(10):
            async with httpx.AsyncClient(base_url=base, timeout=5) as client:
                exposition = (await client.get("/metrics")).text
            assert _healthz_count(exposition) >= 41

        # An idle connection outlives the clients' keep-alive (CLIENT_KEEPALIVE_SECONDS < server's):
        # still open after uvicorn's default 5 s, so a pooled POST never meets a closing socket.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            assert (await _healthz_on(reader, writer)).startswith(b"HTTP/1.1 200")
            await asyncio.sleep(6)
            assert (await _healthz_on(reader, writer)).startswith(b"HTTP/1.1 200")
        finally:
            writer.close()
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
