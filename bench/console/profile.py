"""Where a cold dashboard load spends its time: a CPU profile (or Chromium trace) of one load, summarised.

Starts the system as ``run.py`` does, loads bench/metrics' data set (smaller by default: the
browser's work does not depend on it), opens the dashboard cold and records a sampled CPU
profile (CDP ``Profiler``) or, with ``--trace``, a Chromium performance trace. It prints, from the navigation
start until the dashboard's ``qunyun:dashboard:interactive`` mark: every asset's and API call's
request span (Resource Timing), the long tasks, each figure's mark, and the CPU profile's self and
inclusive time by script and function (build with ``npx vite build --minify false`` for names);
with ``--trace``, the renderer main thread's busy time by kind (script, style, layout, paint, …).
``--watch`` keeps the system up and profiles again whenever ``console/dist`` is rebuilt (Ctrl-C
or SIGTERM to stop), for trying a change without loading the data set again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO
from run import CHROMIUM, CHROMIUM_ARGS, DIST, TOKEN_KEY, WAIT_MS, load_data, sign_in_with_series  # type: ignore[import-not-found]

from shared.testing.infra import start_infra
from shared.testing.system import start_system

CATEGORIES = [
    "devtools.timeline", "v8", "v8.execute", "blink.user_timing", "loading", "toplevel",
    "disabled-by-default-devtools.timeline",
]
# Trace event names → the kind of work they are (the outermost one of a task counts).
KINDS = {
    "v8.compile": "script compile", "v8.compileModule": "script compile", "V8.CompileCode": "script compile",
    "v8.parseOnBackground": "script compile", "v8.produceModuleCache": "script compile",
    "EvaluateScript": "script run", "v8.evaluateModule": "script run", "FunctionCall": "script run",
    "v8.run": "script run", "TimerFire": "script run", "FireAnimationFrame": "script run",
    "EventDispatch": "script run", "RunMicrotasks": "script run", "V8.Execute": "script run",
    "XHRReadyStateChange": "script run", "ResourceReceiveResponse": "loading",
    "ParseHTML": "parse HTML", "ParseAuthorStyleSheet": "parse CSS",
    "UpdateLayoutTree": "style", "RecalculateStyles": "style", "Layout": "layout",
    "PrePaint": "paint", "Paint": "paint", "PaintImage": "paint", "UpdateLayer": "paint",
    "CompositeLayers": "paint", "Layerize": "paint", "Commit": "paint",
    "MajorGC": "GC", "MinorGC": "GC", "V8.GCScavenger": "GC", "V8.GCFinalizeMC": "GC", "BlinkGC.AtomicPhase": "GC",
}
OBSERVE_LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longTasks.push([Math.round(e.startTime), Math.round(e.duration)]);
}).observe({ type: 'longtask', buffered: true });
"""


def summarise(trace: dict[str, Any], end_ms: float) -> dict[str, float]:
    """Main-thread time by kind, from the navigation start until ``end_ms`` after it."""
    events = trace["traceEvents"]
    threads = {(e["pid"], e["tid"]) for e in events if e.get("name") == "thread_name"
               and e.get("args", {}).get("name") == "CrRendererMain"}
    start = next((e["ts"] for e in events if e.get("name") == "navigationStart"
                  and (e["pid"], e["tid"]) in threads), None)
    if start is None:
        return {}
    end = start + end_ms * 1000
    main = sorted((e for e in events if (e["pid"], e["tid"]) in threads and e.get("ph") == "X"
                   and start <= e["ts"] <= end and e.get("dur")), key=lambda e: (e["ts"], -e["dur"]))
    by_kind: dict[str, float] = defaultdict(float)
    busy = 0.0
    # Tasks ("RunTask") are the top level; inside each, attribute time to the outermost known kind.
    tasks = [e for e in main if e["name"] in ("RunTask", "ThreadControllerImpl::RunTask")]
    known = [e for e in main if e["name"] in KINDS]
    for task in tasks:
        t0, t1 = task["ts"], task["ts"] + task["dur"]
        busy += task["dur"]
        covered_until = t0
        inside = 0.0
        for e in known:
            if e["ts"] < covered_until or e["ts"] >= t1:
                continue
            dur = min(e["dur"], t1 - e["ts"])
            by_kind[KINDS[e["name"]]] += dur
            inside += dur
            covered_until = e["ts"] + dur
        by_kind["other (inside tasks)"] += task["dur"] - inside
    out = {k: v / 1000 for k, v in by_kind.items()}
    out["= main thread busy"] = busy / 1000
    out["= main thread idle"] = end_ms - busy / 1000
    return out


