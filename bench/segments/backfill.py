"""Rule back-fill rate: members per second a new rule is applied over (PostgreSQL, in-process service).

Seeds ``--members`` members with quiz facts (one in three above the rule's error
rate), saves a rule through the API and times the worker's back-fill until done.
Beside it, the raw SQL that computes the same condition, in the same run. The
seeded tables are analysed first, as autovacuum would (``--no-analyze``: not).

    .venv/bin/python bench/segments/backfill.py [--members 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

import httpx
import psutil
from asgi_lifespan import LifespanManager
from sqlalchemy import text

from shared.auth import StaffPrincipal, TokenCodec
from shared.testing.infra import drop_database, migrated_database, start_infra
from tagging_service.config import TaggingSettings
from tagging_service.main import create_app
from tagging_service.rules import service as rules

REPO = Path(__file__).resolve().parents[2]


def cpu_seconds(data_dir: Path) -> tuple[float, dict[int, float]]:
    """(CPU seconds of this process, of each process of this run's PostgreSQL server by pid) so far."""
    own = psutil.Process().cpu_times()
    server: dict[int, float] = {}
    try:
        postmaster = psutil.Process(int((data_dir / "pg" / "postmaster.pid").read_text().split()[0]))
        for process in [postmaster, *postmaster.children(recursive=True)]:
            times = process.cpu_times()
            server[process.pid] = times.user + times.system
    except (OSError, ValueError, psutil.Error):
        pass  # an external server (QUNYUN_TEST_DATABASE_URL): its CPU is not ours to count
    return own.user + own.system, server


def cpu_between(before: tuple[float, dict[int, float]], after: tuple[float, dict[int, float]]) -> tuple[float, float]:
    """(this process, PostgreSQL) CPU seconds between two readings. Per pid: a process that exited meanwhile
    (an autovacuum worker) is not subtracted whole, one that started is counted from zero."""
    server = sum(seconds - before[1].get(pid, 0.0) for pid, seconds in after[1].items())
    return after[0] - before[0], server


CONDITION = {"fact": "quiz_error_rate", "series_id": 3, "within_days": 30, "op": "gt", "value": 0.5}


async def main(members: int, *, analyze: bool) -> None:
    infra = start_infra(REPO)
    name = await migrated_database(infra, "tagging")
    try:
        settings = TaggingSettings(_env_file=None, environment="test", database_url=infra.server_uri,
                                   database_name=name, kafka_bootstrap_servers=infra.bootstrap,
                                   kafka_namespace="bench.", run_worker=False)
        app = create_app(settings)
        async with LifespanManager(app, startup_timeout=60):
            runtime = app.state.runtime
            async with runtime.session_factory() as session:
                await session.execute(text(
                    "INSERT INTO member_facts (member_no) SELECT g FROM generate_series(10001, 10000 + :n) g"
                ), {"n": members})
                await session.execute(text(
                    "INSERT INTO daily_quiz (member_no, day, series_id, answers, wrong) "
                    "SELECT g, current_date, 3, 10, CASE WHEN g % 3 = 0 THEN 8 ELSE 2 END "
                    "FROM generate_series(10001, 10000 + :n) g"
                ), {"n": members})
                await session.commit()
                if analyze:
                    # What autovacuum does within a minute of a bulk load: without statistics the planner
                    # takes the 100,000 fresh rows for a few hundred (sorts spill, per-chunk evidence
                    # reads scan the whole series), which no running system sees.
                    await session.execute(text("ANALYZE member_facts, daily_quiz"))
            await runtime.extras["index"].rebuild(runtime.session_factory)
            token = TokenCodec(settings).issue_internal(
                caller="bench", audience="tagging", staff=StaffPrincipal(1, "bench", frozenset({"admin"})))
            headers = {"authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
                group = (await client.post("/admin/v1/tag-groups", json={"name": "b"}, headers=headers)).json()
                tag = (await client.post("/admin/v1/tags", json={"group_id": group["id"], "name": "b"},
                                         headers=headers)).json()
                rule = (await client.post("/admin/v1/tag-rules", headers=headers, json={
                    "name": "b", "condition": CONDITION, "tag_id": tag["id"]})).json()
                load_before = os.getloadavg()
                cpu_before = cpu_seconds(infra.data_dir)
                started = time.perf_counter()
                await rules.run_backfill(runtime.session_factory, runtime.extras["segments"],
                                         now=__import__("datetime").datetime.now(__import__("datetime").UTC))
                elapsed = time.perf_counter() - started
                cpu_after = cpu_seconds(infra.data_dir)
                load_after = os.getloadavg()
                progress = (await client.get(f"/admin/v1/tag-rules/{rule['id']}/backfill", headers=headers)).json()
            async with runtime.session_factory() as session:
                t0 = time.perf_counter()
                raw = await session.scalar(text(
                    "SELECT count(*) FROM (SELECT member_no FROM daily_quiz WHERE series_id = 3 "
                    "AND day > current_date - 30 GROUP BY 1 HAVING sum(wrong)::float / sum(answers) > 0.5) s"))
                raw_elapsed = time.perf_counter() - t0
        print(f"members {members:,}; rule tags {progress['changed']:,} (raw SQL count {raw:,}); seeded tables "
              + ("analysed" if analyze else "not analysed"))
        print(f"{'what':<34}{'seconds':>9}{'members/s':>12}")
        print(f"{'back-fill (evaluate + tag + events)':<34}{elapsed:>9.2f}{members / elapsed:>12,.0f}")
        print(f"{'raw SQL condition only':<34}{raw_elapsed:>9.2f}{members / raw_elapsed:>12,.0f}")
        own, server = cpu_between(cpu_before, cpu_after)
        print(f"CPU during the back-fill: tagging (this process) {own:.2f} s, PostgreSQL {server:.2f} s "
              f"({(own + server) / elapsed:.2f} cores of {os.cpu_count()})")
        print("load average (1, 5, 15 min) before / after: "
              + " / ".join(", ".join(f"{x:.1f}" for x in load) for load in (load_before, load_after)))
        assert progress["state"] == "done" and progress["changed"] == raw
    finally:
        await drop_database(infra.server_uri, name)
        infra.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Rule back-fill rate beside the raw SQL of its condition.")
    parser.add_argument("--members", type=int, default=100_000, help="members seeded with quiz facts")
    parser.add_argument("--no-analyze", action="store_true",
                        help="skip ANALYZE after seeding (the figures before 2026-12-01 23:30 were taken so)")
    options = parser.parse_args()
    asyncio.run(main(options.members, analyze=not options.no_analyze))
