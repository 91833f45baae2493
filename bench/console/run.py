"""The console's weight and the dashboard's time to interactive over the bench data set.

Size: the initial JS + CSS (gzip) of the login and dashboard routes, read from the Vite
manifest of ``console/dist`` (the entry chunk, the route's chunks and everything they import
statically, with their CSS) and from its index.html (the files it has the browser preload on
that route, and the script that does it), beside the whole build's JS + CSS (what one bundle would weigh).
Budget: ≤ 600 KB per route.

Time: the whole system runs (gateway serving the build, every service, broker, simulator);
metrics' database is filled with bench/metrics' data set (``--members`` members, default
1,000,000, and ``--events`` activity events over 90 days, plus its series of three periods,
channels and groups: loaded by bench/metrics' own ``load_sql``/``load_bitmaps``/``build_summaries``). Chromium
then opens ``/console/dashboard`` for that 90-day range with a staff token, cold, ``--runs``
times; the figure is the ``qunyun:dashboard`` measure the dashboard records itself (Performance
API: from the navigation start until every figure has drawn its data, or shows its empty or
error state). Every time is from the navigation start of a page (its Performance API time origin), in a
fresh browser context of one Chromium started before the runs: Chromium's start-up is not counted.
Baselines of the same run: the bare login page (navigation → the form is there, with when its document
and its last file had arrived)
and the dashboard's own API calls replayed in parallel by ``fetch`` from the same page (the floor
the dashboard cannot beat); with ``--baseline-dist`` another build (the previous commit's), served by a
second gateway of the same system and loaded in turns with this one in every run. Target: ≤ 1,500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx
import psutil
from common import REPO, print_table

from shared.testing.infra import free_port, start_infra, with_database
from shared.testing.system import start_system

DIST = REPO / "console" / "dist"
BUDGET_KB = 600
TARGET_MS = 1500
ROUTES = {
    "login": ["src/views/login/index.vue"],
    "dashboard": ["src/layout/BasicLayout.vue", "src/views/dashboard/index.vue"],
}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
WAIT_MS = 180_000
TOKEN_KEY = "qunyun.staff.token"  # noqa: S105 (the sessionStorage key, not a secret)


def _bench_metrics() -> Any:
    """bench/metrics/run.py as a module (its data loader is the data set)."""
    spec = importlib.util.spec_from_file_location("bench_metrics_run", REPO / "bench" / "metrics" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- size -----------------------------------------------------------------------------------------


def _gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def route_files(manifest: dict[str, Any], keys: list[str]) -> set[str]:
    """The entry chunk, the route's chunks and their static imports, with their CSS."""
    files: set[str] = set()

    def collect(key: str) -> None:
        chunk = manifest.get(key)
        if not chunk or chunk["file"] in files:
            return
        files.add(chunk["file"])
        files.update(chunk.get("css", []))
        for imported in chunk.get("imports", []):
            collect(imported)

    entry = next(k for k, c in manifest.items() if c.get("isEntry"))
    collect(entry)
    for key in keys:
        if key not in manifest:
            raise KeyError(f"{key} is not in the manifest: is console/dist from this tree?")
        collect(key)
    return files


def preloaded_files(dist: Path, route: str) -> set[str]:
    """What index.html has the browser fetch beside the entry on ``/console/<route>`` (console/plugins/
    routePreload.ts): the route's preload list and the script that reads it, as paths inside the build."""
    html = (dist / "index.html").read_text()
    files: set[str] = set()
    for paths, content in re.findall(r'<meta name="qunyun-preload" data-paths="([^"]*)"[^>]* content="([^"]*)"', html):
        if f"/console/{route}" in paths.split():
            files.update(f.removeprefix("/console/") for f in content.split())
    for script in re.findall(r'<script [^>]*src="/console/([^"]+)"', html):
        if not script.startswith("assets/"):  # the entry is in the manifest; a static script is not
            files.add(script)
    return files


