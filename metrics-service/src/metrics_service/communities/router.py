"""Staff API of the community figure."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from metrics_service import definitions
from metrics_service.communities import service
from metrics_service.communities.schemas import CommunitiesRead
from metrics_service.figures import FIGURE_RESPONSES, READ, Tabular, WindowDep, answer
from shared.fields import IdQuery
from shared.routing import SessionDep

admin_router = APIRouter(prefix="/admin/v1/metrics", tags=["metrics"])


@admin_router.get("/communities", dependencies=[READ], response_model=CommunitiesRead, responses=FIGURE_RESPONSES)
async def communities(
    session: SessionDep,
    window: WindowDep,
    active_days: Annotated[
        int, Query(ge=1, le=90, description="active in the mini-program within this many days up to `to`")
    ] = definitions.DEFAULT_ACTIVE_WINDOW_DAYS,
    series_id: IdQuery = None,
) -> Tabular | Response:
    """Per group (openGId) and per series: members seen, recently active, active ratio, last activity."""
    figure = await service.communities(session, window, active_days=active_days, series_id=series_id)
    return answer(figure, window, "communities")
