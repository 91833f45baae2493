"""Staff API of the overview metrics."""

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from metrics_service.overview import repository
from metrics_service.overview.schemas import DailyValue, OverviewRead
from shared.auth import require_roles
from shared.errors import Invalid
from shared.routing import SessionDep

admin_router = APIRouter(prefix="/admin/v1/metrics", tags=["metrics"])

READ_ROLES = ("admin", "operator", "sales", "viewer")


@admin_router.get("/overview", dependencies=[require_roles(*READ_ROLES)])
async def overview(
    session: SessionDep,
    since: Annotated[date | None, Query()] = None,
    until: Annotated[date | None, Query()] = None,
) -> OverviewRead:
    """New members and follows per day, and the member total."""
    until = until or date.today()
    since = since or until - timedelta(days=29)
    if since > until or (until - since).days > 366:
        raise Invalid("Choose a range of at most one year with since ≤ until.", slug="invalid-range")
    new = await repository.counters(session, kind="new_members", since=since, until=until)
    follows = await repository.counters(session, kind="follows", since=since, until=until)
    return OverviewRead(
        members_total=await repository.member_count(session),
        new_members=[DailyValue(day=c.day, value=c.value) for c in new],
        follows=[DailyValue(day=c.day, value=c.value) for c in follows],
    )
