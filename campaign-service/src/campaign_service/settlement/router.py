"""Staff: the settlement report of a period (JSON and CSV) and retrying failed refunds."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter
from fastapi.responses import Response

from campaign_service.deps import ClockDep
from campaign_service.periods import service as periods
from campaign_service.settlement import repository, service
from campaign_service.settlement.models import Refund
from campaign_service.settlement.schemas import RefundFailure, SettlementReport
from campaign_service.settlement.service import SETTLEMENT_REFUND
from shared.auth import require_roles
from shared.csv_export import csv_response
from shared.errors import Conflict
from shared.fields import IdPath
from shared.routing import SessionDep

admin_router = APIRouter(prefix="/admin/v1/periods", tags=["settlement"])
EDIT = require_roles("admin", "operator")
READ = require_roles("admin", "operator", "sales", "viewer")


def bucket(refund: Refund) -> str:
    """Rate bucket of 10 points (``90-99``), ``100`` for a full rate."""
    if refund.planned_days == 0:
        return "n/a"
    tens = refund.checked_days * 10 // refund.planned_days
    return "100" if tens >= 10 else f"{tens * 10}-{tens * 10 + 9}"


async def _closed_refunds(session: SessionDep, period_id: IdPath) -> tuple[str, list[Refund]]:
    period = await periods.require_period(session, period_id)
    if period.state not in ("closed", "settled"):
        raise Conflict("活动期尚未结束，暂无结算。", slug="period-not-closed", title="Period not closed")
    return period.state, await repository.of_period(session, period_id)


@admin_router.get("/{period_id}/settlement", dependencies=[READ])
async def settlement_report(period_id: IdPath, session: SessionDep) -> SettlementReport:
    """Registrants, rate distribution, refund totals and failures."""
    state, refunds = await _closed_refunds(session, period_id)
    # Late-payment and cancellation refunds are money out, but not registrants of the settlement.
    regular = [r for r in refunds if r.out_refund_no.startswith(SETTLEMENT_REFUND)]
    return SettlementReport(
        period_id=period_id,
        state=state,
        registrants=len(regular),
        rate_distribution=dict(sorted(Counter(bucket(r) for r in regular).items())),
        refunds_due=sum(1 for r in refunds if r.amount_fen > 0),
        refund_total_fen=sum(r.amount_fen for r in refunds),
        refunded_fen=sum(r.amount_fen for r in refunds if r.state == "succeeded"),
        by_state=dict(Counter(r.state for r in refunds)),
        failures=[
            RefundFailure(
                refund_id=r.id,
                member_no=r.member_no,
                out_refund_no=r.out_refund_no,
                amount_fen=r.amount_fen,
                attempts=r.attempts,
                error=r.last_error,
            )
            for r in refunds
            if r.state == "failed" or (r.state == "pending" and r.last_error)
        ],
    )


@admin_router.get("/{period_id}/settlement.csv", dependencies=[READ])
async def settlement_csv(period_id: IdPath, session: SessionDep) -> Response:
    """One line per registrant: rate, fee, refund and its state."""
    _, refunds = await _closed_refunds(session, period_id)
    header = ["member_no", "checked_days", "planned_days", "rate_percent", "fee_fen", "refund_fen", "state",
              "out_refund_no", "error"]
    rows = [
        [r.member_no, r.checked_days, r.planned_days,
         f"{100 * r.checked_days / r.planned_days:.2f}" if r.planned_days else "",
         r.fee_fen, r.amount_fen, r.state, r.out_refund_no, r.last_error or ""]
        for r in refunds
    ]
    return csv_response(f"period-{period_id}-settlement", header, rows)


@admin_router.post("/{period_id}/refunds/retry", dependencies=[EDIT])
async def retry_refunds(period_id: IdPath, session: SessionDep) -> dict[str, int]:
    """Queue the failed refunds of a period again (same out_refund_no, so never twice).

    Any period: settlement refunds of a closed one, and the full refunds of
    cancelled registrations or of a cancelled period, which fail the same way.
    """
    await periods.require_period(session, period_id)
    return {"requeued": await repository.retry_failed(session, period_id)}


@admin_router.post("/{period_id}/settlement/start", dependencies=[EDIT])
async def start_settlement(period_id: IdPath, session: SessionDep, clock: ClockDep) -> dict[str, int]:
    """Send the refunds a closed period holds (periods without auto-settlement wait for this)."""
    period = await periods.require_period(session, period_id, lock=True)
    return {"released": await service.start_settlement(session, period, clock.now())}
