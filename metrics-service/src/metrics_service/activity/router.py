"""Staff API of the audience figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from metrics_service.activity import service
from metrics_service.activity.schemas import DwellRead, HeatmapRead, LifecycleRead, RetentionRead
from metrics_service.figures import FIGURE_RESPONSES, READ, Tabular, WindowDep, answer
from shared.routing import SessionDep

admin_router = APIRouter(prefix="/admin/v1/metrics", tags=["metrics"])


@admin_router.get("/lifecycle", dependencies=[READ], response_model=LifecycleRead, responses=FIGURE_RESPONSES)
async def lifecycle(session: SessionDep, window: WindowDep) -> Tabular | Response:
    """New, returning, resurrecting and dormant members per interval."""
    return answer(await service.lifecycle(session, window), window, "lifecycle")


@admin_router.get("/retention", dependencies=[READ], response_model=RetentionRead, responses=FIGURE_RESPONSES)
async def retention(
    session: SessionDep,
    window: WindowDep,
    intervals: Annotated[int, Query(ge=1, le=60, description="intervals after the first (N)")] = 8,
) -> Tabular | Response:
    """Cohorts by first-seen date: how many were active 0…N intervals later."""
    return answer(await service.retention(session, window, intervals), window, "retention")


@admin_router.get("/dwell", dependencies=[READ], response_model=DwellRead, responses=FIGURE_RESPONSES)
async def dwell(session: SessionDep, window: WindowDep) -> Tabular | Response:
    """Average seconds in the mini-program per active member per day, and its trend."""
    return answer(await service.dwell(session, window), window, "dwell")


@admin_router.get("/heatmap", dependencies=[READ], response_model=HeatmapRead, responses=FIGURE_RESPONSES)
async def heatmap(session: SessionDep, window: WindowDep) -> Tabular | Response:
    """Mini-program activity by hour × weekday (Asia/Shanghai)."""
    return answer(await service.heatmap(session, window), window, "heatmap")
