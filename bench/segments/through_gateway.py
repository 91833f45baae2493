"""Segment count + first page through the gateway at 1,000,000 members and 10,000,000 member-tag rows.

Seeds tagging's database directly (SQL ``generate_series``): ``--members``
members, ``--tags`` tags carried by about half of the members each (10 M
rows at the defaults), and quiz facts for every member. Starts tagging-service
and the gateway as processes, then times ``POST /admin/v1/segments/preview``
with a staff token through the gateway: two tags AND, one NOT, one fact clause
(``quiz_error_rate`` of a series in the last 30 days above 30 %), count plus
the first page of 50. Beside it, in the same run: a raw SQL ``count(*)`` of
one tag's rows in ``member_tags`` (asyncpg, same server).

    .venv/bin/python bench/segments/through_gateway.py [--members 1000000] [--tags 20] [--requests 400]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # bench/common.py, after the packages (bench/gateway/)

import asyncpg
import httpx
import psutil
from common import REPO, print_table, spawn, wait_http
from pyroaring import BitMap64

from shared.auth import StaffPrincipal, TokenCodec
from shared.settings import QunyunSettings
from shared.testing.infra import drop_database, free_port, migrated_database, start_infra, with_database

FIRST = 10001
FACT = {"fact": "quiz_error_rate", "series_id": 3, "within_days": 30, "op": "gt", "value": 0.3}


async def seed(dsn: str, members: int, tags: int) -> list[int]:
    """Members, tags carried by about half of them each, and quiz facts for everyone; returns the tag ids."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET synchronous_commit = off; SET maintenance_work_mem = '256MB'")
        group = await conn.fetchval("INSERT INTO tag_groups (name) VALUES ('bench') RETURNING id")
        tag_ids = [await conn.fetchval("INSERT INTO tags (group_id, name) VALUES ($1, $2) RETURNING id",
                                       group, f"t{i}") for i in range(tags)]
        last = FIRST + members - 1
        # Attributes: a third follow the service account.
        await conn.execute("INSERT INTO member_facts (member_no, follows_oa) "
                           "SELECT g, g % 3 = 0 FROM generate_series($1::bigint, $2) g", FIRST, last)
        # Indexes are built after the 10 M rows (much faster than maintaining them row by row).
        await conn.execute("ALTER TABLE member_tags DROP CONSTRAINT pk_member_tags")
        await conn.execute("DROP INDEX ix_member_tags_tag_id; DROP INDEX ix_member_tags_expires_at")
        for i, tag_id in enumerate(tag_ids):
            await conn.execute(
                "INSERT INTO member_tags (member_no, tag_id, source, applied_at) "
                "SELECT g, $1, 'staff', now() FROM generate_series($2::bigint, $3) g "
                "WHERE hashint8(g * 64 + $4) & 1 = 0", tag_id, FIRST, last, i)
        await conn.execute("ALTER TABLE member_tags ADD CONSTRAINT pk_member_tags PRIMARY KEY (member_no, tag_id)")
        await conn.execute("CREATE INDEX ix_member_tags_tag_id ON member_tags (tag_id)")
        await conn.execute("CREATE INDEX ix_member_tags_expires_at ON member_tags (expires_at)")
        # Quiz facts for every member: 10 answers on one of the last 20 days, 0-10 wrong.
        await conn.execute(
            "INSERT INTO daily_quiz (member_no, day, series_id, answers, wrong) "
            "SELECT g, current_date - (g % 20)::int, 3, 10, (hashint8(g * 31) & 2147483647) % 11 "
            "FROM generate_series($1::bigint, $2) g", FIRST, last)
        await conn.execute("ANALYZE")
        return tag_ids
    finally:
        await conn.close()


