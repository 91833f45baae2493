"""The simulator's in-memory world: people, codes, tokens, sends, quotas, orders, faults, counters.

Handlers mutate it without awaiting in between, which asyncio makes atomic;
``SimState.lock`` serialises the few multi-step operations that do await.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import string
import time
from collections import defaultdict, deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

App = Literal["oa", "mp"]
log = logging.getLogger("wechat_simulator")
# Logs kept for inspection are bounded so a long `make run` does not grow without limit.
MAX_LOG_ENTRIES = 10_000
_OPENID_ALPHABET = string.ascii_letters + string.digits + "-_"


def wechat_id(prefix: str = "o", length: int = 28) -> str:
    """An id shaped like WeChat's openids and UnionIDs (28 url-safe characters)."""
    return prefix + "".join(secrets.choice(_OPENID_ALPHABET) for _ in range(length - len(prefix)))


def fast_wechat_id(prefix: str = "o", length: int = 28) -> str:
    """The same shape and alphabet as :func:`wechat_id`, from one ``token_urlsafe`` draw (bulk creation)."""
    return prefix + secrets.token_urlsafe(length)[: length - len(prefix)]


@dataclass
class Window:
    """A customer-service window opened by an interaction."""

    opened_at: float
    duration: float
    limit: int | None  # None: unlimited sends inside the window
    used: int = 0


@dataclass
class Person:
    """One simulated WeChat user, with an openid in each app."""

    person_id: str
    nickname: str
    unionid: str | None
    mp_openid: str
    oa_openid: str
    following: bool = False
    subscribe_time: int = 0
    subscribe_scene: str = ""
    qr_scene: int = 0
    qr_scene_str: str = ""
    session_key: str | None = None
    logins: deque[float] = field(default_factory=deque)
    windows: dict[App, dict[str, Window]] = field(default_factory=lambda: {"oa": {}, "mp": {}})
    last_create_time: int = 0

    def public(self) -> dict[str, Any]:
        """The control API's view of the person."""
        return {
            "person_id": self.person_id,
            "nickname": self.nickname,
            "unionid": self.unionid,
            "mp_openid": self.mp_openid,
            "oa_openid": self.oa_openid,
            "following": self.following,
        }


@dataclass
class OneTimeCode:
    """A login or phone code: single use, short-lived."""

    code: str
    person_id: str
    created_at: float
    used: bool = False
    session_key: str | None = None
    phone: str | None = None
    country_code: str = "86"


@dataclass
class Token:
    """An access token from ``cgi-bin/token`` or ``cgi-bin/stable_token``."""

    value: str
    appid: str
    source: Literal["token", "stable"]
    issued_at: float
    expires_at: float
    replaced_at: float | None = None


@dataclass
class QrTicket:
    """A service-account scene QR code."""

    ticket: str
    action_name: str
    scene: str
    expires_at: float | None


@dataclass
class SentMessage:
    """A message a service sent through the subscribe/template/custom APIs."""

    kind: Literal["subscribe", "template", "custom"]
    touser: str
    template_id: str | None
    msgid: int | None
    body: dict[str, Any]
    at: float

    def public(self) -> dict[str, Any]:
        """The control API's view of the send."""
        return {
            "kind": self.kind,
            "touser": self.touser,
            "template_id": self.template_id,
            "msgid": self.msgid,
            "at": self.at,
            "body": self.body,
        }


@dataclass
class Order:
    """A JSAPI order."""

    appid: str
    mchid: str
    out_trade_no: str
    description: str
    notify_url: str
    total: int
    currency: str
    payer_openid: str
    prepay_id: str
    created_at: float
    attach: str = ""
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: float | None = None
    refunds: list[str] = field(default_factory=list)


@dataclass
class Refund:
    """A refund of (part of) an order."""

    refund_id: str
    out_refund_no: str
    out_trade_no: str
    amount: int
    reason: str
    notify_url: str
    created_at: float
    status: str = "PROCESSING"
    success_time: float | None = None


@dataclass
class Fault:
    """A failure injected into the next ``times`` calls of ``path``."""

    path: str
    errcode: int | None = None
    http_status: int | None = None
    latency_ms: int = 0
    drop_connection: bool = False
    times: int = 1

    def matches(self, path: str) -> bool:
        """Exact path, or a prefix when the fault's path ends with ``*``."""
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path


@dataclass
class PushRecord:
    """One push (or pay notification) and what the receiver answered."""

    id: int
    target: Literal["oa", "mp", "pay"]
    url: str
    message: dict[str, Any]
    mode: str | None = None
    format: str | None = None
    status: int | None = None
    body: str = ""
    attempts: int = 0
    error: str | None = None
    reply: str | None = None
    reply_valid: bool | None = None
    acknowledged: bool = False
    at: float = 0.0

    def public(self) -> dict[str, Any]:
        """The control API's view of the push."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class Counters:
    """Calls made to the simulated APIs, for tests that count them."""

    token_calls: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    stable_token_calls: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    jscode2session_calls: int = 0
    phone_calls: int = 0
    api_calls: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))

    def public(self, state: SimState) -> dict[str, Any]:
        """The control API's view of the counters."""
        return {
            "token_calls": dict(self.token_calls),
            "stable_token_calls": dict(self.stable_token_calls),
            "jscode2session_calls": self.jscode2session_calls,
            "phone_calls": self.phone_calls,
            "api_calls": dict(self.api_calls),
            "pushes": sum(1 for p in state.pushes if p.target != "pay"),
            "pay_notifications": sum(1 for p in state.pushes if p.target == "pay"),
            "people": len(state.people),
            "orders": len(state.orders),
            "refunds": len(state.refunds),
        }


