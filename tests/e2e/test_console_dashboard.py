"""The console's dashboard and token renewal in Debian's Chromium against the whole running system.

One series is seeded through the public API and the simulator (three people register for
period 1, two of them for period 2, one came through a channel QR code); the journeys read
what the charts themselves hold (``window.__qunyunCharts``: ECharts' own option, recorded
when a chart has drawn), the tables beside them, and a CSV download. Token journeys mint
staff tokens with the system's key: one expiring in a minute, one already expired.
A failing journey leaves a screenshot and a Playwright trace under ``.data/test/artifacts/``.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.testing.journeys import GatewayClient, choose, sign_in, until, visit

pytestmark = pytest.mark.e2e

TOKEN_KEY = "qunyun.staff.token"

sync_api = pytest.importorskip("playwright.sync_api")


def two_free_periods(api: GatewayClient, series_id: int) -> list[dict[str, Any]]:
    """Periods 1 and 2 of the series, free, open for registration now and starting in eight days."""
    return [api.open_period(series_id, f"第{n}期", capacity=100, days=10) for n in (1, 2)]


@pytest.fixture(scope="module")
def seeded(api: GatewayClient) -> dict[str, Any]:
    """A series of two open free periods: A, B and C (who came through a channel) register for #1, A and C for #2."""
    tag = secrets.token_hex(3)
    series = api.series(f"看板系列 {tag}")
    channel = api.post("/admin/v1/channels", {"name": f"看板海报 {tag}", "code": f"dash-{tag}"})
    periods = two_free_periods(api, series["id"])
    a, b = api.person()["auth"], api.person()["auth"]
    c = api.person(channel=channel["code"])["auth"]
    for member in (a, b, c):
        api.register(periods[0]["id"], member)
    for member in (a, c):
        api.register(periods[1]["id"], member)

    first, second = (p["id"] for p in periods)
    sid = series["id"]

    def renewal_arrived() -> bool:
        figure = api.metrics(f"/series/{sid}/renewal")
        steps = figure["steps"] if figure else []
        return bool(steps) and (steps[0]["members"], steps[0]["renewed"]) == (3, 2)

    def sources_arrived() -> bool:
        figure = api.metrics(f"/series/{sid}/cohorts", view="source")
        periods = (figure or {}).get("periods", [])
        parts = {p["period_id"]: {x["key"]: x["members"] for x in p["parts"]} for p in periods}
        return parts.get(second) == {f"period-{first}": 1, f"channel-{channel['id']}": 1}

    def funnel_arrived() -> bool:
        figure = api.metrics("/channels") or {"channels": []}
        mine = [c for c in figure["channels"] if c["channel_id"] == channel["id"]]
        return bool(mine) and {s["name"]: s["members"] for s in mine[0]["steps"]}["registered"] == 1

    until(renewal_arrived)
    until(sources_arrived)
    until(funnel_arrived)
    return {"series": series, "channel": channel, "periods": periods}


@pytest.fixture(scope="module")
def other_series(api: GatewayClient, seeded: dict[str, Any]) -> dict[str, Any]:
    """A second series with other numbers: D and E register for #1, D alone for #2 (renewal 1 of 2)."""
    series = api.series(f"另一系列 {secrets.token_hex(3)}")
    periods = two_free_periods(api, series["id"])
    d, e = api.person()["auth"], api.person()["auth"]
    for member in (d, e):
        api.register(periods[0]["id"], member)
    api.register(periods[1]["id"], d)

    def arrived() -> dict[str, Any] | None:
        renewal = api.metrics(f"/series/{series['id']}/renewal")
        cohorts = api.metrics(f"/series/{series['id']}/cohorts", view="origin")
        steps = renewal["steps"] if renewal else []
        counts = [p["registrants"] for p in (cohorts or {}).get("periods", [])]
        if steps and (steps[0]["members"], steps[0]["renewed"]) == (2, 1) and counts == [2, 1]:
            return {"renewal": renewal, "cohorts": cohorts}
        return None

    figures = until(arrived)
    return {"series": series, "periods": periods, **figures}


# -- the browser side ---------------------------------------------------------------------------