async def expected(dsn: str, definition_tags: list[int]) -> tuple[int, list[int], BitMap64, list[BitMap64]]:
    """The selection computed independently in SQL: (count, first 50, universe, the three tag bitmaps)."""
    conn = await asyncpg.connect(dsn)
    try:
        a, b, c = definition_tags
        rows = await conn.fetch(
            "SELECT q.member_no FROM daily_quiz q WHERE q.series_id = 3 AND q.day > current_date - 30 "
            "GROUP BY 1 HAVING sum(q.wrong)::float / sum(q.answers) > 0.3 "
            "INTERSECT SELECT member_no FROM member_tags WHERE tag_id = $1 "
            "INTERSECT SELECT member_no FROM member_tags WHERE tag_id = $2 "
            "EXCEPT SELECT member_no FROM member_tags WHERE tag_id = $3 ORDER BY 1", a, b, c)
        chosen = [r[0] for r in rows]
        universe = BitMap64(r[0] for r in await conn.fetch("SELECT member_no FROM member_facts"))
        bitmaps = [BitMap64(r[0] for r in await conn.fetch("SELECT member_no FROM member_tags WHERE tag_id = $1",
                                                            t)) for t in definition_tags]
        return len(chosen), chosen[:50], universe, bitmaps
    finally:
        await conn.close()


async def expected_extra(dsn: str, tag: int) -> tuple[int, list[int], list[tuple[int, float]]]:
    """SQL of the attribute clause (tag AND follows_oa: count, first 50) and the ranked first page."""
    conn = await asyncpg.connect(dsn)
    try:
        attr = [r[0] for r in await conn.fetch(
            "SELECT t.member_no FROM member_tags t JOIN member_facts f USING (member_no) "
            "WHERE t.tag_id = $1 AND f.follows_oa ORDER BY 1", tag)]
        return len(attr), attr[:50], []
    finally:
        await conn.close()


async def expected_ranked(dsn: str, chosen: set[int]) -> list[tuple[int, float]]:
    """The segment's members ranked by their quiz error rate (desc, ties by member number), first 50."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT q.member_no, sum(q.wrong)::float / sum(q.answers) FROM daily_quiz q "
            "WHERE q.series_id = 3 AND q.day > current_date - 30 GROUP BY 1 HAVING sum(q.answers) > 0")
        values = {r[0]: r[1] for r in rows}
        return sorted(((m, values.get(m, 0.0)) for m in chosen), key=lambda r: (-r[1], r[0]))[:50]
    finally:
        await conn.close()


async def warm_up(url: str, token: str, body: dict, timeout: float = 300) -> None:
    """Until a preview answers 200: its first read (in line) may outlast the gateway's upstream timeout."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=60) as client:
        while time.monotonic() < deadline:
            if (await client.post(url, json=body)).status_code == 200:
                return
            await asyncio.sleep(1)
    raise TimeoutError(f"no answer to {body}")


async def timed_get(url: str, runs: int, headers: dict[str, str] | None = None) -> list[float]:
    """Latencies (ms) of GET ``url`` from one client (the floor of an HTTP round trip here)."""
    out = []
    async with httpx.AsyncClient(headers=headers or {}, timeout=30) as client:
        for _ in range(runs):
            t0 = time.perf_counter()
            r = await client.get(url)
            out.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
    return sorted(out)


async def server_timing(url: str, token: str, body: dict, runs: int) -> dict[str, float]:
    """Median of each part of tagging's ``server-timing`` header over ``runs`` previews."""
    parts: dict[str, list[float]] = {}
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=30) as client:
        for _ in range(runs):
            r = await client.post(url, json=body)
            assert r.status_code == 200, r.text
            for item in r.headers.get("server-timing", "").split(","):
                name, _, dur = item.strip().partition(";dur=")
                if dur:
                    parts.setdefault(name, []).append(float(dur))
    return {name: statistics.median(values) for name, values in parts.items()}


