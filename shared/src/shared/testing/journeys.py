"""What the console's browser journeys start from: staff and member calls through the gateway, the
simulator's people, and the few page gestures every journey repeats.

Synchronous (``httpx.Client``): the journeys drive Chromium through Playwright's sync API, whose event
loop owns the test's thread. The page helpers take Playwright's ``Page`` as ``Any`` so this module does
not import Playwright (the journeys skip themselves when it is missing).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict, TypeVar
from zoneinfo import ZoneInfo

import httpx

from shared.auth import StaffPrincipal, TokenCodec
from shared.settings import QunyunSettings
from shared.testing.system import System

T = TypeVar("T")

SHANGHAI = ZoneInfo("Asia/Shanghai")


def until(check: Callable[[], T], timeout: float = 120) -> T:
    """Poll ``check`` once a second until it returns something truthy (events cross the broker)."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(1)
    return result


class Person(TypedDict):
    """A person of the simulator logged in to the mini-program."""

    person_id: str
    member_no: int
    auth: dict[str, str]


class GatewayClient:
    """The admin's calls through the gateway, as an operator's script would make them, and the simulator's people."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.http = httpx.Client(base_url=system.gateway, timeout=30)
        session = self.ok(self.http.post("/admin/v1/session", json={
            "username": system.admin_username, "password": system.admin_password,
        }))
        self.headers = {"authorization": f"Bearer {session['token']}"}
        self.admin = session["staff"]

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def ok(response: httpx.Response, *status: int) -> Any:
        expected = status or (200, 201)
        assert response.status_code in expected, (response.request.url, response.status_code, response.text)
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.ok(self.http.get(path, params=params, headers=self.headers))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.ok(self.http.post(path, json=body, headers=self.headers))

    def metrics(self, path: str, **params: Any) -> Any:
        """A figure, or None while metrics does not know its subject yet (404)."""
        answer = self.http.get(f"/admin/v1/metrics{path}", params=params, headers=self.headers)
        return answer.json() if answer.status_code == 200 else None

    # -- staff ---------------------------------------------------------------------------------

    def staff(self, role: str) -> tuple[str, str]:
        """A new staff account of ``role``: its username and password."""
        username = f"{role}-{secrets.token_hex(3)}"
        password = secrets.token_urlsafe(12)
        self.post("/admin/v1/staff", {"username": username, "password": password, "role": role})
        return username, password

    def staff_headers(self, username: str, password: str) -> dict[str, str]:
        """The authorization header of a staff member's own session."""
        session = self.ok(self.http.post("/admin/v1/session", json={"username": username, "password": password}))
        return {"authorization": f"Bearer {session['token']}"}

    def staff_token(self, *, ttl: int) -> str:
        """A token for the admin as the identity service would sign it, living ``ttl`` seconds (negative: expired)."""
        codec = TokenCodec(QunyunSettings(secret_key=self.system.env["QUNYUN_SECRET_KEY"]))
        principal = StaffPrincipal(
            staff_id=int(self.admin["id"]), username=self.admin["username"], roles=frozenset({self.admin["role"]}),
        )
        return codec.issue_staff(principal, ttl=ttl)

    # -- members ---------------------------------------------------------------------------------

    def person(self, *, channel: str | None = None, follow: bool = False, with_unionid: bool = True) -> Person:
        """A new person who logs in to the mini-program.

        ``channel``: they first follow the service account through that channel's QR code (their first touch);
        ``follow``: they follow it after logging in.
        """
        sim = self.system.simulator
        created = self.ok(self.http.post(f"{sim}/sim/people", json={} if with_unionid else {"with_unionid": False}))
        people = f"{sim}/sim/people/{created['person_id']}"
        if channel is not None:
            self.ok(self.http.post(f"{people}/follow", json={"scene": channel}))
        code = self.ok(self.http.post(f"{people}/login-code"))["code"]
        session = self.ok(self.http.post("/mp/v1/session", json={"code": code}))
        if follow:
            assert self.ok(self.http.post(f"{people}/follow", json={}))["status"] == 200
        return {
            "person_id": created["person_id"], "member_no": int(session["member_no"]),
            "auth": {"authorization": f"Bearer {session['token']}"},
        }

    def register(self, period_id: int, member: dict[str, str]) -> None:
        """A member (their session headers) registers for a free period from the mini-program."""
        headers = member | {"Idempotency-Key": secrets.token_hex(8)}
        registration = self.ok(self.http.post(f"/mp/v1/periods/{period_id}/registrations", json={}, headers=headers))
        assert registration["state"] == "confirmed", registration

    # -- campaigns -------------------------------------------------------------------------------

    def series(self, title: str) -> dict[str, Any]:
        return self.post("/admin/v1/series", {"title": title, "description": ""})  # type: ignore[no-any-return]

    def open_period(
        self, series_id: int, title: str, *, fee_fen: int = 0, capacity: int = 50, days: int = 3,
        starts_today: bool = False,
    ) -> dict[str, Any]:
        """A period of ``days`` days open for registration now, starting today (Shanghai) or in eight days."""
        now = datetime.now(UTC)
        today = now.astimezone(SHANGHAI).date()
        start = today if starts_today else today + timedelta(days=8)
        period = self.post(f"/admin/v1/series/{series_id}/periods", {
            "title": title, "capacity": capacity, "fee_fen": fee_fen,
            "registration_opens_at": (now - timedelta(hours=1)).isoformat(),
            "registration_closes_at": (now + timedelta(days=7)).isoformat(),
            "start_date": start.isoformat(), "end_date": (start + timedelta(days=days - 1)).isoformat(),
        })
        self.post(f"/admin/v1/periods/{period['id']}/state", {"state": "open"})
        return period  # type: ignore[no-any-return]


# -- the browser side ---------------------------------------------------------------------------


def console_url(system: System, path: str = "") -> str:
    return f"{system.gateway}/console/{path}"


def visit(page: Any, system: System, path: str) -> None:
    """Open a console page without waiting for every chunk's load event: the assertions wait for what they read
    (on two shared cores "load" can take seconds)."""
    page.goto(console_url(system, path), wait_until="domcontentloaded")


def sign_in(page: Any, system: System, username: str | None = None, password: str | None = None) -> None:
    """Sign in on the login page (as the admin unless told otherwise) and land on the dashboard."""
    visit(page, system, "login")
    page.locator("[data-test=username]").fill(username or system.admin_username)
    page.locator("[data-test=password]").fill(password or system.admin_password)
    page.locator("[data-test=login-submit]").click()
    page.wait_for_url(re.compile(r"/console/dashboard"), wait_until="domcontentloaded")


def choose(page: Any, select: Any, option: str) -> None:
    """Pick an option of an Element Plus select (its list is teleported to the body)."""
    select.click()
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()


def confirm_dialog(page: Any) -> None:
    page.locator(".el-message-box__btns .el-button--primary").click()