class SimState:
    """Everything the simulator remembers; ``reset()`` forgets it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.clock_offset = 0.0
        self.tasks: set[asyncio.Task[Any]] = set()
        self.faults: list[Fault] = []
        self._clear()

    def _clear(self) -> None:
        self.people: dict[str, Person] = {}
        self.openids: dict[str, tuple[Person, App]] = {}
        self.login_codes: dict[str, OneTimeCode] = {}
        self.phone_codes: dict[str, OneTimeCode] = {}
        self.tokens: dict[str, Token] = {}
        self.current_tokens: dict[tuple[str, str], str] = {}
        self.force_refreshes: defaultdict[str, list[float]] = defaultdict(list)
        self.token_days: defaultdict[tuple[str, int], int] = defaultdict(int)
        self.qr_tickets: dict[str, QrTicket] = {}
        self.sent: list[SentMessage] = []
        # Every send's time, beyond the bounded log, per (kind, touser): benchmarks of large broadcasts.
        self.sent_times: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
        self.credits: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.known_templates: dict[App, set[str]] = {"mp": set(), "oa": set()}
        # What the template list APIs answer: template id → {title, content, example, type}.
        self.template_catalog: dict[App, dict[str, dict[str, Any]]] = {"mp": {}, "oa": {}}
        self.template_client_ids: dict[tuple[str, str], tuple[int, float]] = {}
        # Template messages sent per (service account, day): WeChat's daily account quota.
        self.template_days: defaultdict[int, int] = defaultdict(int)
        self.orders: dict[str, Order] = {}
        self.refunds: dict[str, Refund] = {}
        self.pushes: list[PushRecord] = []
        self.counters = Counters()
        self._ids = itertools.count(1)
        self._msgids = itertools.count(int(time.time()) * 1_000_000)

    def reset(self) -> None:
        """Forget everything and cancel background deliveries."""
        for task in list(self.tasks):
            task.cancel()
        self.tasks.clear()
        self.faults.clear()
        self.clock_offset = 0.0
        self._clear()

    def now(self) -> float:
        """Simulated time: wall clock plus whatever the control API advanced."""
        return time.time() + self.clock_offset

    def next_id(self) -> int:
        """A small increasing id for people and pushes."""
        return next(self._ids)

    def next_msgid(self) -> int:
        """A 64-bit message id like WeChat's MsgId / msgid."""
        return next(self._msgids)

    def add_person(self, nickname: str, with_unionid: bool, *, fast_ids: bool = False) -> Person:
        """Create a person with an openid in each app (``fast_ids``: from one random draw each, for bulk creation)."""
        make = fast_wechat_id if fast_ids else wechat_id
        person = Person(
            person_id=f"p{self.next_id()}",
            nickname=nickname,
            unionid=make("o", 28) if with_unionid else None,
            mp_openid=make(),
            oa_openid=make(),
        )
        self.people[person.person_id] = person
        self.openids[person.mp_openid] = (person, "mp")
        self.openids[person.oa_openid] = (person, "oa")
        return person

    def person_by_openid(self, openid: str, app: App) -> Person | None:
        """The person behind ``openid`` if it is an openid of ``app``."""
        found = self.openids.get(openid)
        return found[0] if found and found[1] == app else None

    def create_time(self, person: Person) -> int:
        """A push CreateTime for ``person``.

        Strictly increasing per person: receivers dedupe events on FromUserName +
        CreateTime, and tests act faster than one event per second.
        """
        value = max(int(self.now()), person.last_create_time + 1)
        person.last_create_time = value
        return value

    def record_push(self, record: PushRecord) -> None:
        """Keep ``record`` in the push log (oldest entries dropped past the bound)."""
        self.pushes.append(record)
        if len(self.pushes) > MAX_LOG_ENTRIES:
            del self.pushes[: len(self.pushes) - MAX_LOG_ENTRIES]

    def record_sent(self, message: SentMessage) -> None:
        """Keep ``message`` in the send log (oldest entries dropped past the bound); count it either way."""
        self.sent.append(message)
        self.sent_times[(message.kind, message.touser)].append(message.at)
        if len(self.sent) > MAX_LOG_ENTRIES:
            del self.sent[: len(self.sent) - MAX_LOG_ENTRIES]

    def take_fault(self, path: str) -> Fault | None:
        """Consume one use of the first fault matching ``path``."""
        for fault in self.faults:
            if fault.matches(path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(_guarded(coro))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def drain(self, max_seconds: float = 30.0) -> None:
        """Wait for background deliveries (tests use this)."""
        deadline = time.monotonic() + max_seconds
        while self.tasks and time.monotonic() < deadline:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait(set(self.tasks), timeout=max(0.0, deadline - time.monotonic()))


async def _guarded(coro: Coroutine[Any, Any, Any]) -> Any:
    """Log a background failure instead of leaving an unretrieved task exception."""
    try:
        return await coro
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("background delivery failed")
        return None