def drawn(page: Any, name: str) -> dict[str, Any]:
    """What chart ``name`` holds once it has drawn (ECharts' getOption(), recorded by the console)."""
    page.wait_for_function(f"() => !!(window.__qunyunCharts && window.__qunyunCharts[{name!r}])")
    return page.evaluate(f"() => window.__qunyunCharts[{name!r}]")


def show_series(page: Any, system: Any, series: dict[str, Any]) -> None:
    """Open the dashboard on ``series`` (?series=, as a bookmark or the selector leaves it), on a fresh page.

    Not by choosing it in the selector of an open page: the series figures may already have
    drawn that very series (the latest), and choosing it again draws nothing new to wait for.
    """
    visit(page, system, f"dashboard?series={series['id']}")
    selector = page.locator("[data-test=renewal-series]")
    selector.scroll_into_view_if_needed()
    sync_api.expect(selector).to_contain_text(series["title"])


# -- journeys -----------------------------------------------------------------------------------


def test_the_renewal_chart_draws_the_series_figures(page: Any, system: Any, seeded: dict[str, Any]) -> None:
    sign_in(page, system)
    show_series(page, system, seeded["series"])
    chart = drawn(page, "renewal")
    assert chart["xAxis"] == [["#1 → #2"]]
    bars_members, bars_renewed, rate = chart["series"]
    assert (bars_members["type"], bars_members["data"]) == ("bar", [3])
    assert (bars_renewed["type"], bars_renewed["data"]) == ("bar", [2])
    assert (rate["type"], rate["data"]) == ("line", [66.7])
    row = page.locator("[data-test=renewal-data] tbody tr").first
    sync_api.expect(row.locator("td").nth(1)).to_have_text("3")
    sync_api.expect(row.locator("td").nth(3)).to_have_text("66.7%")


def test_choosing_another_series_redraws_the_series_figures_with_its_numbers(
    page: Any, system: Any, seeded: dict[str, Any], other_series: dict[str, Any]
) -> None:
    sign_in(page, system)
    show_series(page, system, seeded["series"])
    assert drawn(page, "renewal")["series"][0]["data"] == [3]
    assert drawn(page, "cohorts")["series"][0]["data"] == [3, 2]

    # The operator picks the other series in the selector: both series figures draw its numbers.
    page.evaluate("() => { delete window.__qunyunCharts.renewal; delete window.__qunyunCharts.cohorts }")
    choose(page, page.locator("[data-test=renewal-series]"), other_series["series"]["title"])
    renewal, cohorts = drawn(page, "renewal"), drawn(page, "cohorts")
    steps = other_series["renewal"]["steps"]
    members, renewed, rate = renewal["series"]
    assert members["data"] == [s["members"] for s in steps] == [2]
    assert renewed["data"] == [s["renewed"] for s in steps] == [1]
    assert rate["data"] == [round(s["renewal_rate"] * 100, 1) for s in steps] == [50.0]
    periods = other_series["cohorts"]["periods"]
    assert cohorts["xAxis"] == [[f"第{p['number']}期" for p in periods]]
    assert [s["data"] for s in cohorts["series"]] == [[p["registrants"] for p in periods]] == [[2, 1]]
    row = page.locator("[data-test=renewal-data] tbody tr").first
    sync_api.expect(row.locator("td").nth(1)).to_have_text("2")
    sync_api.expect(row.locator("td").nth(3)).to_have_text("50.0%")
    # The choice is in the URL and remembered: a fresh visit without ?series= shows it again.
    page.wait_for_url(re.compile(rf"series={other_series['series']['id']}(&|$)"))
    visit(page, system, "dashboard")
    sync_api.expect(page.locator("[data-test=renewal-series]")).to_contain_text(other_series["series"]["title"])
    assert drawn(page, "renewal")["series"][0]["data"] == [2]