def profile_once(
    playwright: Any, gateway: str, token: str, first: str, last: str, out_dir: Path, n: int, *, trace: bool,
) -> None:
    """One cold load of the dashboard, CPU-profiled (or traced); prints the summary."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                      timezone_id="Asia/Shanghai")
        context.add_init_script(f"sessionStorage.setItem({TOKEN_KEY!r}, {token!r});" + OBSERVE_LONG_TASKS)
        page = context.new_page()
        trace_path = out_dir / f"console-dashboard-trace-{n}.json"
        if trace:
            browser.start_tracing(page=page, path=str(trace_path), categories=CATEGORIES)
        else:
            cdp = context.new_cdp_session(page)
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 500})
            cdp.send("Profiler.start")
        load = os.getloadavg()
        page.goto(f"{gateway}/console/dashboard?from={first}&to={last}&granularity=day", wait_until="commit")
        page.wait_for_function(
            "() => window.__qunyunDashboard && window.__qunyunDashboard.interactiveAt !== null", timeout=WAIT_MS,
        )
        page.wait_for_timeout(200)
        readiness = page.evaluate("() => window.__qunyunDashboard")
        entries = page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0].toJSON()
            const path = (u) => new URL(u).pathname + new URL(u).search
            return {
              resources: performance.getEntriesByType('resource').map(e =>
                [path(e.name), Math.round(e.startTime), Math.round(e.responseEnd), e.transferSize, e.initiatorType]),
              nav: { responseEnd: nav.responseEnd, domInteractive: nav.domInteractive,
                     domContentLoadedEventEnd: nav.domContentLoadedEventEnd, loadEventEnd: nav.loadEventEnd },
              paints: performance.getEntriesByType('paint').map(e => [e.name, Math.round(e.startTime)]),
              marks: performance.getEntriesByType('mark').map(e => [e.name, Math.round(e.startTime)]),
              longTasks: window.__longTasks,
            }
        }""")
        if trace:
            browser.stop_tracing()
        else:
            cpu = cdp.send("Profiler.stop")["profile"]
        # What the load drew, to see a layout change beside its profile (the page scrolls inside its main
        # area: a viewport as tall as that shows every figure).
        height = page.evaluate("() => document.querySelector('.el-main')?.scrollHeight ?? 768")
        page.set_viewport_size({"width": 1366, "height": max(768, min(int(height) + 60, 4000))})
        page.wait_for_timeout(300)
        page.screenshot(path=str(out_dir / f"console-dashboard-{n}.png"), full_page=True)
        context.close()
    finally:
        browser.close()
    interactive = readiness["interactiveAt"]
    print(f"\n=== run {n}: dashboard interactive {interactive:,.0f} ms  (load average {load[0]:.2f} before)")
    print("navigation:", {k: round(v) for k, v in entries["nav"].items()}, "paints:", entries["paints"])
    print("resources (start → end ms, bytes):")
    for name, start, end, size, initiator in sorted(entries["resources"], key=lambda r: r[1]):
        print(f"  {start:6d} → {end:6d}  {size:>8}  {initiator:<8} {name[:110]}")
    print("marks:", entries["marks"])
    print("long tasks [start, duration]:", entries["longTasks"])
    if not trace:
        # Kept for a closer look (Chromium's DevTools open a .cpuprofile in its Performance panel).
        profile_path = out_dir / f"console-dashboard-{n}.cpuprofile"
        profile_path.write_text(json.dumps(cpu))
        print(f"CPU profile: {profile_path}")
        print_cpu(cpu, interactive)
        return
    summary = summarise(json.loads(trace_path.read_text()), interactive)
    print("main thread until interactive (ms):")
    for kind, ms in sorted(summary.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:<24} {ms:8,.0f}")
    print(f"trace: {trace_path} (open in chrome://tracing or Perfetto)")


