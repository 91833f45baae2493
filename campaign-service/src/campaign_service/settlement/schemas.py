"""Shapes of the settlement report."""

from __future__ import annotations

from pydantic import BaseModel

from shared.fields import Id, MemberNo, Text


class RefundFailure(BaseModel):
    """A refund that needs attention."""

    refund_id: Id
    member_no: MemberNo
    out_refund_no: Text
    amount_fen: int
    attempts: int
    error: Text | None


class SettlementReport(BaseModel):
    """Where a period's money went."""

    period_id: Id
    state: Text
    registrants: int
    rate_distribution: dict[str, int]
    refunds_due: int
    refund_total_fen: int
    refunded_fen: int
    by_state: dict[str, int]
    failures: list[RefundFailure]
