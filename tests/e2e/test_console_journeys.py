"""The operations console in Debian's Chromium against the whole running system.

The gateway serves the built console (``make test`` builds it first) and every
click goes through the public ``/admin/v1`` API to the real services. A failing
journey leaves a screenshot and a Playwright trace under
``.data/test/artifacts/<test>/`` (open the trace with ``playwright show-trace``).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.testing.journeys import SHANGHAI, GatewayClient, choose, confirm_dialog, sign_in, until, visit
from shared.testing.system import start_system

pytestmark = pytest.mark.e2e


sync_api = pytest.importorskip("playwright.sync_api")


# -- journeys -----------------------------------------------------------------------------------


def test_console_is_served_with_spa_fallback_and_caching(system: Any, api: GatewayClient) -> None:
    index = api.http.get("/console/")
    assert index.status_code == 200 and "text/html" in index.headers["content-type"]
    assert index.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in index.headers["content-security-policy"]
    deep = api.http.get("/console/campaigns/series/12345")
    assert deep.status_code == 200 and deep.text == index.text
    asset = re.search(r'src="/console/(assets/[^"]+\.js)"', index.text)
    assert asset, index.text
    cached = api.http.get(f"/console/{asset.group(1)}")
    assert cached.status_code == 200
    assert cached.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert api.http.get("/console/assets/gone-0000.js").status_code == 404
    assert api.http.get("/console", follow_redirects=False).headers["location"] == "/console/"


def test_login_shows_the_lockout_and_the_role_aware_menu(page: Any, system: Any, api: GatewayClient) -> None:
    username, _ = api.staff("operator")
    visit(page, system, "login")
    page.locator("[data-test=username]").fill(username)
    for _ in range(5):
        page.locator("[data-test=password]").fill("wrong-password")
        page.locator("[data-test=login-submit]").click()
        page.locator("[data-test=login-error]").wait_for()
    sync_api.expect(page.locator("[data-test=login-error]")).to_contain_text("锁定")

    sign_in(page, system)
    menu = page.locator("[data-test=menu]")
    sync_api.expect(menu).to_contain_text("数据看板")
    sync_api.expect(menu).to_contain_text("员工管理")
    sync_api.expect(page.locator("[data-test=who]")).to_contain_text("管理员")

    choose(page, page.locator("[data-test=locale]"), "English")
    sync_api.expect(menu).to_contain_text("Dashboard")
    choose(page, page.locator("[data-test=locale]"), "简体中文")
    sync_api.expect(menu).to_contain_text("数据看板")

    # Staff management: the operator created above is listed, and the locked account shows as locked.
    visit(page, system, "system/staff")
    row = page.locator("[data-test=staff-table] tr", has_text=username)
    sync_api.expect(row).to_contain_text("已锁定")


def test_create_a_series_and_a_period_and_open_it(page: Any, system: Any, api: GatewayClient) -> None:
    sign_in(page, system)
    title = f"控制台系列 {secrets.token_hex(2)}"
    visit(page, system, "campaigns/series")
    page.locator("[data-test=series-create]").click()
    page.locator("[data-test=series-title]").fill(title)
    page.locator("[data-test=series-description]").fill("在浏览器里创建")
    page.locator("[data-test=series-save]").click()
    page.locator("[data-test=series-table]").get_by_role("link", name=title).click()
    sync_api.expect(page.locator("[data-test=series-heading]")).to_have_text(title)

    page.locator("[data-test=period-create]").click()
    page.locator("[data-test=period-title]").fill("第一期")
    page.locator("[data-test=period-save]").click()
    row = page.locator("[data-test=period-table] tbody tr", has_text="第一期")
    sync_api.expect(row.locator("[data-test=period-state]")).to_have_text("草稿")

    row.locator("[data-test=period-advance]").click()
    sync_api.expect(page.locator(".el-message-box")).to_contain_text("开放报名")
    confirm_dialog(page)
    sync_api.expect(row.locator("[data-test=period-state]")).to_have_text("报名中")

    series_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    periods = api.get(f"/admin/v1/series/{series_id}/periods")
    assert [(p["title"], p["state"]) for p in periods] == [("第一期", "open")]


def test_a_viewer_sees_no_edit_controls_and_a_forbidden_action_shows_the_problem(
    page: Any, system: Any, api: GatewayClient
) -> None:
    series = api.series(f"只读可见 {secrets.token_hex(2)}")
    username, password = api.staff("viewer")
    sign_in(page, system, username, password)
    menu = page.locator("[data-test=menu]")
    sync_api.expect(menu).to_contain_text("活动管理")
    sync_api.expect(menu).not_to_contain_text("员工管理")

    visit(page, system, "campaigns/series")
    sync_api.expect(page.locator("[data-test=series-table]")).to_contain_text(series["title"])
    sync_api.expect(page.locator("[data-test=series-create]")).to_have_count(0)
    visit(page, system, f"campaigns/series/{series['id']}")
    sync_api.expect(page.locator("[data-test=series-heading]")).to_have_text(series["title"])
    sync_api.expect(page.locator("[data-test=period-create]")).to_have_count(0)

    # Typed by hand, the staff page loads, and the API's refusal is shown in Chinese.
    visit(page, system, "system/staff")
    sync_api.expect(page.locator(".el-message--error")).to_contain_text("无权")
    sync_api.expect(page.locator("[data-test=staff-create]")).to_have_count(0)
    sync_api.expect(page.locator("[data-test=list-error]")).to_be_visible()


def test_find_a_member_by_number_and_add_a_note_and_a_tag(page: Any, system: Any, api: GatewayClient) -> None:
    member_no = api.person()["member_no"]
    group = api.post("/admin/v1/tag-groups", {"name": f"意向 {secrets.token_hex(2)}"})
    tag = api.post("/admin/v1/tags", {"group_id": group["id"], "name": f"高意向{secrets.token_hex(2)}"})
    sign_in(page, system)

    visit(page, system, "members")
    page.locator("[data-test=member-q]").fill(str(member_no))
    page.locator("[data-test=member-search]").click()
    link = page.locator("[data-test=member-table] [data-test=member-link]")
    sync_api.expect(link).to_have_count(1)
    link.click()
    sync_api.expect(page.locator("[data-test=member-heading]")).to_contain_text(str(member_no))
    sync_api.expect(page.locator("[data-test=member-identity]")).to_be_visible()

    page.locator("[data-test=note-text]").fill("电话回访：对下一期感兴趣")
    page.locator("[data-test=note-add]").click()
    sync_api.expect(page.locator("[data-test=member-notes]")).to_contain_text("电话回访：对下一期感兴趣")

    select = page.locator("[data-test=tag-select]")
    select.click()
    page.keyboard.type(tag["name"])
    page.locator(".el-select-dropdown__item:visible", has_text=tag["name"]).first.click()
    page.locator("[data-test=tag-add]").click()
    sync_api.expect(page.locator("[data-test=member-tags]")).to_contain_text(tag["name"])

    notes = api.get(f"/admin/v1/members/{member_no}/notes")["items"]
    assert [n["text"] for n in notes] == ["电话回访：对下一期感兴趣"]
    tags = api.get(f"/admin/v1/members/{member_no}/tags")["items"]
    assert [t["tag_id"] for t in tags] == [tag["id"]]


def test_a_refused_token_returns_to_the_login_page(page: Any, system: Any, api: GatewayClient) -> None:
    sign_in(page, system)
    page.evaluate("sessionStorage.setItem('qunyun.staff.token', 'not-a-token')")
    visit(page, system, "members")
    page.wait_for_url(re.compile(r"/console/login\?redirect="))
    page.locator("[data-test=username]").fill(system.admin_username)
    page.locator("[data-test=password]").fill(system.admin_password)
    page.locator("[data-test=login-submit]").click()
    page.wait_for_url(re.compile(r"/console/members$"))


def test_build_a_segment_see_its_count_and_export_the_csv(page: Any, system: Any, api: GatewayClient) -> None:
    members = [api.person()["member_no"], api.person()["member_no"]]
    group = api.post("/admin/v1/tag-groups", {"name": f"人群 {secrets.token_hex(2)}"})
    tag = api.post("/admin/v1/tags", {"group_id": group["id"], "name": f"圈选{secrets.token_hex(2)}"})
    for member_no in members:
        api.post(f"/admin/v1/members/{member_no}/tags", {"tag_id": tag["id"]})
    sign_in(page, system)

    visit(page, system, "members/segments")
    page.locator("[data-test=segment-add]").first.click()
    page.locator("[data-test=segment-add-tag]:visible").click()
    choose(page, page.locator("[data-test=segment-tag]"), tag["name"])
    sync_api.expect(page.locator("[data-test=segment-count]")).to_have_text("2")

    name = f"高意向人群 {secrets.token_hex(2)}"
    page.locator("[data-test=segment-save]").click()
    page.locator(".el-message-box input").fill(name)
    confirm_dialog(page)
    row = page.locator("[data-test=segment-table] tbody tr", has_text=name)
    sync_api.expect(row).to_contain_text("2")
    with page.expect_download() as download:
        row.locator("[data-test=segment-export]").click()
    csv = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    assert sorted(int(line.split(",")[0]) for line in csv.splitlines()[1:] if line) == sorted(members)


def test_the_renewal_chart_shows_the_series_figures(page: Any, system: Any, api: GatewayClient) -> None:
    series = api.series(f"续报 {secrets.token_hex(2)}")
    periods = [api.open_period(series["id"], f"第{n}期", capacity=100, days=10)["id"] for n in (1, 2)]
    people = [api.person()["auth"] for _ in range(3)]
    for person in people:
        api.register(periods[0], person)
    for person in people[:2]:
        api.register(periods[1], person)

    # The figures arrive through the broker; the chart is read once metrics has them.
    def renewal_arrived() -> bool:
        figure = api.metrics(f"/series/{series['id']}/renewal")
        steps = figure["steps"] if figure else []
        return bool(steps) and (steps[0]["members"], steps[0]["renewed"]) == (3, 2)

    until(renewal_arrived)

    sign_in(page, system)
    page.wait_for_load_state("networkidle")
    selector = page.locator("[data-test=renewal-series]")
    selector.scroll_into_view_if_needed()
    choose(page, selector, series["title"])
    row = page.locator("[data-test=renewal-data] tbody tr").first
    sync_api.expect(row).to_contain_text("#1 → #2")
    cells = row.locator("td")
    sync_api.expect(cells.nth(1)).to_have_text("3")
    sync_api.expect(cells.nth(2)).to_have_text("2")
    sync_api.expect(cells.nth(3)).to_have_text("66.7%")
    # The chart itself is drawn from the same rows (its option builder is unit-tested).
    sync_api.expect(page.locator("[data-test=renewal-chart] canvas")).to_have_count(1)


PAGES = [
    "dashboard", "campaigns/series", "campaigns/channels", "campaigns/communities", "members", "members/tags",
    "members/rules", "members/segments", "messaging/templates", "messaging/broadcasts", "messaging/messages",
    "system/staff", "campaigns/referrals", "messaging/purposes", "messaging/auto-replies",
]


def _off_site(message: Any) -> bool:
    """An image WeChat itself serves (a service-account QR code), unreachable from a test machine with no internet."""
    return str(message.location.get("url", "")).startswith(WECHAT_IMAGE_HOST)


WECHAT_IMAGE_HOST = "https://mp.weixin.qq.com/"


@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads_without_a_problem_at_1366x768(page: Any, system: Any, api: Any, path: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and not _off_site(msg) else None)
    sign_in(page, system)
    visit(page, system, path)
    page.wait_for_load_state("networkidle")
    sync_api.expect(page.locator("[data-test=menu]")).to_be_visible()
    assert page.locator(".el-message--error").count() == 0, page.locator(".el-message--error").all_inner_texts()
    # Nothing wider than the 1366 px window: the page scrolls vertically only.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    shots = os.environ.get("CONSOLE_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{shots}/{path.replace('/', '_')}.png")
    assert not errors, errors


@pytest.fixture(scope="module")
def quiet_free_system(infra: Any) -> Iterator[Any]:
    """A system of its own whose messaging has no quiet hours (a broadcast must finish at any hour)."""
    running = start_system(infra, {
        "MESSAGING_QUIET_START": "00:00", "MESSAGING_QUIET_END": "00:00", "MESSAGING_SCHEDULER_INTERVAL_SECONDS": "0.5",
    })
    try:
        yield running
    finally:
        running.stop()


def test_watch_a_broadcast_reach_100_percent(page: Any, quiet_free_system: Any) -> None:
    system = quiet_free_system
    api = GatewayClient(system)
    sim = system.simulator
    api.ok(api.http.put(f"{sim}/sim/templates/oa/OA_NOTICE", json={
        "title": "课程通知", "content": "课程:{{thing1.DATA}}\n说明:{{thing2.DATA}}",
    }))
    api.post("/admin/v1/templates/sync", {})
    api.post("/admin/v1/message-purposes", {
        "name": "console.notice", "class": "transactional",
        "channels": [
            {"channel": "template", "template_id": "OA_NOTICE", "fields": {"thing1": "{title}", "thing2": "开课"}},
        ],
    })
    members = [api.person(follow=True)["member_no"] for _ in range(3)]
    for member_no in members:
        until(lambda m=member_no: api.get(f"/admin/v1/members/{m}/reach")["following"])
    group = api.post("/admin/v1/tag-groups", {"name": "群发"})
    tag = api.post("/admin/v1/tags", {"group_id": group["id"], "name": "开课通知"})
    for member_no in members:
        api.post(f"/admin/v1/members/{member_no}/tags", {"tag_id": tag["id"]})
    segment = api.post("/admin/v1/segments", {"name": "开课通知人群", "definition": {"tag": tag["id"]}})
    # Tagging's bitmaps follow its change log: wait until messaging's forecast (it sends nothing) sees the three.
    forecast = {"segment_id": segment["id"], "purpose": "console.notice", "data": {"title": "单词打卡"}}
    until(lambda: api.post("/admin/v1/broadcasts/preview", forecast)["total"] == 3)

    sign_in(page, system)
    visit(page, system, "messaging/broadcasts")
    choose(page, page.locator("[data-test=broadcast-segment]"), segment["name"])
    choose(page, page.locator("[data-test=broadcast-purpose]"), "console.notice")
    page.locator("[data-test=broadcast-data]").fill('{"title": "单词打卡"}')
    page.locator("[data-test=broadcast-send]").click()
    confirm_dialog(page)
    broadcast = page.locator("[data-test=broadcast]").first
    sync_api.expect(broadcast.locator("[data-test=broadcast-progress]")).to_contain_text("100%", timeout=90_000)
    sync_api.expect(broadcast.locator("[data-test=broadcast-state]")).to_have_text("已完成")
    sync_api.expect(broadcast).to_contain_text("已发送 3")
    api.close()


# -- registrations, sends, purposes, imports (console-b) ----------------------------------------


def oa_template(api: GatewayClient, title: str) -> str:
    """A service-account template of its own in the simulator, synced into the registry; its id."""
    template_id = f"OA_CB_{secrets.token_hex(3).upper()}"
    api.ok(api.http.put(f"{api.system.simulator}/sim/templates/oa/{template_id}", json={
        "title": title, "content": "课程:{{thing1.DATA}}\n说明:{{thing2.DATA}}",
    }))
    api.post("/admin/v1/templates/sync", {})
    return template_id


def test_a_periods_registrations_show_a_registered_members_payment_state(
    page: Any, system: Any, api: GatewayClient
) -> None:
    period = api.open_period(api.series(f"报名名单 {secrets.token_hex(2)}")["id"], "报名名单")
    member, other = api.person(), api.person()
    member_no, other_no = member["member_no"], other["member_no"]
    api.register(period["id"], member["auth"])
    api.register(period["id"], other["auth"])
    sign_in(page, system)

    visit(page, system, f"campaigns/periods/{period['id']}")
    table = page.locator("[data-test=registrations-table]")
    row = table.locator("tbody tr", has_text=str(member_no))
    sync_api.expect(row).to_contain_text("已确认")
    sync_api.expect(row.locator("[data-test=registration-payment]")).to_have_text("免费")
    sync_api.expect(table.locator("tbody tr")).to_have_count(2)

    # Filtered by member number, only that member's registration is left.
    page.locator("[data-test=registrations-member] input").fill(str(other_no))
    page.locator("[data-test=registrations-search]").click()
    sync_api.expect(table.locator("tbody tr")).to_have_count(1)
    sync_api.expect(table.locator("tbody tr")).to_contain_text(str(other_no))
    with page.expect_download() as download:
        page.locator("[data-test=registrations-csv]").click()
    csv = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    assert str(other_no) in csv and str(member_no) not in csv, csv

    # The member's profile shows the period with its check-in calendar.
    visit(page, system, f"members/{member_no}")
    registration = page.locator("[data-test=member-registration]", has_text="报名名单")
    sync_api.expect(registration.locator("[data-test=checkin-calendar] .day").first).to_have_attribute(
        "data-status", "upcoming")


def test_send_a_message_to_one_member_and_see_it_in_the_delivery_log(
    page: Any, system: Any, api: GatewayClient
) -> None:
    template_id = oa_template(api, "单发通知")
    purpose = f"console.single_{secrets.token_hex(3)}"
    api.post("/admin/v1/message-purposes", {
        "name": purpose, "class": "transactional",
        "channels": [
            {"channel": "template", "template_id": template_id, "fields": {"thing1": "{title}", "thing2": "开课"}},
        ],
    })
    member_no = api.person(follow=True)["member_no"]
    sign_in(page, system)

    visit(page, system, "messaging/messages")
    page.locator("[data-test=send-open]").click()
    page.locator("[data-test=send-member] input").fill(str(member_no))
    choose(page, page.locator("[data-test=send-purpose]"), purpose)
    # The purpose's placeholders become the data rows to fill.
    page.locator("[data-test=send-data-title]").fill("单词打卡")
    page.locator("[data-test=send-submit]").click()
    sync_api.expect(page.locator("[data-test=send-drawer]")).to_be_hidden()

    row = page.locator("tbody tr", has_text=purpose)
    sync_api.expect(row).to_have_count(1)
    sync_api.expect(row).to_contain_text(str(member_no))
    sent = api.get("/admin/v1/messages", member_no=member_no)["items"]
    assert [m["purpose"] for m in sent] == [purpose], sent


def test_a_purpose_with_a_bad_field_mapping_shows_the_fields_problem(
    page: Any, system: Any, api: GatewayClient
) -> None:
    template_id = oa_template(api, "映射检查")
    name = f"console.mapping_{secrets.token_hex(3)}"
    sign_in(page, system)

    visit(page, system, "messaging/purposes")
    page.locator("[data-test=purpose-create]").click()
    page.locator("[data-test=purpose-name]").fill(name)
    channel = page.locator("[data-test=purpose-channel-0]")
    choose(page, channel.locator("[data-test=purpose-channel-kind]"), "公众号模板消息")
    choose(page, channel.locator("[data-test=purpose-template]"), template_id)
    channel.locator("[data-test=purpose-field-thing1]").fill("{title}")
    # thing2 is left unmapped: the API names that field, and the form shows it there.
    page.locator("[data-test=purpose-save]").click()
    thing2 = channel.locator(".field", has=page.locator("[data-test=purpose-field-thing2]"))
    sync_api.expect(thing2.locator(".el-form-item__error")).to_have_text("not mapped")
    sync_api.expect(page.locator("[data-test=purpose-drawer]")).to_be_visible()
    assert all(p["name"] != name for p in api.get("/admin/v1/message-purposes")["items"])

    channel.locator("[data-test=purpose-field-thing2]").fill("请按时打卡")
    page.locator("[data-test=purpose-save]").click()
    sync_api.expect(page.locator("[data-test=purpose-table]")).to_contain_text(name)
    saved = next(p for p in api.get("/admin/v1/message-purposes")["items"] if p["name"] == name)
    assert saved["channels"][0]["fields"] == {"thing1": "{title}", "thing2": "请按时打卡"}


def test_a_tag_csv_import_dry_run_then_apply(page: Any, system: Any, api: GatewayClient) -> None:
    members = [api.person()["member_no"], api.person()["member_no"]]
    group = api.post("/admin/v1/tag-groups", {"name": f"导入 {secrets.token_hex(2)}"})
    tag = api.post("/admin/v1/tags", {"group_id": group["id"], "name": f"导入{secrets.token_hex(3)}"})
    sign_in(page, system)

    visit(page, system, "members/tags")
    row = page.locator("[data-test=tag-table] tbody tr", has_text=tag["name"])
    row.locator("[data-test=tag-import]").click()
    dialog = page.locator("[data-test=csv-import]")
    bad = f"member_no\n{members[0]}\nabc\n".encode()
    dialog.locator("[data-test=import-file]").set_input_files(
        {"name": "bad.csv", "mimeType": "text/csv", "buffer": bad})
    dialog.locator("[data-test=import-dry-run]").click()
    sync_api.expect(dialog.locator("[data-test=import-errors]")).to_contain_text("abc")
    sync_api.expect(dialog.locator("[data-test=import-apply]")).to_be_disabled()

    good = ("member_no\n" + "\n".join(str(m) for m in members) + "\n").encode()
    dialog.locator("[data-test=import-file]").set_input_files(
        {"name": "good.csv", "mimeType": "text/csv", "buffer": good})
    dialog.locator("[data-test=import-dry-run]").click()
    sync_api.expect(dialog.locator("[data-test=import-mode]")).to_have_text("试运行（未做修改）")
    sync_api.expect(dialog.locator("[data-test=import-valid]")).to_have_text("2")
    sync_api.expect(dialog.locator("[data-test=import-errors]")).to_have_count(0)
    assert api.get(f"/admin/v1/members/{members[0]}/tags")["items"] == []

    dialog.locator("[data-test=import-apply]").click()
    sync_api.expect(dialog.locator("[data-test=import-mode]")).to_have_text("已导入")
    sync_api.expect(dialog.locator("[data-test=import-applied]")).to_have_text("2")
    for member_no in members:
        assert [t["tag_id"] for t in api.get(f"/admin/v1/members/{member_no}/tags")["items"]] == [tag["id"]]


def test_a_viewer_sees_none_of_the_new_edit_controls(page: Any, system: Any, api: GatewayClient) -> None:
    member_no = api.person()["member_no"]
    group = api.post("/admin/v1/tag-groups", {"name": f"只读 {secrets.token_hex(2)}"})
    tag = api.post("/admin/v1/tags", {"group_id": group["id"], "name": f"只读{secrets.token_hex(3)}"})
    api.post("/admin/v1/segments", {"name": f"只读人群 {secrets.token_hex(2)}", "definition": {"tag": tag["id"]}})
    username, password = api.staff("viewer")
    sign_in(page, system, username, password)

    visit(page, system, "members/tags")
    sync_api.expect(page.locator("[data-test=tag-table]")).to_contain_text(tag["name"])
    sync_api.expect(page.locator("[data-test=tag-import]")).to_have_count(0)
    visit(page, system, "members/segments")
    sync_api.expect(page.locator("[data-test=segment-table] tbody tr").first).to_be_visible()
    sync_api.expect(page.locator("[data-test=segment-import]")).to_have_count(0)
    visit(page, system, "messaging/purposes")
    sync_api.expect(page.locator("[data-test=purpose-table]")).to_be_visible()
    sync_api.expect(page.locator("[data-test=purpose-create]")).to_have_count(0)
    visit(page, system, "messaging/messages")
    sync_api.expect(page.locator("[data-test=menu]")).to_be_visible()
    sync_api.expect(page.locator("[data-test=send-open]")).to_have_count(0)
    visit(page, system, "messaging/auto-replies")
    sync_api.expect(page.locator("[data-test=auto-reply-table]")).to_be_visible()
    sync_api.expect(page.locator("[data-test=auto-reply-create]")).to_have_count(0)
    sync_api.expect(page.locator("[data-test=welcome-create]")).to_have_count(0)
    visit(page, system, f"members/{member_no}")
    sync_api.expect(page.locator("[data-test=member-merges]")).to_be_visible()
    sync_api.expect(page.locator("[data-test=member-send]")).to_have_count(0)
    sync_api.expect(page.locator("[data-test=merge-manual]")).to_have_count(0)
    sync_api.expect(page.locator("[data-test=member-registrations]")).to_be_visible()


# -- check-ins, merges, static segments, auto-replies, paid registrations, roles ----------------

def bind_phone(api: GatewayClient, who: dict[str, Any], phone: str) -> httpx.Response:
    """The member taps WeChat's phone button: the simulator's code, bound through the gateway."""
    sim = api.system.simulator
    code = api.ok(api.http.post(f"{sim}/sim/people/{who['person_id']}/phone-code", json={"phone": phone}))["code"]
    return api.http.post("/mp/v1/me/phone", json={"code": code}, headers=who["auth"])


def answer_prompt(page: Any, text: str) -> None:
    """Type into an Element Plus prompt (the void reason) and confirm it."""
    box = page.locator(".el-message-box")
    box.locator(".el-message-box__input input").fill(text)
    confirm_dialog(page)
    sync_api.expect(box).to_be_hidden()


def test_void_a_checkin_from_the_periods_checkins_and_from_a_members_calendar(
    page: Any, system: Any, api: GatewayClient
) -> None:
    title = f"打卡作废 {secrets.token_hex(2)}"
    period = api.open_period(api.series(f"{title} 系列")["id"], title, starts_today=True)
    first, second = api.person(), api.person()
    for who in (first, second):
        api.register(period["id"], who["auth"])
        api.ok(api.http.post(f"/mp/v1/periods/{period['id']}/checkins", json={"text": "今天背了 50 个单词"},
                             headers=who["auth"]), 201)
    today = datetime.now(SHANGHAI).date().isoformat()
    sign_in(page, system)

    # From the period's check-ins: void one with a reason.
    visit(page, system, f"campaigns/periods/{period['id']}")
    row = page.locator("[data-test=checkins-table] tbody tr", has_text=str(first["member_no"]))
    sync_api.expect(row).to_contain_text("今天背了 50 个单词")
    row.locator("[data-test=checkin-void]").click()
    answer_prompt(page, "内容与打卡要求不符")
    sync_api.expect(row.locator("[data-test=checkin-voided]")).to_contain_text("内容与打卡要求不符")
    sync_api.expect(row.locator("[data-test=checkin-void]")).to_have_count(0)
    other = page.locator("[data-test=checkins-table] tbody tr", has_text=str(second["member_no"]))
    sync_api.expect(other.locator("[data-test=checkin-void]")).to_be_visible()

    # That member's calendar shows today voided.
    visit(page, system, f"members/{first['member_no']}")
    calendar = page.locator("[data-test=member-registration]", has_text=title).locator("[data-test=checkin-calendar]")
    sync_api.expect(calendar.locator(f".day[data-date='{today}']")).to_have_attribute("data-status", "voided")

    # From the other member's calendar: today's check-in, voided there.
    visit(page, system, f"members/{second['member_no']}")
    registration = page.locator("[data-test=member-registration]", has_text=title)
    day = registration.locator(f"[data-test=checkin-calendar] .day[data-date='{today}']")
    sync_api.expect(day).to_have_attribute("data-status", "done")
    sync_api.expect(registration).to_contain_text("1/3")
    day.click()
    answer_prompt(page, "重复账号")
    sync_api.expect(day).to_have_attribute("data-status", "voided")
    sync_api.expect(registration).to_contain_text("0/3")

    checkins = {c["member_no"]: c for c in api.get(f"/admin/v1/periods/{period['id']}/checkins")["items"]}
    assert checkins[first["member_no"]]["void_reason"] == "内容与打卡要求不符"
    assert checkins[second["member_no"]]["void_reason"] == "重复账号"


def test_a_merge_candidate_merged_and_another_dismissed(page: Any, system: Any, api: GatewayClient) -> None:
    def claimed_twice() -> tuple[dict[str, Any], dict[str, Any]]:
        """Two members, the second binding the phone the first holds: refused, a merge candidate.

        Without UnionIDs (WeChat would not say whether they are one person), so staff may merge them.
        """
        phone = f"139{secrets.randbelow(10**8):08d}"
        owner, claimant = api.person(with_unionid=False), api.person(with_unionid=False)
        assert bind_phone(api, owner, phone).status_code == 200
        refused = bind_phone(api, claimant, phone)
        assert 400 <= refused.status_code < 500, refused.text
        return owner, claimant

    (owner, claimant), (kept, other) = claimed_twice(), claimed_twice()
    sign_in(page, system)

    visit(page, system, f"members/{claimant['member_no']}")
    candidates = page.locator("[data-test=merge-candidates] tbody tr", has_text=str(owner["member_no"]))
    sync_api.expect(candidates).to_have_count(1)
    sync_api.expect(candidates).to_contain_text("****")
    candidates.locator("[data-test=merge-candidate-merge]").click()
    sync_api.expect(page.locator(".el-message-box")).to_contain_text(str(owner["member_no"]))
    confirm_dialog(page)
    history = page.locator("[data-test=merge-history] tbody tr")
    sync_api.expect(history.first).to_contain_text(str(claimant["member_no"]))
    sync_api.expect(history.first).to_contain_text(str(owner["member_no"]))
    merged = api.get(f"/admin/v1/members/{owner['member_no']}")
    pair = {owner["member_no"], claimant["member_no"]}
    assert any({m["from_member_no"], m["into_member_no"]} == pair for m in merged["merges"]), merged["merges"]

    # The other pair are not the same person: dismissed, no longer an open candidate, nobody merged.
    visit(page, system, f"members/{other['member_no']}")
    row = page.locator("[data-test=merge-candidates] tbody tr", has_text=str(kept["member_no"]))
    row.locator("[data-test=merge-candidate-dismiss]").click()
    sync_api.expect(page.locator(".el-message--success")).to_contain_text("已标记为不同的人")
    sync_api.expect(row.locator("[data-test=merge-candidate-dismiss]")).to_have_count(0)
    open_ids = [c["member_no"] for c in api.get("/admin/v1/members/merge-candidates", limit=200)["items"]]
    assert other["member_no"] not in open_ids
    assert api.get(f"/admin/v1/members/{other['member_no']}")["merges"] == []


def test_a_static_segment_imported_from_csv_and_frozen(page: Any, system: Any, api: GatewayClient) -> None:
    members = sorted([api.person()["member_no"], api.person()["member_no"], api.person()["member_no"]])
    group = api.post("/admin/v1/tag-groups", {"name": f"静态 {secrets.token_hex(2)}"})
    tag = api.post("/admin/v1/tags", {"group_id": group["id"], "name": f"静态{secrets.token_hex(3)}"})
    name = f"静态名单 {secrets.token_hex(3)}"
    segment = api.post("/admin/v1/segments", {"name": name, "definition": {"tag": tag["id"]}})
    sign_in(page, system)

    visit(page, system, "members/segments")
    row = page.locator("[data-test=segment-table] tbody tr", has_text=name)
    row.locator("[data-test=segment-import]").click()
    dialog = page.locator("[data-test=csv-import]")
    csv = ("member_no\n" + "\n".join(str(m) for m in members[:2]) + "\n").encode()
    dialog.locator("[data-test=import-file]").set_input_files(
        {"name": "list.csv", "mimeType": "text/csv", "buffer": csv})
    dialog.locator("[data-test=import-dry-run]").click()
    sync_api.expect(dialog.locator("[data-test=import-valid]")).to_have_text("2")
    dialog.locator("[data-test=import-apply]").click()
    sync_api.expect(dialog.locator("[data-test=import-applied]")).to_have_text("2")
    page.keyboard.press("Escape")
    sync_api.expect(dialog).to_be_hidden()

    # The list reloads: the segment is now a static list of the file's two members, frozen by the import.
    sync_api.expect(row.locator("td").nth(2)).to_have_text("2")
    sync_api.expect(row.locator("[data-test=segment-frozen-at]")).not_to_have_text("—")
    sync_api.expect(row.locator("[data-test=segment-freeze]")).to_have_count(0)
    saved = api.get(f"/admin/v1/segments/{segment['id']}")
    assert saved["frozen_at"] is not None and saved["count"] == 2, saved
    listed = sorted(m["member_no"] for m in api.get(f"/admin/v1/segments/{segment['id']}/members")["members"])
    assert listed == members[:2]

    # A segment by its definition is frozen by hand: a static list of its members as of now.
    api.post(f"/admin/v1/members/{members[2]}/tags", {"tag_id": tag["id"]})
    live_name = f"冻结名单 {secrets.token_hex(3)}"
    live = api.post("/admin/v1/segments", {"name": live_name, "definition": {"tag": tag["id"]}})
    until(lambda: api.get(f"/admin/v1/segments/{live['id']}")["count"] == 1)
    visit(page, system, "members/segments")
    live_row = page.locator("[data-test=segment-table] tbody tr", has_text=live_name)
    sync_api.expect(live_row.locator("[data-test=segment-frozen-at]")).to_have_text("—")
    live_row.locator("[data-test=segment-freeze]").click()
    sync_api.expect(live_row.locator("[data-test=segment-frozen-at]")).not_to_have_text("—")
    sync_api.expect(live_row.locator("[data-test=segment-freeze]")).to_have_count(0)
    frozen = api.get(f"/admin/v1/segments/{live['id']}")
    assert frozen["frozen_at"] is not None and frozen["count"] == 1, frozen
    assert [m["member_no"] for m in api.get(f"/admin/v1/segments/{live['id']}/members")["members"]] == [members[2]]


def test_an_auto_reply_created_then_edited_in_its_drawer(page: Any, system: Any, api: GatewayClient) -> None:
    keyword = f"打卡{secrets.token_hex(3)}"
    sign_in(page, system)

    visit(page, system, "messaging/auto-replies")
    page.locator("[data-test=auto-reply-create]").click()
    drawer = page.locator("[data-test=auto-reply-drawer]")
    sync_api.expect(drawer).to_be_visible()
    drawer.locator("[data-test=auto-reply-keyword]").fill(keyword)
    drawer.locator("[data-test=auto-reply-text]").fill("回复「打卡」查看今天的任务。")
    drawer.locator("[data-test=auto-reply-save]").click()
    sync_api.expect(drawer).to_be_hidden()
    row = page.locator("[data-test=auto-reply-table] tbody tr", has_text=keyword)
    sync_api.expect(row).to_contain_text("回复「打卡」查看今天的任务。")
    sync_api.expect(row).to_contain_text("全匹配")

    row.locator("[data-test=auto-reply-edit]").click()
    sync_api.expect(drawer.locator("[data-test=auto-reply-keyword]")).to_have_value(keyword)
    drawer.locator("[data-test=auto-reply-match] label", has_text="包含").click()
    drawer.locator("[data-test=auto-reply-text]").fill("今天的任务在小程序里。")
    drawer.locator("[data-test=auto-reply-save]").click()
    sync_api.expect(drawer).to_be_hidden()
    sync_api.expect(row).to_contain_text("今天的任务在小程序里。")
    sync_api.expect(row).to_contain_text("包含")

    (saved,) = [r for r in api.get("/admin/v1/auto-replies")["items"] if r["keyword"] == keyword]
    assert (saved["match"], saved["reply"]) == ("contains", "今天的任务在小程序里。")


def test_a_paid_periods_registration_turns_paid_when_the_member_pays(
    page: Any, system: Any, api: GatewayClient
) -> None:
    title = f"付费期 {secrets.token_hex(2)}"
    period = api.open_period(api.series(f"{title} 系列")["id"], title, fee_fen=990)
    who = api.person()
    registration = api.ok(api.http.post(
        f"/mp/v1/periods/{period['id']}/registrations", json={},
        headers=who["auth"] | {"Idempotency-Key": secrets.token_hex(8)},
    ), 201)
    assert registration["state"] == "awaiting_payment", registration
    sign_in(page, system)

    visit(page, system, f"campaigns/periods/{period['id']}")
    row = page.locator("[data-test=registrations-table] tbody tr", has_text=str(who["member_no"]))
    sync_api.expect(row).to_contain_text("待支付")
    sync_api.expect(row.locator("[data-test=registration-payment]")).to_have_text("未支付")
    sync_api.expect(row).to_contain_text("9.90")

    # The member pays in WeChat: the pay notification goes through the gateway to campaign.
    paid = api.ok(api.http.post(f"{system.simulator}/sim/people/{who['person_id']}/pay",
                                json={"out_trade_no": registration["order"]["out_trade_no"]}))
    assert paid["status"] in (200, 204), paid
    until(lambda: api.get(f"/admin/v1/periods/{period['id']}/registrations")["items"][0]["status"] == "confirmed")
    page.locator("[data-test=registrations-search]").click()
    sync_api.expect(row).to_contain_text("已确认")
    sync_api.expect(row.locator("[data-test=registration-payment]")).to_have_text("已支付")

    # Filtered by status, it is among the confirmed and no longer awaiting payment.
    choose(page, page.locator("[data-test=registrations-status]"), "待支付")
    page.locator("[data-test=registrations-search]").click()
    awaiting = page.locator("[data-test=registrations-table] tbody tr", has_text=str(who["member_no"]))
    sync_api.expect(awaiting).to_have_count(0)


def test_sales_sees_masked_phones_and_exports_a_segment(page: Any, system: Any, api: GatewayClient) -> None:
    phone = f"137{secrets.randbelow(10**8):08d}"
    masked = phone[:3] + "****" + phone[-4:]
    who = api.person()
    assert bind_phone(api, who, phone).status_code == 200
    group = api.post("/admin/v1/tag-groups", {"name": f"销售 {secrets.token_hex(2)}"})
    tag = api.post("/admin/v1/tags", {"group_id": group["id"], "name": f"销售{secrets.token_hex(3)}"})
    api.post(f"/admin/v1/members/{who['member_no']}/tags", {"tag_id": tag["id"]})
    name = f"销售名单 {secrets.token_hex(3)}"
    segment = api.post("/admin/v1/segments", {"name": name, "definition": {"tag": tag["id"]}})
    username, password = api.staff("sales")
    sales = api.staff_headers(username, password)

    def exported_with_phone() -> str | None:
        response = api.http.get(f"/admin/v1/segments/{segment['id']}/export.csv", headers=sales)
        assert response.status_code == 200, response.text
        return response.text if masked in response.text else None

    until(exported_with_phone)  # tagging learns the phone from identity's event
    sign_in(page, system, username, password)
    sync_api.expect(page.locator("[data-test=who]")).to_contain_text("销售")

    visit(page, system, f"members/{who['member_no']}")
    identity = page.locator("[data-test=member-identity]")
    sync_api.expect(identity).to_contain_text(masked)
    sync_api.expect(identity).not_to_contain_text(phone)
    sync_api.expect(page.locator("[data-test=note-add]")).to_have_count(0)
    sync_api.expect(page.locator("[data-test=member-block]")).to_have_count(0)

    visit(page, system, "members/segments")
    row = page.locator("[data-test=segment-table] tbody tr", has_text=name)
    sync_api.expect(row.locator("[data-test=segment-import]")).to_have_count(0)
    with page.expect_download() as download:
        row.locator("[data-test=segment-export]").click()
    csv = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    assert str(who["member_no"]) in csv and masked in csv and phone not in csv, csv


def test_an_operator_runs_campaigns_but_cannot_manage_staff(page: Any, system: Any, api: GatewayClient) -> None:
    username, password = api.staff("operator")
    sign_in(page, system, username, password)
    menu = page.locator("[data-test=menu]")
    sync_api.expect(menu).to_contain_text("活动管理")
    sync_api.expect(menu).not_to_contain_text("员工管理")

    visit(page, system, "campaigns/series")
    sync_api.expect(page.locator("[data-test=series-create]")).to_be_visible()

    # Typed by hand, the staff page shows the API's refusal, and no control to manage staff.
    visit(page, system, "system/staff")
    sync_api.expect(page.locator(".el-message--error")).to_contain_text("无权")
    sync_api.expect(page.locator("[data-test=list-error]")).to_be_visible()
    sync_api.expect(page.locator("[data-test=staff-create]")).to_have_count(0)
    refused = api.http.post("/admin/v1/staff", json={"username": f"x-{secrets.token_hex(3)}", "password": "p" * 12,
                                                     "role": "viewer"}, headers=api.staff_headers(username, password))
    assert refused.status_code == 403, refused.text