def test_the_cohort_charts_show_origin_source_and_no_destination_yet(
    page: Any, system: Any, seeded: dict[str, Any]
) -> None:
    sign_in(page, system)
    show_series(page, system, seeded["series"])
    origin = drawn(page, "cohorts")
    assert origin["xAxis"] == [["第1期", "第2期"]]
    assert [(s["name"], s["type"], s["data"]) for s in origin["series"]] == [("第1期", "bar", [3, 2])]

    page.evaluate("() => { delete window.__qunyunCharts.cohorts }")
    page.locator("[data-test=cohort-view] label", has_text="首次来源").click()
    source = drawn(page, "cohorts")
    by_name = {s["name"]: s["data"] for s in source["series"]}
    assert by_name == {"第1期": [2, 1], f"渠道 {seeded['channel']['code']}": [1, 1]}
    assert {s["stack"] for s in source["series"]} == {"cohort"}
    table = page.locator("[data-test=cohort-data] tbody tr")
    sync_api.expect(table).to_have_count(4)

    # Neither period has ended: the destination Sankey is the card's empty state, saying why.
    page.locator("[data-test=cohort-view] label", has_text="去向").click()
    card = page.locator("[data-figure=cohorts]")
    sync_api.expect(card.locator("[data-test=figure-empty]")).to_contain_text("期次结束后才有去向")


def test_the_channel_funnel_shows_the_channel_steps(page: Any, system: Any, seeded: dict[str, Any]) -> None:
    sign_in(page, system)
    code = seeded["channel"]["code"]
    card = page.locator("[data-figure=funnel][data-state=ready]")
    sync_api.expect(card).to_be_visible()
    card.scroll_into_view_if_needed()
    row = card.locator("[data-test=funnel-data] tbody tr", has_text=code)
    sync_api.expect(row).to_have_count(1)
    cells = row.locator("td")
    # scene, scanned, followed, registered, …
    sync_api.expect(cells.nth(1)).to_have_text("1")
    sync_api.expect(cells.nth(3)).to_have_text("1")
    # The chart draws one channel (the most scanned first); a click on the row draws ours.
    row.click()
    page.wait_for_function(
        f"() => window.__qunyunCharts?.funnel?.series?.[0]?.name === {code!r}"
    )
    chart = drawn(page, "funnel")
    assert chart["yAxis"][0][:3] == ["扫码", "关注", "报名"]
    assert [d["value"] for d in chart["series"][0]["data"]][:3] == [1, 1, 1]


def test_a_figure_csv_downloads_with_the_staff_token(page: Any, system: Any, seeded: dict[str, Any]) -> None:
    sign_in(page, system)
    show_series(page, system, seeded["series"])
    drawn(page, "renewal")
    with page.expect_download() as download:
        page.locator("[data-test=csv-renewal]").click()
    assert download.value.suggested_filename == f"renewal-{seeded['series']['id']}.csv"
    lines = Path(download.value.path()).read_bytes().decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    (row,) = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
    assert (row["from_period_id"], row["members"], row["renewed"]) == (str(seeded["periods"][0]["id"]), "3", "2")


def test_every_figure_settles_and_the_dashboard_marks_itself_interactive(
    page: Any, system: Any, api: GatewayClient
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, system)
    page.wait_for_function("() => window.__qunyunDashboard && window.__qunyunDashboard.interactiveAt !== null")
    readiness = page.evaluate("() => window.__qunyunDashboard")
    assert set(readiness["figures"]) == {
        "trend", "renewal", "cohorts", "funnel", "dwell", "lifecycle", "heatmap", "retention",
    }
    assert all(f["state"] in ("drawn", "empty") for f in readiness["figures"].values()), readiness
    measures = page.evaluate("() => performance.getEntriesByName('qunyun:dashboard', 'measure').map(m => m.duration)")
    assert measures == [pytest.approx(readiness["interactiveAt"])]
    # Reached from the login page: measured from when the dashboard view began, not the page load.
    assert readiness["startedAt"] > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    assert not errors, errors