def sizes(dist: Path = DIST) -> tuple[list[tuple[str, ...]], bool]:
    """Rows of the size table and whether every route is within the budget."""
    manifest = json.loads((dist / ".vite" / "manifest.json").read_text())
    rows: list[tuple[str, ...]] = []
    within = True
    for route, keys in ROUTES.items():
        files = route_files(manifest, keys) | preloaded_files(dist, route)
        js = sum(_gzip_size(dist / f) for f in files if f.endswith(".js"))
        css = sum(_gzip_size(dist / f) for f in files if f.endswith(".css"))
        total = (js + css) / 1024
        within &= total <= BUDGET_KB
        rows.append((f"{route}: initial JS + CSS ({len(files)} files)", f"{js / 1024:,.1f}", f"{css / 1024:,.1f}",
                     f"{total:,.1f}", "✔" if total <= BUDGET_KB else "✘"))
    every = [p for p in (dist / "assets").iterdir() if p.suffix in (".js", ".css")]
    js = sum(_gzip_size(p) for p in every if p.suffix == ".js")
    css = sum(_gzip_size(p) for p in every if p.suffix == ".css")
    rows.append((f"baseline: the whole build ({len(every)} files)", f"{js / 1024:,.1f}", f"{css / 1024:,.1f}",
                 f"{(js + css) / 1024:,.1f}", ""))
    return rows, within


# -- time -----------------------------------------------------------------------------------------


async def load_data(server_uri: str, database: str, members: int, events: int) -> tuple[float, datetime]:
    """bench/metrics' data set into the system's metrics database; seconds it took and its first day."""
    bench_metrics = _bench_metrics()
    last = datetime.now(UTC).date()
    first = last - timedelta(days=bench_metrics.DAYS - 1)
    url = with_database(server_uri, database)
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        for statement in bench_metrics.load_sql(members, events, first):
            await conn.execute(statement)
        await bench_metrics.load_bitmaps(conn, members, events, first)
        # The week/month bitmaps and the figures' summaries, by the consumers' own code (as bench/metrics).
        await bench_metrics.build_summaries(url)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started, datetime.combine(first, datetime.min.time(), UTC)


def sign_in_with_series(system: Any) -> str:
    """The admin's staff token, after creating the series the data set's periods belong to."""
    with httpx.Client(base_url=system.gateway, timeout=60) as http:
        token = http.post("/admin/v1/session", json={
            "username": system.admin_username, "password": system.admin_password,
        }).json()["token"]
        # The data set's periods belong to series 1: the first series of a fresh campaign database.
        created = http.post("/admin/v1/series", json={"title": "基准系列", "description": ""},
                            headers={"authorization": f"Bearer {token}"}).json()
        assert created["id"] == 1, created
    return str(token)


def _chromium_cpu() -> dict[int, float]:
    """CPU seconds so far of each process of this run's Chromium (the children of this process)."""
    seconds: dict[int, float] = {}
    for process in psutil.Process().children(recursive=True):
        try:
            if "chrom" in process.name():
                times = process.cpu_times()
                seconds[process.pid] = times.user + times.system
        except psutil.Error:
            pass
    return seconds


