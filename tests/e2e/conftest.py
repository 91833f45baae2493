"""The browser side of the console journeys: Debian's Chromium driven by Playwright.

Never ``playwright install``: the journeys use the distribution's Chromium.
A failing journey leaves a screenshot and a Playwright trace under
``.data/test/artifacts/<test>/`` (open it with ``playwright show-trace``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.testing.journeys import GatewayClient

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".data" / "test" / "artifacts"
CONSOLE_INDEX = REPO / "console" / "dist" / "index.html"
# The dashboard fires its figure requests at once and a test machine may be busy (load
# averages above 20 were seen on two cores): the UI gets more patience than one API call.
TIMEOUT_MS = 60_000

try:
    from playwright import sync_api
except ImportError:  # the journeys skip themselves (pytest.importorskip)
    sync_api = None
else:
    sync_api.expect.set_options(timeout=TIMEOUT_MS)


# Per module, never per session: Playwright's sync API keeps an event loop running in this
# thread while it is open, and the asyncio tests of later modules could not start their own.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if sync_api is None or not CHROMIUM.exists():
        pytest.skip("Debian's Chromium (/usr/bin/chromium) and playwright are needed for the console journeys")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context at 1366 × 768 in Shanghai; screenshot and trace kept when the test fails."""
    assert sync_api is not None
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True,
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.tracing.start(screenshots=True, snapshots=True, sources=False)
    tab = context.new_page()
    failed_before = request.session.testsfailed
    yield tab
    if request.session.testsfailed > failed_before:
        target = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
        target.mkdir(parents=True, exist_ok=True)
        try:
            tab.screenshot(path=str(target / "screenshot.png"), full_page=True)
        except sync_api.Error as exc:  # a page too busy to paint still leaves its trace
            (target / "screenshot-failed.txt").write_text(str(exc))
        finally:
            context.tracing.stop(path=str(target / "trace.zip"))
    else:
        context.tracing.stop()
    context.close()


@pytest.fixture(scope="module")
def api(system: Any) -> Iterator[GatewayClient]:
    """The admin's calls through the gateway, for the journeys that open the built console."""
    if not CONSOLE_INDEX.is_file():
        pytest.fail("console/dist is missing: build it with `make console` (make test does) before these tests")
    client = GatewayClient(system)
    yield client
    client.close()
