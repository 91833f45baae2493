"""Staff API of broadcasts: forecast, start, progress, pause / resume / cancel, CSV report."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from messaging_service.broadcasts import service
from messaging_service.broadcasts.forecast import forecast
from messaging_service.broadcasts.schemas import BroadcastCreate, BroadcastRead, ForecastRead
from messaging_service.deps import ClockDep, RuntimeDep, settings_of
from messaging_service.purposes import service as purposes
from shared.auth import CurrentStaff, require_roles
from shared.csv_export import csv_response
from shared.errors import Invalid
from shared.fields import IdPath
from shared.routing import SessionDep

admin_router = APIRouter(prefix="/admin/v1/broadcasts", tags=["broadcasts"])
SEND = require_roles("admin", "operator")
READ = require_roles("admin", "operator", "sales", "viewer")


async def _audience(runtime: RuntimeDep, body: BroadcastCreate) -> list[int]:
    if body.member_nos is not None:
        return list(body.member_nos)
    assert body.segment_id is not None
    return await service.segment_members(runtime.extras["tagging"], body.segment_id)


@admin_router.post("/preview", dependencies=[SEND])
async def preview_broadcast(body: BroadcastCreate, session: SessionDep, runtime: RuntimeDep, clock: ClockDep
                            ) -> ForecastRead:
    """How many members each channel would reach, and how many not by reason; sends nothing."""
    purpose = await purposes.get_by_name(session, body.purpose)
    await purposes.validate_data(session, purpose, body.data)
    members = list(dict.fromkeys(await _audience(runtime, body)))
    return ForecastRead(**await forecast(session, purpose, members, clock.now(), settings_of(runtime)))


@admin_router.post("", status_code=201, dependencies=[SEND])
async def create_broadcast(
    body: BroadcastCreate, session: SessionDep, runtime: RuntimeDep, clock: ClockDep, staff: CurrentStaff
) -> BroadcastRead:
    """Snapshot the audience and start sending at the rate (or at ``send_at``)."""
    if body.send_at is not None and body.send_at.tzinfo is None:
        raise Invalid("send_at 必须带时区。", slug="naive-datetime")
    purpose = await purposes.get_by_name(session, body.purpose)
    await purposes.validate_data(session, purpose, body.data)
    members = await _audience(runtime, body)
    broadcast = await service.create(
        session, purpose=purpose.name, data=body.data, segment_id=body.segment_id, member_nos=members,
        rate=body.rate_per_second, send_at=body.send_at, staff_id=staff.staff_id, now=clock.now(),
    )
    await session.refresh(broadcast)
    return await service.progress(session, broadcast)


@admin_router.get("/{broadcast_id}", dependencies=[READ])
async def get_broadcast(broadcast_id: IdPath, session: SessionDep) -> BroadcastRead:
    """Total, sent, fell back, undeliverable by reason, remaining."""
    return await service.progress(session, await service.get(session, broadcast_id))


@admin_router.post("/{broadcast_id}/{action}", dependencies=[SEND])
async def change_broadcast(
    broadcast_id: IdPath, action: Literal["pause", "resume", "cancel"], session: SessionDep, clock: ClockDep
) -> BroadcastRead:
    """Pause, resume or cancel a broadcast."""
    broadcast = await service.transition(session, broadcast_id, action, clock.now())
    return await service.progress(session, broadcast)


@admin_router.get(
    "/{broadcast_id}/report.csv", dependencies=[READ],
    responses={200: {"content": {"text/csv": {}}, "description": "One row per recipient"}},
)
async def broadcast_report(broadcast_id: IdPath, session: SessionDep) -> Response:
    """A CSV of every recipient: member number, message, status, channel, reason."""
    await service.get(session, broadcast_id)
    rows = await service.report_rows(session, broadcast_id)
    return csv_response(
        f"broadcast-{broadcast_id}", ["member_no", "message_id", "status", "channel", "reason"], rows
    )
