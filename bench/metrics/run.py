"""Metrics figures over a range of days (90 unless ``--days``), and activity ingest into the projections.

Figures: ``--members`` members and ``--events`` activity events (default 1,000,000
and 10,000,000) spread over ``--days`` days (90), loaded with SQL into a raw table (the
baseline) and into what metrics' consumers keep for the figures (day bitmaps,
hours, counters, campaign facts; the week and month bitmaps by the consumers'
own ``bitmaps.rebuild_spans``, the retention and lifecycle day counts by
``transitions.rebuild``), then the summaries are built from those facts by the same code the consumers
run (``metrics_service.summaries.service.rebuild_all``). Every figure for the
whole range is then asked through the gateway with a staff token (gateway →
metrics-service, as the console asks), ``--requests`` times each: p50 / p99
beside a raw SQL ``count(DISTINCT member_no)`` over the same range of the raw
table.

Ingest: ``--ingest`` activity envelopes on ``app.activity`` into a database that already holds
400 days of first-seen cohorts of 1,000,000 members (what each poll's retention / lifecycle recount
reads); metrics' worker
claims and folds them (one claim and a few upserts per poll of up to 20,000, polls pipelined); the figure is
events/s until every claim committed, beside raw aiokafka consume of the same
topic in the same run. Target: ≥ 10,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from common import REPO, print_table, spawn, wait_http
from pyroaring import BitMap

from shared.auth import StaffPrincipal, TokenCodec
from shared.contracts.gateway import ActivityRecorded
from shared.events.envelope import Envelope
from shared.kafka.topics import APP_ACTIVITY, all_topics, ensure_topics
from shared.settings import QunyunSettings
from shared.testing.infra import drop_database, free_port, migrated_database, start_infra, with_database

DAYS = 90
SECRET = "bench-metrics-" + "x" * 32


K = 2654435761  # the generator's multiplier: event i is member 10001 + (i * K) % members


def load_sql(members: int, events: int, first: date) -> list[str]:
    """Statements that fill the raw table (the baseline) and the facts the figures read (in SQL).

    Event ``i`` is member ``10001 + (i * K) % members`` on day ``(i * 7) % 90`` at second ``(i * 37) % 86400``
    of that Asia/Shanghai day (the loader's bitmaps compute the same members per day in Python).
    ``member_days`` is not loaded: no figure reads it (they read the bitmaps and counters), and its
    9,000,000 rows were most of the old loader's time.
    """
    start = f"TIMESTAMPTZ '{first.isoformat()} 00:00:00+08'"
    return [
        "SET work_mem = '256MB'",
        "SET maintenance_work_mem = '512MB'",
        "CREATE UNLOGGED TABLE bench_raw_activity (member_no bigint, at timestamptz, duration_ms int)",
        f"""INSERT INTO bench_raw_activity
            SELECT 10001 + (i * {K}) % {members},
                   {start} + ((i * 7) % {DAYS}) * INTERVAL '1 day' + ((i * 37) % 86400) * INTERVAL '1 second',
                   1000 + (i * 13) % 60000
            FROM generate_series(0, {events - 1}::bigint) AS i""",  # noqa: S608
        # One scan for the hours and the dwell counters.
        """CREATE TEMP TABLE bench_hours AS
            SELECT (at AT TIME ZONE 'Asia/Shanghai')::date AS day,
                   extract(hour FROM at AT TIME ZONE 'Asia/Shanghai')::smallint AS hour,
                   count(*) AS events, sum(duration_ms) AS dwell
            FROM bench_raw_activity GROUP BY 1, 2""",
        "INSERT INTO activity_hours (day, hour, events) SELECT day, hour, events FROM bench_hours",
        "INSERT INTO daily_counters (day, kind, value) SELECT day, 'dwell_ms', sum(dwell) FROM bench_hours GROUP BY 1",
        f"""INSERT INTO member_facts (member_no, first_seen_at, first_seen_date, first_app)
            SELECT 10001 + m, {start} + (m % {DAYS}) * INTERVAL '1 day',
                   ({start} + (m % {DAYS}) * INTERVAL '1 day')::date, 'mp'
            FROM generate_series(0, {members - 1}) AS m""",  # noqa: S608
        """INSERT INTO daily_counters (day, kind, value)
            SELECT first_seen_date, 'new_members', count(*) FROM member_facts GROUP BY 1""",
        # One series of three periods, 20,000 members each, a third of them renewing; a group per period.
        f"""INSERT INTO period_facts (period_id, series_id, number, fee_fen, first_registration_at, closed_at)
            SELECT p, 1, p, 9900, {start} + (p * 25) * INTERVAL '1 day', {start} + (p * 25 + 15) * INTERVAL '1 day'
            FROM generate_series(1, 3) AS p""",  # noqa: S608
        f"""INSERT INTO registration_facts (registration_id, member_no, series_id, period_id, fee_fen, created_at,
                                            paid_at, paid_fen)
            SELECT p * 100000 + k, 10001 + k + (p - 1) * 13333, 1, p, 9900,
                   {start} + (p * 25) * INTERVAL '1 day', {start} + (p * 25) * INTERVAL '1 day', 9900
            FROM generate_series(1, 3) AS p, generate_series(0, 19999) AS k""",  # noqa: S608
        f"""INSERT INTO community_facts (community_id, open_gid, period_id, first_seen_at, last_seen_at)
            SELECT p, 'G' || p, p, {start} + (p * 25) * INTERVAL '1 day', {start} + (p * 25 + 30) * INTERVAL '1 day'
            FROM generate_series(1, 3) AS p""",  # noqa: S608
        """INSERT INTO community_member_facts (community_id, member_no, first_seen_at, last_seen_at)
            SELECT period_id, member_no, created_at, created_at + ((member_no % 40) * INTERVAL '1 day')
            FROM registration_facts""",
        """INSERT INTO period_sightings (period_id, community_id, member_no, first_seen_at, last_seen_at)
            SELECT c.period_id, m.community_id, m.member_no, m.first_seen_at, m.last_seen_at
            FROM community_member_facts m JOIN community_facts c USING (community_id)""",
        """INSERT INTO channel_touches (member_no, channel_id, scene, touched_at)
            SELECT member_no, 1 + member_no % 5, 'scene-' || (1 + member_no % 5), created_at - INTERVAL '1 hour'
            FROM registration_facts WHERE period_id = 1""",
        "ANALYZE",
    ]


def day_members(members: int, events: int) -> dict[int, BitMap]:
    """Per day index: the members the generator puts on that day (``load_sql``'s formula, in Python)."""
    out = {}
    step = (DAYS * K) % members
    inverse = pow(7, -1, DAYS)
    for d in range(DAYS):
        i0 = (d * inverse) % DAYS  # the first event i with (i * 7) % DAYS == d
        count = len(range(i0, events, DAYS))
        a = (i0 * K) % members
        out[d] = BitMap(10001 + (a + j * step) % members for j in range(count))
    return out


async def load_bitmaps(conn: asyncpg.Connection, members: int, events: int, first: date) -> int:
    """The day bitmaps the consumers keep (active = mini-program here: every event is telemetry; new).

    Returns the member-days (what ``member_days`` would hold). The week and month bitmaps are then
    built from these by the consumers' own code (``bitmaps.rebuild_spans``).
    """
    member_days = 0
    rows = []
    for d, bitmap in day_members(members, events).items():
        day, stored = first + timedelta(days=d), bitmap.serialize()
        member_days += len(bitmap)
        rows += [(day, "any", stored, len(bitmap)), (day, "mp", stored, len(bitmap))]
    for d in range(DAYS):
        new = BitMap(range(10001 + d, 10001 + members, DAYS))
        rows.append((first + timedelta(days=d), "new", new.serialize(), len(new)))
    await conn.executemany(
        "INSERT INTO day_bitmaps (day, kind, members, cardinality) VALUES ($1, $2, $3, $4)", rows
    )
    return member_days


def figure_paths(first: date, last: date) -> list[str]:
    """Every figure for the range."""
    r = f"from={first.isoformat()}&to={last.isoformat()}"
    return [
        # The floor: one figure over a day without data, the same route through the gateway.
        "/admin/v1/metrics/heatmap?from=2001-01-01&to=2001-01-01",
        f"/admin/v1/metrics/overview?{r}",
        f"/admin/v1/metrics/overview?{r}&granularity=week",
        f"/admin/v1/metrics/overview?{r}&granularity=month",
        f"/admin/v1/metrics/lifecycle?{r}",
        f"/admin/v1/metrics/lifecycle?{r}&granularity=week",
        f"/admin/v1/metrics/lifecycle?{r}&granularity=month",
        f"/admin/v1/metrics/retention?{r}&intervals=30",
        f"/admin/v1/metrics/retention?{r}&intervals=60",
        f"/admin/v1/metrics/retention?{r}&granularity=week&intervals=8",
        f"/admin/v1/metrics/retention?{r}&granularity=month&intervals=3",
        f"/admin/v1/metrics/dwell?{r}",
        f"/admin/v1/metrics/dwell?{r}&granularity=week",
        f"/admin/v1/metrics/dwell?{r}&granularity=month",
        f"/admin/v1/metrics/heatmap?{r}",
        f"/admin/v1/metrics/channels?{r}",
        f"/admin/v1/metrics/communities?{r}",
        "/admin/v1/metrics/periods/2",
        "/admin/v1/metrics/series/1/renewal",
        "/admin/v1/metrics/series/1/cohorts?view=origin",
        "/admin/v1/metrics/series/1/cohorts?view=source",
        f"/admin/v1/metrics/overview?{r}&format=csv",
    ]


def _label(path: str) -> str:
    """The figure and its non-range parameters."""
    name, _, query = path.removeprefix("/admin/v1/metrics").partition("?")
    if "from=2001-01-01" in query:
        return "floor: heatmap of one empty day (per-request cost)"
    extra = [p for p in query.split("&") if p and not p.startswith(("from=", "to="))]
    return name + ("?" + "&".join(extra) if extra else "")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


COHORT_DAYS, COHORT_MEMBERS = 400, 1_000_000


async def seed_cohorts(conn: asyncpg.Connection, url: str) -> None:
    """First-seen (``new``) day bitmaps of 1,000,000 members over the 400 days ending today, their weeks and
    months, and the retention / lifecycle counts: what every ingest poll's recount reads on a grown system."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    rows = []
    for d in range(COHORT_DAYS):
        new = BitMap(range(10001 + d, 10001 + COHORT_MEMBERS, COHORT_DAYS))
        rows.append((today - timedelta(days=d), "new", new.serialize(), len(new)))
    await conn.executemany("INSERT INTO day_bitmaps (day, kind, members, cardinality) VALUES ($1, $2, $3, $4)", rows)
    await build_summaries(url)


async def build_summaries(url: str) -> None:
    """The summaries of the loaded facts, by the consumers' own code."""
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from metrics_service.activity import transitions
    from metrics_service.activity.bitmaps import rebuild_spans
    from metrics_service.summaries.service import rebuild_all

    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with async_sessionmaker(engine)() as session:
            await rebuild_spans(session)
            await transitions.rebuild(session)
            await rebuild_all(session)
            await session.commit()
    finally:
        await engine.dispose()


async def figures(infra, members: int, events: int, requests: int, logs: Path) -> list[tuple[str, ...]]:
    """Load, serve through the gateway, time every figure and the raw SQL baseline."""
    db = await migrated_database(infra, "metrics")
    gateway_db = await migrated_database(infra, "gateway")
    url = with_database(infra.server_uri, db)
    last = datetime.now(UTC).date()
    first = last - timedelta(days=DAYS - 1)
    conn = await asyncpg.connect(url)
    rows: list[tuple[str, ...]] = []
    server = gateway = None
    try:
        started = time.perf_counter()
        for statement in load_sql(members, events, first):
            await conn.execute(statement)
        sql_seconds = time.perf_counter() - started
        member_days = await load_bitmaps(conn, members, events, first)
        await build_summaries(url)
        await conn.execute("ANALYZE")
        load_seconds = time.perf_counter() - started
        rows.append((f"load {events:,} events, {members:,} members (SQL {sql_seconds:,.0f} s, then bitmaps"
                     " and summaries)", f"{load_seconds:,.0f} s", f"{member_days:,} member-days", ""))
        raw = []
        shanghai = ZoneInfo("Asia/Shanghai")
        since = datetime.combine(first, datetime.min.time(), shanghai)
        until = datetime.combine(last + timedelta(days=1), datetime.min.time(), shanghai)
        for _ in range(3):
            t = time.perf_counter()
            distinct = await conn.fetchval(
                "SELECT count(DISTINCT member_no) FROM bench_raw_activity WHERE at >= $1 AND at < $2", since, until
            )
            raw.append((time.perf_counter() - t) * 1000)
        # The bitmaps hold what the raw rows hold (the loader's Python formula is the SQL one).
        union = BitMap.union(*day_members(members, events).values())
        assert distinct == len(union), (distinct, len(union))
        rows.append((f"baseline: raw SQL count(DISTINCT) over {DAYS} days", f"{statistics.median(raw):,.1f}",
                     f"{max(raw):,.1f}", "3"))
        port, gateway_port = free_port(), free_port()
        env = {
            "QUNYUN_ENV": "test", "QUNYUN_ENV_FILE": os.devnull, "QUNYUN_LOG_LEVEL": "WARNING",
            "DATABASE_URL": infra.server_uri, "METRICS_DATABASE_NAME": db, "METRICS_PORT": str(port),
            "METRICS_RUN_WORKER": "false", "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
            "QUNYUN_SECRET_KEY": SECRET, "GATEWAY_DATABASE_NAME": gateway_db, "GATEWAY_PORT": str(gateway_port),
            "QUNYUN_METRICS_URL": f"http://127.0.0.1:{port}", "GATEWAY_RUN_WORKER": "false",
        }
        server = spawn("metrics_service", env, logs / "metrics-figures.log")
        gateway = spawn("gateway", env, logs / "gateway-figures.log")
        wait_http(f"http://127.0.0.1:{port}/healthz")
        base = f"http://127.0.0.1:{gateway_port}"
        wait_http(base + "/healthz")
        codec = TokenCodec(QunyunSettings(secret_key=SECRET))  # type: ignore[call-arg]
        staff = StaffPrincipal(staff_id=1, username="bench", roles=frozenset({"viewer"}))
        headers = {"authorization": "Bearer " + codec.issue_staff(staff)}
        rows.append(("load average (1 min) before the requests", f"{os.getloadavg()[0]:.1f}", "", ""))
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            for path in figure_paths(first, last):
                answer = await http.get(path, headers=headers)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
                timings = []
                for _ in range(requests):
                    t = time.perf_counter()
                    answer = await http.get(path, headers=headers)
                    timings.append((time.perf_counter() - t) * 1000)
                rows.append((_label(path), f"{_pct(timings, 0.5):,.1f}", f"{_pct(timings, 0.99):,.1f}",
                             str(requests)))
        rows.append(("load average (1 min) after the requests", f"{os.getloadavg()[0]:.1f}", "", ""))
    finally:
        for process in (server, gateway):
            if process is not None:
                process.terminate()
                process.wait(10)
        await conn.close()
        await drop_database(infra.server_uri, db)
        await drop_database(infra.server_uri, gateway_db)
    return rows


def _envelopes(count: int, members: int) -> list[tuple[bytes, bytes]]:
    now = datetime.now(UTC)
    out = []
    for i in range(count):
        m = 10001 + (i * 7919) % members
        data = ActivityRecorded(member_no=m, kind="page.viewed", at=now - timedelta(seconds=i % 3600),
                                page=f"pages/p{i % 40}", duration_ms=1000 + i % 30000, client_event_id=f"b{i}")
        envelope = Envelope(type="app.activity.recorded", source="gateway", member_no=m,
                            data=data.model_dump(mode="json"))
        out.append((str(m).encode(), envelope.to_bytes()))
    return out


async def ingest(infra, count: int, logs: Path) -> list[tuple[str, ...]]:
    """Raw aiokafka consume, then metrics' worker folding the same events into the rollups."""
    namespace = f"benchm{uuid.uuid4().hex[:6]}."
    await ensure_topics(infra.bootstrap, all_topics(namespace), partitions=12)
    topic = namespace + APP_ACTIVITY
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    futures = [await producer.send(topic, value, key=key) for key, value in _envelopes(count, 50_000)]
    await asyncio.gather(*futures)
    await producer.stop()

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=infra.bootstrap, group_id=f"raw-{namespace}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    got, first = 0, None
    while got < count:
        batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
        if batch and first is None:
            first = time.perf_counter()
        for tp, records in batch.items():
            got += len(records)
            await consumer.commit({tp: records[-1].offset + 1})
    raw_rate = count / (time.perf_counter() - (first or time.perf_counter()))
    await consumer.stop()

    db = await migrated_database(infra, "metrics")
    conn = await asyncpg.connect(with_database(infra.server_uri, db))
    await seed_cohorts(conn, with_database(infra.server_uri, db))
    worker = spawn("metrics_service.worker", {
        "QUNYUN_ENV": "test", "QUNYUN_ENV_FILE": os.devnull, "QUNYUN_LOG_LEVEL": "WARNING",
        "DATABASE_URL": infra.server_uri, "METRICS_DATABASE_NAME": db,
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap, "QUNYUN_KAFKA_NAMESPACE": namespace,
        "QUNYUN_SECRET_KEY": SECRET,
    }, logs / "metrics-ingest.log")
    try:
        started = None
        while True:
            applied = await conn.fetchval("SELECT count(*) FROM processed_events")
            if applied and started is None:
                started, at_start = time.perf_counter(), applied
            if applied >= count:
                break
            await asyncio.sleep(0.05)
        assert started is not None
        rate = (count - at_start) / (time.perf_counter() - started)
        folded = await conn.fetchval("SELECT sum(events) FROM member_days")
        assert folded == count, (folded, count)
    finally:
        worker.terminate()
        worker.wait(10)
        await conn.close()
        await drop_database(infra.server_uri, db)
    return [
        ("load average (1 min) at the end", f"{os.getloadavg()[0]:.1f}"),
        (f"raw aiokafka consume + commit of {count:,} activity events", f"{raw_rate:,.0f}"),
        ("metrics worker: batch claim + rollup upserts, offsets after commit", f"{rate:,.0f}"),
        ("  share of raw consume", f"{rate / raw_rate:.0%}"),
    ]


def main() -> None:
    """Run the benchmark and print the tables."""
    global DAYS  # the generator's formulas read it
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000, help="members (default 1,000,000)")
    parser.add_argument("--events", type=int, default=10_000_000, help="activity events over the range (10,000,000)")
    parser.add_argument("--days", type=int, default=DAYS,
                        help=f"days of the range the events spread over and the figures ask ({DAYS}; at most 400,"
                             " the longest range the API accepts; not a multiple of 7)")
    parser.add_argument("--requests", type=int, default=100, help="requests per figure (100)")
    parser.add_argument("--ingest", type=int, default=200_000, help="telemetry events for the ingest run (0: none)")
    parser.add_argument("--skip-figures", action="store_true", help="only the ingest run")
    args = parser.parse_args()
    if not 1 <= args.days <= 400 or args.days % 7 == 0:
        parser.error("--days must be 1…400 and not a multiple of 7 (the generator steps days by 7)")
    DAYS = args.days
    infra = start_infra(REPO)
    logs = infra.data_dir / "logs" / "bench-metrics"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        if not args.skip_figures:
            rows = asyncio.run(figures(infra, args.members, args.events, args.requests, logs))
            print_table(f"figures over {DAYS} days: {args.members:,} members, {args.events:,} activity events",
                        rows, ("figure", "p50 ms", "p99 ms", "requests"))
        if args.ingest:
            print_table("activity ingest into the projections", asyncio.run(ingest(infra, args.ingest, logs)),
                        ("path", "events/s"))
    finally:
        infra.stop()


if __name__ == "__main__":
    main()
