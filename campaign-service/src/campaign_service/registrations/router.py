"""Registering for a period (mini-program); cancelling and the member's own list are in lifecycle/ and queries/."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_service.deps import RuntimeDep, settings_of
from campaign_service.registrations import repository, service
from campaign_service.registrations.schemas import (
    RegistrationCreate,
    RegistrationRead,
)
from shared.auth import CurrentMember, require_roles
from shared.db import unit_of_work
from shared.errors import Invalid
from shared.events.outbox import WAKE_KEY
from shared.fields import IdPath
from shared.runtime import ServiceRuntime

mp_router = APIRouter(prefix="/mp/v1", tags=["registrations"])
admin_router = APIRouter(prefix="/admin/v1/periods", tags=["registrations"])
EDIT = require_roles("admin", "operator")

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=8, max_length=128)]


@mp_router.post("/periods/{period_id}/registrations", status_code=201, response_model=RegistrationRead)
async def register(
    period_id: IdPath,
    body: RegistrationCreate,
    member: CurrentMember,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Register for a period; a retry with the same Idempotency-Key replays the first answer.

    No request session: a period without an invite code is one statement on
    the driver pool (a launch puts hundreds of members on one period in a
    minute): a free one with its Idempotency-Key record, a paid one with its
    order, placed at WeChat Pay after the commit. An invite code, a key seen
    before or a paid period with a key opens its own unit of work.
    """
    now = runtime.extras["clock"].now()
    pool = runtime.driver_pool
    if pool is not None and not body.invite_code:
        wake = runtime.session_factory.kw.get("info", {}).get(WAKE_KEY)
        fast = await service.register_free(
            pool, period_id=period_id, member_no=member.member_no, body=body, now=now,
            source=runtime.settings.service_name, notify=wake is None,
            idempotency=(idempotency_key, _request_hash(period_id, body)) if idempotency_key else None,
            batches=runtime.extras.get("free_registrations"),
        )
        if fast is None and not idempotency_key:  # a paid period
            fast = await service.register_paid(
                pool, period_id=period_id, member_no=member.member_no, body=body, now=now,
                source=runtime.settings.service_name, notify=wake is None, pay=runtime.extras.get("pay"),
                members=runtime.extras["members"],
                order_ttl=timedelta(seconds=settings_of(runtime).order_ttl_seconds),
                batches=runtime.extras.get("free_registrations"),
            )
        if fast is not None:
            if wake is not None:
                wake()
            return Response(fast.model_dump_json(), status_code=201, media_type="application/json")
    async with unit_of_work(runtime.session_factory) as session:
        return await _register_in(session, runtime, period_id, body, member.member_no, now, idempotency_key)


def _request_hash(period_id: int, body: RegistrationCreate) -> str:
    """What an Idempotency-Key is bound to: the period and the body."""
    return hashlib.sha256(
        orjson.dumps({"period_id": period_id, "body": body.model_dump(mode="json")}, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


async def _register_in(
    session: AsyncSession,
    runtime: ServiceRuntime,
    period_id: int,
    body: RegistrationCreate,
    member_no: int,
    now: datetime,
    idempotency_key: str | None,
) -> JSONResponse:
    """The registration in a unit of work: idempotency record, paid orders, referrals."""
    scope = "register"
    if idempotency_key:
        request_hash = _request_hash(period_id, body)
        earlier = await repository.claim_idempotency(
            session, member_no=member_no, scope=scope, key=idempotency_key, request_hash=request_hash
        )
        if earlier is not None:
            if earlier.request_hash != request_hash or earlier.response is None:
                raise Invalid(
                    "同一个 Idempotency-Key 不能用于不同的请求。",
                    slug="idempotency-key-reused",
                    title="Idempotency key reused",
                )
            return JSONResponse(
                earlier.response,
                status_code=earlier.status_code or 201,
                headers={"Idempotent-Replayed": "true"},
            )
    read = await service.register(
        session,
        period_id=period_id,
        member_no=member_no,
        body=body,
        now=now,
        pay=runtime.extras.get("pay"),
        members=runtime.extras["members"],
        order_ttl=timedelta(seconds=settings_of(runtime).order_ttl_seconds),
        invite_keys=runtime.extras["invite_keys"],
    )
    payload = read.model_dump(mode="json")
    if idempotency_key:
        await repository.store_idempotent_response(
            session,
            member_no=member_no,
            scope=scope,
            key=idempotency_key,
            status_code=201,
            response=payload,
        )
    return JSONResponse(payload, status_code=201)