def test_a_signed_in_dashboard_load_fetches_its_chunks_beside_the_entry_and_its_date_picker_after(
    page: Any, system: Any, api: GatewayClient,
) -> None:
    files = """() => performance.getEntriesByType('resource').map(e => [new URL(e.name).pathname, e.startTime])"""
    # Signed out, the login page asks for its own chunk, never the dashboard's.
    visit(page, system, "login")
    page.wait_for_selector("[data-test=login-submit]")
    asked = dict(page.evaluate(files))
    assert any(path.startswith("/console/assets/login-") for path in asked), asked
    assert not [path for path in asked if "/ActivityFigures-" in path or "/BasicLayout-" in path], asked
    # Signed in, a load of the dashboard asks for its chunks (the figures below the fold too) before the
    # entry has run: before the router's first wave sends the figures' requests.
    sign_in(page, system)
    page.reload(wait_until="domcontentloaded")
    page.wait_for_function("() => window.__qunyunDashboard && window.__qunyunDashboard.interactiveAt !== null")
    asked = dict(page.evaluate(files))
    first_request = min(at for path, at in asked.items() if path.startswith("/admin/v1/"))
    chunks = {path: at for path, at in asked.items() if re.search(
        r"/assets/(dashboard|BasicLayout|ActivityFigures|CampaignFigures|ChannelFunnel)-[^/]+\.js$", path)}
    assert len(chunks) == 5, asked
    assert all(at < first_request for at in chunks.values()), (chunks, first_request)
    # The date picker's own chunk only once every figure has drawn; then the picker replaces the range as text.
    page.wait_for_selector("[data-test=dashboard-range] .el-date-editor--daterange")
    interactive = page.evaluate("() => performance.getEntriesByName('qunyun:dashboard:interactive')[0].startTime")
    asked = dict(page.evaluate(files))
    date_chunk = [at for path, at in asked.items() if re.search(r"/assets/element-plus-date-[^/]+\.js$", path)]
    assert date_chunk and date_chunk[0] >= interactive, (date_chunk, interactive)


def test_a_range_the_api_refuses_is_an_error_state_on_every_windowed_card(
    page: Any, system: Any, api: GatewayClient
) -> None:
    sign_in(page, system)
    # 500 days: metrics answers 422 with its Chinese detail, which every windowed card shows.
    visit(page, system, "dashboard?from=2024-01-01&to=2025-05-14&granularity=week")
    for name in ("trend", "funnel", "dwell", "lifecycle", "heatmap", "retention"):
        card = page.locator(f"[data-figure={name}]")
        sync_api.expect(card.locator("[data-test=figure-error]")).to_contain_text("时间范围最长")
    # The picker shows the range from the URL, and the series figures (not windowed) still load.
    sync_api.expect(page.locator("[data-test=dashboard-range] input").first).to_have_value("2024-01-01")
    sync_api.expect(page.locator("[data-figure=renewal]")).not_to_have_attribute("data-state", "error")


def test_a_token_about_to_expire_is_renewed_in_place(page: Any, system: Any, api: GatewayClient) -> None:
    sign_in(page, system)
    visit(page, system, "members")
    sync_api.expect(page.locator("[data-test=menu]")).to_be_visible()
    soon = api.staff_token(ttl=60)
    page.evaluate(f"sessionStorage.setItem({TOKEN_KEY!r}, {soon!r})")
    page.reload(wait_until="domcontentloaded")
    # Two minutes ahead of expiry the console asks for the password, over the page it is on.
    dialog = page.locator(".session-renewal")
    sync_api.expect(dialog).to_be_visible()
    sync_api.expect(dialog).to_contain_text(system.admin_username)
    dialog.locator("input").fill(system.admin_password)
    dialog.locator(".el-button--primary").click()
    sync_api.expect(dialog).to_be_hidden()
    assert re.search(r"/console/members$", page.url)
    renewed = page.evaluate(f"sessionStorage.getItem({TOKEN_KEY!r})")
    assert renewed != soon
    me = httpx.get(f"{system.gateway}/admin/v1/staff/me", headers={"authorization": f"Bearer {renewed}"})
    assert me.status_code == 200


def test_an_expired_token_not_renewed_returns_to_login_and_back(page: Any, system: Any, api: GatewayClient) -> None:
    sign_in(page, system)
    expired = api.staff_token(ttl=-60)
    page.evaluate(f"sessionStorage.setItem({TOKEN_KEY!r}, {expired!r})")
    visit(page, system, "members/tags")
    dialog = page.locator(".session-renewal")
    sync_api.expect(dialog).to_be_visible()
    dialog.locator(".el-button", has_text="重新登录").click()
    page.wait_for_url(re.compile(r"/console/login\?redirect=(%2F|/)members(%2F|/)tags$"))
    assert page.evaluate(f"sessionStorage.getItem({TOKEN_KEY!r})") is None
    page.locator("[data-test=username]").fill(system.admin_username)
    page.locator("[data-test=password]").fill(system.admin_password)
    page.locator("[data-test=login-submit]").click()
    page.wait_for_url(re.compile(r"/console/members/tags$"))