async def freshness(gateway: str, token: str, tag: int, member_no: int) -> float:
    """Seconds from a staff tag application (201) until a preview of that tag counts it."""
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        body = {"definition": {"tag": tag}, "limit": 1}
        before = (await client.post(gateway + "/admin/v1/segments/preview", json=body)).json()["count"]
        r = await client.post(f"{gateway}/admin/v1/members/{member_no}/tags", json={"tag_id": tag})
        assert r.status_code == 201, r.text
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 30:
            if (await client.post(gateway + "/admin/v1/segments/preview", json=body)).json()["count"] > before:
                return time.perf_counter() - t0
            await asyncio.sleep(0.02)
        return float("inf")


async def raw_count(dsn: str, tag_id: int, runs: int) -> list[float]:
    """Latencies (ms) of ``SELECT count(*) FROM member_tags WHERE tag_id = $1``."""
    conn = await asyncpg.connect(dsn)
    try:
        out = []
        for _ in range(runs):
            t0 = time.perf_counter()
            await conn.fetchval("SELECT count(*) FROM member_tags WHERE tag_id = $1", tag_id)
            out.append((time.perf_counter() - t0) * 1000)
        return out
    finally:
        await conn.close()


async def previews(url: str, token: str, body: dict, runs: int, concurrency: int) -> tuple[list[float], dict]:
    """Latencies (ms) of the preview at ``url``, ``concurrency`` clients back to back."""
    latencies: list[float] = []
    last: dict = {}
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=30) as client:

        async def worker(n: int) -> None:
            nonlocal last
            for _ in range(n):
                t0 = time.perf_counter()
                r = await client.post(url, json=body)
                latencies.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
                last = r.json()

        await asyncio.gather(*(worker(runs // concurrency) for _ in range(concurrency)))
    return sorted(latencies), last


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--keep", action="store_true",
                        help="keep the seeded tagging database (its name is printed) for --database")
    parser.add_argument("--database", help="reuse a tagging database seeded by an earlier --keep run "
                                           "(same --members and --tags)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    infra = start_infra(REPO)
    logs = infra.data_dir / "logs" / "bench-segments"
    logs.mkdir(parents=True, exist_ok=True)
    databases: list[str] = []
    processes = []
    try:
        t0 = time.perf_counter()
        if args.database:
            tagging_db = args.database
            dsn = with_database(infra.server_uri, tagging_db)
            tag_ids = asyncio.run(asyncpg_fetchall(
                dsn, "SELECT t.id FROM tags t JOIN tag_groups g ON g.id = t.group_id WHERE g.name = 'bench' "
                     "ORDER BY t.id"))
        else:
            tagging_db = asyncio.run(migrated_database(infra, "tagging"))
            if not args.keep:
                databases.append(tagging_db)
            dsn = with_database(infra.server_uri, tagging_db)
            tag_ids = asyncio.run(seed(dsn, args.members, args.tags))
            if args.keep:
                print(f"seeded; kept for --database {tagging_db}", flush=True)
        seeded = time.perf_counter() - t0
        gateway_db = asyncio.run(migrated_database(infra, "gateway"))
        databases.append(gateway_db)
        rows = asyncio.run(asyncpg_fetchval(dsn, "SELECT count(*) FROM member_tags"))
        secret = secrets.token_urlsafe(36)
        ports = {"tagging": free_port(), "gateway": free_port()}
        env = {
            "QUNYUN_ENV": "test", "QUNYUN_ENV_FILE": os.devnull, "QUNYUN_LOG_LEVEL": "WARNING",
            "QUNYUN_SECRET_KEY": secret, "DATABASE_URL": infra.server_uri, "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
            "QUNYUN_KAFKA_NAMESPACE": f"benchseg{secrets.token_hex(3)}.",
            "TAGGING_DATABASE_NAME": tagging_db, "TAGGING_PORT": str(ports["tagging"]),
            "GATEWAY_DATABASE_NAME": gateway_db, "GATEWAY_PORT": str(ports["gateway"]),
            "QUNYUN_TAGGING_URL": f"http://127.0.0.1:{ports['tagging']}",
        }
        t0 = time.perf_counter()
        tagging = spawn("tagging_service", env, logs / "tagging.log")
        processes.append(tagging)
        processes.append(spawn("gateway", env, logs / "gateway.log"))
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        wait_http(f"{gateway}/healthz", timeout=120)
        codec = TokenCodec(QunyunSettings(secret_key=secret))
        token = codec.issue_staff(StaffPrincipal(staff_id=1, username="bench", roles=frozenset({"operator"})))
        url = f"{gateway}/admin/v1/segments/preview"
        one_tag = {"definition": {"tag": tag_ids[0]}, "limit": 1}
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:  # until the index is built (the tag counts all its rows)
            try:
                r = httpx.post(url, json=one_tag, headers={"authorization": f"Bearer {token}"}, timeout=30)
                if r.status_code == 200 and r.json()["count"] > 0:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        ready = time.perf_counter() - t0
        rss = psutil.Process(tagging.pid).memory_info().rss
        a, b, c = tag_ids[:3]
        body = {"definition": {"and": [{"tag": a}, {"tag": b}, {"not": {"tag": c}}, FACT]}, "limit": 50}
        attr_body = {"definition": {"and": [{"tag": a}, {"attr": "follows_oa", "op": "eq", "value": True}]},
                     "limit": 50}
        ranked_body = {**body, "rank": {"fact": "quiz_error_rate", "series_id": 3, "within_days": 30,
                                        "order": "desc"}}
        count, first_page, universe, bitmaps = asyncio.run(expected(dsn, [a, b, c]))
        all_chosen = asyncio.run(expected_members(dsn, [a, b, c]))
        ranked_expected = asyncio.run(expected_ranked(dsn, all_chosen))
        attr_count, attr_first, _ = asyncio.run(expected_extra(dsn, a))
        internal = codec.issue_internal(caller="gateway", audience="tagging", ttl=3600, staff=StaffPrincipal(
            staff_id=1, username="bench", roles=frozenset({"operator"})))
        direct_url = f"http://127.0.0.1:{ports['tagging']}/admin/v1/segments/preview"
        for warm in (body, attr_body, ranked_body):  # the fact clause, attribute and rank order are read once
            asyncio.run(warm_up(url, token, warm))
            asyncio.run(previews(url, token, warm, 20, 1))
        load_start = os.getloadavg()
        floor = asyncio.run(timed_get(f"{gateway}/healthz", args.requests))
        floor_tagging = asyncio.run(timed_get(f"http://127.0.0.1:{ports['tagging']}/healthz", args.requests))
        serial, answer = asyncio.run(previews(url, token, body, args.requests, 1))
        parallel, _ = asyncio.run(previews(url, token, body, args.requests, 4))
        direct, _ = asyncio.run(previews(direct_url, internal, body, args.requests, 1))
        parts = asyncio.run(server_timing(direct_url, internal, body, max(50, args.requests // 4)))
        attr_lat, attr_answer = asyncio.run(previews(url, token, attr_body, args.requests, 1))
        ranked_lat, ranked_answer = asyncio.run(previews(url, token, ranked_body, args.requests, 1))
        ranked_parts = asyncio.run(server_timing(direct_url, internal, ranked_body, max(50, args.requests // 4)))
        raw = asyncio.run(raw_count(dsn, a, max(50, args.requests // 4)))
        untagged = _untagged(dsn, tag_ids[-1])
        fresh = asyncio.run(freshness(gateway, token, tag_ids[-1], untagged))
        load = os.getloadavg()
        assert answer["count"] == count, (answer["count"], count)
        assert [m["member_no"] for m in answer["members"]] == first_page
        assert attr_answer["count"] == attr_count, (attr_answer["count"], attr_count)
        assert [m["member_no"] for m in attr_answer["members"]] == attr_first
        assert ranked_answer["count"] == count
        got = [(m["member_no"], m["rank_value"]) for m in ranked_answer["members"]]
        assert [m for m, _ in got] == [m for m, _ in ranked_expected], (got[:5], ranked_expected[:5])
        assert all(abs(v - w) < 1e-9 for (_, v), (_, w) in zip(got, ranked_expected, strict=True))
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
        for name in databases:
            asyncio.run(drop_database(infra.server_uri, name))
        infra.stop()
    sizes = [len(bm.serialize()) for bm in bitmaps]
    print(f"\n{args.members:,} members, {rows:,} member-tag rows ({args.tags} tags), quiz facts for every member; "
          f"{'reused ' + tagging_db if args.database else f'seeded in {seeded:.0f} s'}, "
          f"tagging ready (index built) {ready:.0f} s after start")
    print(f"load average (1/5/15 min): before {load_before[0]:.1f}/{load_before[1]:.1f}/{load_before[2]:.1f}, "
          f"measuring from {load_start[0]:.1f}/{load_start[1]:.1f}/{load_start[2]:.1f} "
          f"to {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}")
    print(f"segment: two tags AND, one NOT, one fact clause → {count:,} members (checked against SQL), page of 50; "
          f"attribute segment (tag AND follows_oa) → {attr_count:,}; ranked by quiz error rate (checked)")

    def row(label: str, values: list[float]) -> tuple[str, str, str, str]:
        return (label, f"{statistics.median(values):.1f}", f"{pct(values, 0.99):.1f}", str(len(values)))

    print_table("latency (ms)", [
        row("floor: GET /healthz of the gateway (no auth, no proxy), 1 client", floor),
        row("floor: GET /healthz of tagging-service, 1 client", floor_tagging),
        row("preview through the gateway, 1 client", serial),
        row("preview through the gateway, 4 clients", parallel),
        row("the same straight to tagging-service (no gateway), 1 client", direct),
        row("attribute clause (tag AND follows_oa) through the gateway, 1 client", attr_lat),
        row("ranked first page (by quiz error rate) through the gateway, 1 client", ranked_lat),
        row("raw SQL count(*) of one tag (asyncpg)", raw),
    ], ("what", "p50", "p99", "requests"))
    print("\ninside tagging-service (server-timing, median ms): "
          + ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
          + "; ranked: " + ", ".join(f"{k} {v:.2f}" for k, v in ranked_parts.items()))
    print(f"freshness: a staff tag application counted by a preview {fresh * 1000:.0f} ms after its 201")
    print(f"\nmemory: tagging-service RSS {rss / 1e6:.0f} MB with the index;"
          f" serialised bitmaps: universe {len(universe.serialize()) / 1e3:.0f} KB, tags "
          + ", ".join(f"{s / 1e3:.0f} KB" for s in sizes))
    if args.keep and not args.database:
        print(f"kept the seeded database: --database {tagging_db}")


def _untagged(dsn: str, tag: int) -> int:
    """A member without ``tag``."""
    return asyncio.run(asyncpg_fetchval(
        dsn, f"SELECT min(f.member_no) FROM member_facts f WHERE NOT EXISTS "  # noqa: S608
             f"(SELECT 1 FROM member_tags t WHERE t.member_no = f.member_no AND t.tag_id = {int(tag)})"))


async def expected_members(dsn: str, tags: list[int]) -> set[int]:
    """Every member of the segment (SQL)."""
    conn = await asyncpg.connect(dsn)
    try:
        a, b, c = tags
        rows = await conn.fetch(
            "SELECT q.member_no FROM daily_quiz q WHERE q.series_id = 3 AND q.day > current_date - 30 "
            "GROUP BY 1 HAVING sum(q.wrong)::float / sum(q.answers) > 0.3 "
            "INTERSECT SELECT member_no FROM member_tags WHERE tag_id = $1 "
            "INTERSECT SELECT member_no FROM member_tags WHERE tag_id = $2 "
            "EXCEPT SELECT member_no FROM member_tags WHERE tag_id = $3", a, b, c)
        return {r[0] for r in rows}
    finally:
        await conn.close()


async def asyncpg_fetchall(dsn: str, sql: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        return [int(r[0]) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def asyncpg_fetchval(dsn: str, sql: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
