"""Endpoints of the read models that combine several aggregates."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from campaign_service.channels import repository as channels
from campaign_service.channels.router import require_channel
from campaign_service.channels.schemas import ChannelStats
from campaign_service.deps import ClockDep
from campaign_service.periods import service as periods
from campaign_service.queries.channels import channel_stats
from campaign_service.queries.period_registrations import (
    PeriodRegistrationRead,
    RegistrationStatus,
    period_registrations,
)
from campaign_service.queries.registrations import member_registrations
from campaign_service.registrations.schemas import MyRegistration
from shared.auth import CurrentMember, require_roles
from shared.csv_export import csv_response
from shared.fields import IdPath, MemberNoPath, MemberNoQuery
from shared.routing import Page, PageDep, SessionDep, cursor_int, encode_cursor

mp_router = APIRouter(prefix="/mp/v1", tags=["registrations"])
# Included before channels' own router: ``/channels/stats`` must not reach ``/channels/{channel_id}``.
admin_router = APIRouter(prefix="/admin/v1", tags=["channels"])

READ = require_roles("admin", "operator", "sales", "viewer")
# Rows of one CSV download (a period's registrations; capacity is far below).
CSV_MAX_ROWS = 100_000
CSV_BATCH = 2_000


@mp_router.get("/me/registrations")
async def my_registrations(member: CurrentMember, session: SessionDep, clock: ClockDep) -> list[MyRegistration]:
    """My periods with their check-in calendar, current rate and the refund it would earn now."""
    return await member_registrations(session, member.member_no, clock.now())


@admin_router.get("/channels/stats", dependencies=[READ])
async def all_channel_stats(session: SessionDep, page: PageDep) -> Page[ChannelStats]:
    """Traffic precision per channel: scans, follows, members, registrations, payments."""
    after = cursor_int(page.cursor, "id")
    rows = await channels.page(session, after_id=after, limit=page.limit + 1)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(
        items=await channel_stats(session, rows),
        next_cursor=encode_cursor({"id": rows[-1].id}) if more else None,
    )


@admin_router.get("/channels/{channel_id}/stats", dependencies=[READ])
async def one_channel_stats(channel_id: IdPath, session: SessionDep) -> ChannelStats:
    """What one channel brought."""
    return (await channel_stats(session, [await require_channel(session, channel_id)]))[0]


@admin_router.get(
    "/periods/{period_id}/registrations",
    dependencies=[READ],
    response_model=Page[PeriodRegistrationRead],
    responses={200: {"content": {"text/csv": {}}}},
)
async def list_period_registrations(
    period_id: IdPath,
    session: SessionDep,
    page: PageDep,
    status: Annotated[RegistrationStatus | None, Query(description="only registrations in this state")] = None,
    member_no: MemberNoQuery = None,
    format: Annotated[Literal["json", "csv"], Query(description="csv: every matching row as a download")] = "json",
) -> Page[PeriodRegistrationRead] | Response:
    """A period's registrations with channel, payment, refund and check-ins (``format=csv`` downloads them all)."""
    await periods.require_period(session, period_id)
    if format == "csv":
        return await _registrations_csv(session, period_id, status, member_no)
    after = cursor_int(page.cursor, "id")
    rows = await period_registrations(
        session, period_id, status=status, member_no=member_no,
        after_id=after, limit=page.limit + 1,
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(items=rows, next_cursor=encode_cursor({"id": rows[-1].id}) if more else None)


async def _registrations_csv(
    session: SessionDep, period_id: int, status: RegistrationStatus | None, member_no: int | None
) -> Response:
    rows: list[list[object]] = []
    after: int | None = None
    while len(rows) < CSV_MAX_ROWS:
        batch = await period_registrations(
            session, period_id, status=status, member_no=member_no, after_id=after, limit=CSV_BATCH
        )
        rows += [
            [r.id, r.member_no, r.status, r.amount_fen, r.channel_code, r.registered_at.isoformat(),
             r.paid_at.isoformat() if r.paid_at else None, r.refund.status if r.refund else None,
             r.refund.amount_fen if r.refund else None, r.checkins]
            for r in batch
        ]
        if len(batch) < CSV_BATCH:
            break
        after = batch[-1].id
    header = ["id", "member_no", "status", "amount_fen", "channel_code", "registered_at", "paid_at",
              "refund_status", "refund_amount_fen", "checkins"]
    return csv_response(f"period-{period_id}-registrations", header, rows)


@admin_router.get("/members/{member_no}/registrations", dependencies=[READ])
async def member_registrations_for_staff(
    member_no: MemberNoPath, session: SessionDep, clock: ClockDep
) -> list[MyRegistration]:
    """A member's periods with each one's check-in calendar, rate and refund state."""
    return await member_registrations(session, member_no, clock.now())