def print_cpu(profile: dict[str, Any], interactive: float, top: int = 40) -> None:
    """The sampled CPU profile: self time by script and by function (a build with --minify false names them)."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", [])}
    self_us: dict[int, float] = defaultdict(float)
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        self_us[sample] += delta
    by_script: dict[str, float] = defaultdict(float)
    by_function: dict[str, float] = defaultdict(float)
    inclusive: dict[str, float] = defaultdict(float)
    for node_id, us in self_us.items():
        frame = nodes[node_id]["callFrame"]
        script = frame["url"].rsplit("/", 1)[-1] or frame["functionName"] or "(native)"
        by_script[script] += us
        by_function[f"{frame['functionName'] or '(anonymous)'} {script}:{frame['lineNumber']}"] += us
        seen: set[str] = set()
        walk: int | None = node_id
        while walk is not None:
            f = nodes[walk]["callFrame"]
            key = f"{f['functionName'] or '(anonymous)'} {f['url'].rsplit('/', 1)[-1]}:{f['lineNumber']}"
            if key not in seen:
                inclusive[key] += us
                seen.add(key)
            walk = parent.get(walk)
    total = sum(self_us.values()) / 1000
    print(f"CPU profile: {total:,.0f} ms sampled in {interactive:,.0f} ms (idle included as '(idle)')")
    print("self time by script (ms):")
    for script, us in sorted(by_script.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {us / 1000:8,.0f}  {script}")
    print("self time by function (ms):")
    for name, us in sorted(by_function.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {us / 1000:8,.0f}  {name[:120]}")
    print("inclusive time by function (ms):")
    for name, us in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {us / 1000:8,.0f}  {name[:120]}")


def _built(dist: Path) -> float | None:
    """When the build was last made (None in the middle of a build)."""
    try:
        return (dist / "index.html").stat().st_mtime
    except FileNotFoundError:
        return None


def main() -> None:
    """Start the system, load the data set, profile (again on every rebuild with --watch)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=1, help="cold loads per profile")
    parser.add_argument("--trace", action="store_true",
                        help="a Chromium performance trace (heavy: slows the load) instead of a sampled CPU profile")
    parser.add_argument("--watch", action="store_true", help="profile again whenever the build is rebuilt")
    parser.add_argument("--dist", type=Path, default=DIST, help="the build to profile (default console/dist)")
    args = parser.parse_args()
    dist: Path = args.dist.resolve()
    from playwright.sync_api import sync_playwright

    # Stopped with SIGTERM (kill, timeout) as with Ctrl-C: the system and its infra stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out_dir = REPO / ".data" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    infra = start_infra(REPO)
    system = None
    try:
        system = start_system(infra, {"QUNYUN_LOG_LEVEL": "WARNING", "QUNYUN_CONSOLE_DIST": str(dist)})
        token = sign_in_with_series(system)
        seconds, first_day = asyncio.run(
            load_data(infra.server_uri, system.env["METRICS_DATABASE_NAME"], args.members, args.events)
        )
        print(f"loaded {args.members:,} members, {args.events:,} events in {seconds:,.0f} s", flush=True)
        first = first_day.date().isoformat()
        last = (first_day + timedelta(days=89)).date().isoformat()
        n = 0
        with sync_playwright() as playwright:
            while True:
                built = _built(dist)
                for _ in range(args.runs):
                    n += 1
                    profile_once(playwright, system.gateway, token, first, last, out_dir, n, trace=args.trace)
                    sys.stdout.flush()
                if not args.watch:
                    break
                while _built(dist) in (built, None):
                    time.sleep(1)
                time.sleep(2)  # the rest of the build lands
    finally:
        if system is not None:
            system.stop()
        infra.stop()


if __name__ == "__main__":
    main()
