"""Staff API of the overview metrics."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from metrics_service.figures import FIGURE_RESPONSES, READ, Format, Granularity, Tabular, Window, _window, answer
from metrics_service.overview import service
from metrics_service.overview.schemas import OverviewRead
from shared.routing import SessionDep

admin_router = APIRouter(prefix="/admin/v1/metrics", tags=["metrics"])


def _overview_window(
    window: Annotated[Window, Depends(_window)],
    since: Annotated[date | None, Query(deprecated=True, description="old name of `from`")] = None,
    until: Annotated[date | None, Query(deprecated=True, description="old name of `to`")] = None,
) -> Window:
    if since is None and until is None:
        return window
    return _window(
        date_from=since, date_to=until,
        granularity=Granularity(window.unit), format=Format.csv if window.csv else Format.json,
    )


@admin_router.get("/overview", dependencies=[READ], response_model=OverviewRead, responses=FIGURE_RESPONSES)
async def overview(
    session: SessionDep, window: Annotated[Window, Depends(_overview_window)]
) -> Tabular | Response:
    """New members, DAU/WAU/MAU, follows, registrations, payments, revenue and refunds, with 环比."""
    return answer(await service.overview(session, window), window, "overview")