def _dashboard_once(
    browser: Any, url: str, token: str,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[str]]:
    """One cold load of the dashboard: its readiness (None if it never settled, else with ``cpu``: the CPU
    seconds all of Chromium's processes spent on it, which a busy machine does not inflate as it does the
    time), what was unsettled, its API calls."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    cpu_before = _chromium_cpu()
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.add_init_script(f"sessionStorage.setItem({TOKEN_KEY!r}, {token!r})")
    page = context.new_page()
    page.goto(url, wait_until="commit", timeout=120_000)
    readiness: dict[str, Any] | None = None
    unsettled: dict[str, Any] | None = None
    try:
        page.wait_for_function(
            "() => window.__qunyunDashboard && window.__qunyunDashboard.interactiveAt !== null",
            timeout=WAIT_MS,
        )
    except PlaywrightTimeout:
        # Say which figures never settled and which calls were slowest, then go on.
        slow = page.evaluate(
            "() => performance.getEntriesByType('resource').filter(e => e.name.includes('/admin/v1/'))"
            ".map(e => [new URL(e.name).pathname, Math.round(e.duration)]).sort((a, b) => b[1] - a[1])"
        )
        unsettled = {"settled": page.evaluate("() => window.__qunyunDashboard ?? null"), "calls": slow}
    else:
        readiness = page.evaluate("() => window.__qunyunDashboard")
        assert readiness is not None and readiness["startedAt"] == 0, readiness  # measured from the navigation start
    calls = page.evaluate(
        "() => performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(u => new URL(u).pathname.startsWith('/admin/v1/'))"
    )
    if readiness is not None:
        cpu_after = _chromium_cpu()  # before the context closes (its renderer's counters go with it)
        readiness["cpu"] = sum(after - cpu_before.get(pid, 0.0) for pid, after in cpu_after.items())
    context.close()
    return readiness, unsettled, calls


def _baseline_once(browser: Any, url: str, token: str, out: dict[str, Any]) -> None:
    readiness, _, _ = _dashboard_once(browser, url, token)
    out["baseline_dashboard"].append(readiness["interactiveAt"] if readiness else float("inf"))
    if readiness is not None:
        out["baseline_cpu"].append(readiness["cpu"])


def browse(gateway: str, token: str, first: str, last: str, runs: int,
           baseline_gateway: str | None = None) -> dict[str, Any]:
    """Dashboard (its own measure), bare login page and the raw API calls, ``runs`` times each, cold.

    With ``baseline_gateway`` (another gateway of the same system serving another build), each run
    also loads the dashboard from it, in turns with this build (which goes first alternates).
    """
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {
        "dashboard": [], "login": [], "api": [], "figures": {}, "states": set(), "unsettled": [], "calls": 0,
        "baseline_dashboard": [], "cpu": [], "baseline_cpu": [],
    }
    query = f"/console/dashboard?from={first}&to={last}&granularity=day"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for run in range(runs):
                if baseline_gateway is not None and run % 2 == 1:
                    _baseline_once(browser, baseline_gateway + query, token, out)
                readiness, unsettled, calls = _dashboard_once(browser, gateway + query, token)
                if unsettled is not None:
                    out["unsettled"].append(unsettled)
                if readiness is not None:
                    out["dashboard"].append(readiness["interactiveAt"])
                    out["cpu"].append(readiness["cpu"])
                    for name, figure in readiness["figures"].items():
                        out["figures"].setdefault(name, []).append(figure["at"])
                        out["states"].add(f"{name}: {figure['state']}")
                out["calls"] = len(calls)
                if baseline_gateway is not None and run % 2 == 0:
                    _baseline_once(browser, baseline_gateway + query, token, out)

                # The bare login page, then from it the same calls all at once (a page doing nothing else).
                context = browser.new_context(viewport={"width": 1366, "height": 768})
                page = context.new_page()
                page.goto(f"{gateway}/console/login")
                page.wait_for_selector("[data-test=login-submit]")
                out["login"].append(page.evaluate("() => performance.now()"))
                # Where the bare login page's time goes: the document's answer, the last of its files, its script's run.
                for key, value in page.evaluate("""() => {
                    const nav = performance.getEntriesByType('navigation')[0]
                    const files = performance.getEntriesByType('resource')
                      .filter(e => new URL(e.name).pathname.startsWith('/console/') && !e.name.endsWith('.svg'))
                    return {
                      'login_document': nav.responseEnd,
                      'login_files': Math.max(...files.map(e => e.responseEnd)),
                      'login_files_count': files.length,
                    }
                }""").items():
                    out.setdefault(key, []).append(value)
                out["api"].append(page.evaluate(
                    """async ([urls, token]) => {
                        const t0 = performance.now()
                        await Promise.all(urls.map(u =>
                          fetch(u, { headers: { Authorization: `Bearer ${token}` } }).then(r => r.text())))
                        return performance.now() - t0
                    }""",
                    [calls, token],
                ))
                context.close()
        finally:
            browser.close()
    return out


def start_baseline_gateway(system: Any, dist: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A second gateway of the same system (same services, secret and databases) serving another build."""
    port = free_port()
    env = system.env | {"GATEWAY_PORT": str(port), "QUNYUN_CONSOLE_DIST": str(dist.resolve())}
    log = open(system.logs / "gateway-baseline.log", "ab")  # noqa: SIM115 (owned by the process)
    process = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the baseline gateway exited; see {system.logs / 'gateway-baseline.log'}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise TimeoutError(f"the baseline gateway did not get ready at {url}")


