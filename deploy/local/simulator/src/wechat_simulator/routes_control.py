"""Control API, part 2: inspection, faults, tokens, clock and reset."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from wechat_simulator import tokens
from wechat_simulator.context import SimDep
from wechat_simulator.faults import AnswerFault
from wechat_simulator.state import App, Fault

router = APIRouter(prefix="/sim")


class FaultCreate(BaseModel):
    """A failure for the next ``times`` calls of ``path`` (a trailing ``*`` matches a prefix)."""

    path: str = Field(min_length=1)
    errcode: int | None = None
    http_status: int | None = Field(None, ge=100, le=599)
    latency_ms: int = Field(0, ge=0)
    drop_connection: bool = False
    # WeChat Pay answers: "unsigned" strips the Wechatpay-* headers, "forged"
    # keeps the genuine signature headers over a body changed by answer_patch
    # (merged into the JSON answer), as a man in the middle would.
    answer: Literal["unsigned", "forged"] | None = None
    answer_patch: dict[str, Any] | None = None
    times: int = Field(1, ge=1)


class TokenExpire(BaseModel):
    """Which app's tokens to expire (all apps when absent)."""

    appid: str | None = None


class ClockAdvance(BaseModel):
    """Move simulated time forward."""

    seconds: float = Field(ge=0)


class UrlCheck(BaseModel):
    """Which push URL to check."""

    app: App


class TemplateRegister(BaseModel):
    """A template the app owns (added in the WeChat admin console)."""

    app: App
    template_id: str = Field(min_length=1)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The simulator is up."""
    return {"status": "ok"}


@router.get("/sent")
async def sent(
    sim: SimDep,
    touser: str | None = None,
    kind: Literal["subscribe", "template", "custom"] | None = None,
) -> list[dict[str, Any]]:
    """Messages sent through the message APIs, oldest first."""
    return [
        message.public()
        for message in sim.state.sent
        if (not touser or message.touser == touser) and (kind is None or message.kind == kind)
    ]


@router.get("/sent/summary")
async def sent_summary(
    sim: SimDep, kind: Literal["subscribe", "template", "custom"], since: float = 0.0
) -> dict[str, Any]:
    """Every send of ``kind`` counted (the log keeps only the last entries): totals, people sent to twice or more,
    and sends per second of simulated time from ``since`` (for benchmarks of large broadcasts)."""
    per_user: list[int] = []
    seconds: dict[int, int] = {}
    for (k, _), times in sim.state.sent_times.items():
        if k != kind:
            continue
        recent = [t for t in times if t >= since]
        if recent:
            per_user.append(len(recent))
        for t in recent:
            seconds[int(t)] = seconds.get(int(t), 0) + 1
    return {"total": sum(per_user), "recipients": len(per_user), "twice": sum(1 for n in per_user if n > 1),
            "per_second": [[sec, seconds[sec]] for sec in sorted(seconds)]}


@router.get("/pushes")
async def pushes_log(sim: SimDep, target: Literal["oa", "mp", "pay"] | None = None) -> list[dict[str, Any]]:
    """Pushes and pay notifications delivered, with the receiver's answers."""
    return [push.public() for push in sim.state.pushes if target is None or push.target == target]


@router.get("/stats")
async def stats(sim: SimDep) -> dict[str, Any]:
    """Call counters."""
    return sim.state.counters.public(sim.state)


@router.get("/credits")
async def credits(sim: SimDep, touser: str | None = None) -> list[dict[str, Any]]:
    """Subscribe-message credits left, per user and template (WeChat itself offers no such API)."""
    return [
        {"touser": openid, "template_id": template_id, "credits": count}
        for (openid, template_id), count in sim.state.credits.items()
        if not touser or openid == touser
    ]


@router.post("/tokens/expire")
async def expire_tokens(sim: SimDep, body: TokenExpire | None = None) -> dict[str, int]:
    """Expire the current access tokens (next use answers 42001)."""
    return {"expired": tokens.expire(sim.state, (body or TokenExpire()).appid)}


@router.post("/faults")
async def add_fault(body: FaultCreate, sim: SimDep) -> dict[str, Any]:
    """Inject a failure into the next calls of a WeChat or WeChat Pay path."""
    values = body.model_dump()
    answer = {name: values.pop(name) for name in ("answer", "answer_patch")}
    sim.state.faults.append(AnswerFault(**values, **answer) if answer["answer"] else Fault(**values))
    return {"faults": [vars(f) for f in sim.state.faults]}


@router.delete("/faults")
async def clear_faults(sim: SimDep) -> dict[str, Any]:
    """Remove every injected failure."""
    sim.state.faults.clear()
    return {"faults": []}


@router.post("/verify-url")
async def verify_url(body: UrlCheck, sim: SimDep) -> dict[str, Any]:
    """Make WeChat's push URL check (GET with signature and echostr) against the gateway."""
    return await sim.delivery.verify_url(body.app)


@router.post("/templates")
async def register_template(body: TemplateRegister, sim: SimDep) -> dict[str, list[str]]:
    """Declare a template the app owns; unknown template ids answer 40037."""
    sim.state.known_templates[body.app].add(body.template_id)
    return {app: sorted(ids) for app, ids in sim.state.known_templates.items()}


@router.post("/clock/advance")
async def advance_clock(body: ClockAdvance, sim: SimDep) -> dict[str, float]:
    """Move simulated time forward (code and token expiry, windows)."""
    sim.state.clock_offset += body.seconds
    return {"now": sim.state.now(), "offset": sim.state.clock_offset}


@router.post("/reset")
async def reset(sim: SimDep) -> dict[str, str]:
    """Forget every person, code, token, send, order and fault, and undo platform key rotations."""
    sim.state.reset()
    sim.reset_pay_keys()
    return {"status": "reset"}
