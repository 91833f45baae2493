"""Registering for a period (mini-program); cancelling and the member's own list are in lifecycle/ and queries/."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from campaign_service.deps import ClockDep, InviteKeysDep, MembersDep, PayDep, RuntimeDep, settings_of
from campaign_service.registrations import repository, service
from campaign_service.registrations.schemas import (
    RegistrationCreate,
    RegistrationRead,
)
from shared.auth import CurrentMember, require_roles
from shared.errors import Invalid
from shared.fields import IdPath
from shared.routing import SessionDep

mp_router = APIRouter(prefix="/mp/v1", tags=["registrations"])
admin_router = APIRouter(prefix="/admin/v1/periods", tags=["registrations"])
EDIT = require_roles("admin", "operator")

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=8, max_length=128)]


@mp_router.post("/periods/{period_id}/registrations", status_code=201, response_model=RegistrationRead)
async def register(
    period_id: IdPath,
    body: RegistrationCreate,
    member: CurrentMember,
    session: SessionDep,
    clock: ClockDep,
    pay: PayDep,
    members: MembersDep,
    runtime: RuntimeDep,
    keys: InviteKeysDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register for a period; a retry with the same Idempotency-Key replays the first answer."""
    scope = "register"
    if idempotency_key:
        request_hash = hashlib.sha256(
            orjson.dumps(
                {"period_id": period_id, "body": body.model_dump(mode="json")}, option=orjson.OPT_SORT_KEYS
            )
        ).hexdigest()
        earlier = await repository.claim_idempotency(
            session, member_no=member.member_no, scope=scope, key=idempotency_key, request_hash=request_hash
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
        member_no=member.member_no,
        body=body,
        now=clock.now(),
        pay=pay,
        members=members,
        order_ttl=timedelta(seconds=settings_of(runtime).order_ttl_seconds),
        invite_keys=keys,
    )
    payload = read.model_dump(mode="json")
    if idempotency_key:
        await repository.store_idempotent_response(
            session,
            member_no=member.member_no,
            scope=scope,
            key=idempotency_key,
            status_code=201,
            response=payload,
        )
    return JSONResponse(payload, status_code=201)