def _load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build", action="store_true", help="npm run build first (make console does it too)")
    parser.add_argument("--size-only", action="store_true")
    parser.add_argument("--dist", type=Path, default=DIST, help="the build to measure (default console/dist)")
    parser.add_argument("--baseline-dist", type=Path, default=None,
                        help="another build (e.g. the previous commit's) loaded in turns with --dist in each run")
    args = parser.parse_args()
    dist: Path = args.dist.resolve()

    if args.build or not (dist / ".vite" / "manifest.json").is_file():
        npm = shutil.which("npm")
        assert npm, "npm is not on PATH (the README's prerequisites: Node 20+)"
        subprocess.run([npm, "--prefix", str(REPO / "console"), "run", "build", "--", "--outDir", str(dist),
                        "--emptyOutDir"], check=True)
    rows, within = sizes(dist)
    print_table(f"console: initial JS + CSS per route (gzip, budget {BUDGET_KB} KB)", rows,
                ("route", "JS KB", "CSS KB", "total KB", "budget"))
    if args.size_only:
        sys.exit(0 if within else 1)

    infra = start_infra(REPO)
    system = None
    baseline: tuple[subprocess.Popen[bytes], str] | None = None
    try:
        system = start_system(infra, {"QUNYUN_LOG_LEVEL": "WARNING", "QUNYUN_CONSOLE_DIST": str(dist)})
        if args.baseline_dist is not None:
            baseline = start_baseline_gateway(system, args.baseline_dist)
        token = sign_in_with_series(system)
        seconds, first = asyncio.run(
            load_data(infra.server_uri, system.env["METRICS_DATABASE_NAME"], args.members, args.events)
        )
        last = (first + timedelta(days=89)).date().isoformat()
        print(f"\nloaded {args.members:,} members, {args.events:,} activity events in {seconds:,.0f} s")
        load_before = _load_average()
        timings = browse(system.gateway, token, first.date().isoformat(), last, args.runs,
                         baseline[1] if baseline else None)
        load_after = _load_average()
    finally:
        if baseline is not None:
            baseline[0].terminate()
            baseline[0].wait(10)
        if system is not None:
            system.stop()
        infra.stop()

    def row(label: str, values: list[float], mark: str = "") -> tuple[str, ...]:
        return (label, f"{statistics.median(values):,.0f}", f"{min(values):,.0f}", f"{max(values):,.0f}", mark)

    for failed in timings["unsettled"]:
        print(f"\na run that did not settle within {WAIT_MS / 1000:.0f} s: {json.dumps(failed)}")
    if not timings["dashboard"]:
        timings["dashboard"] = [float("inf")]
    dashboard_ok = statistics.median(timings["dashboard"]) <= TARGET_MS
    figures = sorted(timings["figures"].items(), key=lambda kv: statistics.median(kv[1]))
    print_table(
        f"dashboard interactive, 90 days of {args.members:,} members, {args.runs} cold runs in Chromium "
        f"(load average {load_before} before, {load_after} after)",
        [
            row("dashboard: every figure drawn (qunyun:dashboard measure)", timings["dashboard"],
                "✔" if dashboard_ok else "✘"),
            *[row(f"  {name} drawn", values) for name, values in figures],
            row("baseline: bare login page, navigation → form", timings["login"]),
            row("  of which: navigation → index.html answered", timings["login_document"]),
            row(f"  of which: navigation → its {statistics.median(timings['login_files_count']):.0f} files loaded",
                timings["login_files"]),
            row(f"baseline: the dashboard's {timings['calls']} API calls in parallel (fetch)", timings["api"]),
            *([row(f"baseline: the dashboard of {args.baseline_dist} (in turns with this build)",
                   timings["baseline_dashboard"])] if timings["baseline_dashboard"] else []),
        ],
        ("path", "median ms", "min ms", "max ms", f"≤ {TARGET_MS} ms"),
    )
    cpu_rows = [row("this build", [1000 * c for c in timings["cpu"]])] if timings["cpu"] else []
    if timings["baseline_cpu"]:
        cpu_rows.append(row(f"baseline: {args.baseline_dist}", [1000 * c for c in timings["baseline_cpu"]]))
    if cpu_rows:
        print_table("CPU of Chromium (every process) per cold dashboard load, until interactive and read",
                    cpu_rows, ("build", "median CPU ms", "min", "max", ""))
    print("figure states:", ", ".join(sorted(timings["states"])))
    sys.exit(0 if within and dashboard_ok else 1)


if __name__ == "__main__":
    main()
