"""Staff API of the campaign figures."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from metrics_service import definitions
from metrics_service.campaigns import service
from metrics_service.campaigns.schemas import ChannelsRead, CohortsRead, PeriodFigureRead, RenewalRead
from metrics_service.figures import (
    FIGURE_RESPONSES,
    NOT_FOUND_RESPONSES,
    READ,
    Format,
    Tabular,
    Window,
    WindowDep,
    answer,
    today,
)
from shared.fields import IdPath
from shared.routing import SessionDep

admin_router = APIRouter(prefix="/admin/v1/metrics", tags=["metrics"])

FormatQuery = Annotated[Format, Query(description="json (default) or csv")]


class CohortView(StrEnum):
    """Which of seed 002's charts."""

    origin = "origin"
    source = "source"
    destination = "destination"


def _format_only(fmt: Format) -> Window:
    day = today()
    return Window(first=day, last=day, unit="day", csv=fmt is Format.csv)


@admin_router.get(
    "/periods/{period_id}", dependencies=[READ], response_model=PeriodFigureRead, responses=NOT_FOUND_RESPONSES
)
async def period_figure(
    period_id: IdPath, session: SessionDep, format: FormatQuery = Format.json
) -> Tabular | Response:
    """A period: registrations, paid, cancelled, check-in rate deciles, completion, refunds."""
    return answer(await service.period_figure(session, period_id), _format_only(format), f"period-{period_id}")


@admin_router.get(
    "/series/{series_id}/renewal", dependencies=[READ], response_model=RenewalRead, responses=NOT_FOUND_RESPONSES
)
async def renewal(
    series_id: IdPath,
    session: SessionDep,
    active_window_days: Annotated[
        int, Query(ge=1, le=90, description="days before N+1 opened that count as recently active")
    ] = definitions.DEFAULT_ACTIVE_WINDOW_DAYS,
    format: FormatQuery = Format.json,
) -> Tabular | Response:
    """Renewal per period N → N+1, and what became of those who did not renew."""
    figure = await service.renewal(session, series_id, active_window_days)
    return answer(figure, _format_only(format), f"series-{series_id}-renewal")


@admin_router.get(
    "/series/{series_id}/cohorts", dependencies=[READ], response_model=CohortsRead, responses=NOT_FOUND_RESPONSES
)
async def cohorts(
    series_id: IdPath,
    session: SessionDep,
    view: Annotated[CohortView, Query(description="origin, source or destination")] = CohortView.origin,
    format: FormatQuery = Format.json,
) -> Tabular | Response:
    """Each period's registrants by origin period, first source anywhere, or last campaign."""
    figure = await service.cohorts(session, series_id, view.value)
    return answer(figure, _format_only(format), f"series-{series_id}-cohorts-{view.value}")


@admin_router.get("/channels", dependencies=[READ], response_model=ChannelsRead, responses=FIGURE_RESPONSES)
async def channels(session: SessionDep, window: WindowDep) -> Tabular | Response:
    """Per channel: scanned → followed → registered → paid → completed → renewed (touched in the range)."""
    return answer(await service.channels(session, window), window, "channels")
