"""Shapes of the settlement report."""

from __future__ import annotations

from pydantic import BaseModel


class RefundFailure(BaseModel):
    """A refund that needs attention."""

    refund_id: int
    member_no: int
    out_refund_no: str
    amount_fen: int
    attempts: int
    error: str | None


class SettlementReport(BaseModel):
    """Where a period's money went."""

    period_id: int
    state: str
    registrants: int
    rate_distribution: dict[str, int]
    refunds_due: int
    refund_total_fen: int
    refunded_fen: int
    by_state: dict[str, int]
    failures: list[RefundFailure]
