"""Staff API for series and periods; the mini-program's catalogue."""

from __future__ import annotations

from fastapi import APIRouter

from campaign_service.deps import ClockDep, RuntimeDep, settings_of
from campaign_service.periods import repository, service
from campaign_service.periods.models import Series
from campaign_service.periods.schemas import (
    PeriodCreate,
    PeriodPublic,
    PeriodRead,
    PeriodUpdate,
    SeriesCreate,
    SeriesRead,
    SeriesUpdate,
    SeriesWithPeriods,
)
from shared.auth import CurrentMember, require_roles
from shared.errors import NotFound
from shared.fields import IdPath
from shared.routing import Page, PageDep, SessionDep, cursor_int, encode_cursor

admin_router = APIRouter(prefix="/admin/v1", tags=["series & periods"])
mp_router = APIRouter(prefix="/mp/v1", tags=["catalogue"])

EDIT = require_roles("admin", "operator")
READ = require_roles("admin", "operator", "sales", "viewer")
VISIBLE_STATES = ("open", "running", "closed", "settled")


async def _series(session: SessionDep, series_id: IdPath) -> Series:
    series = await repository.get_series(session, series_id)
    if series is None:
        raise NotFound("系列不存在。", slug="series-not-found", title="Series not found")
    return series


@admin_router.post("/series", status_code=201, dependencies=[EDIT])
async def create_series(body: SeriesCreate, session: SessionDep) -> SeriesRead:
    """Create a series (theme)."""
    series = Series(title=body.title, description=body.description)
    session.add(series)
    await session.flush()
    await session.refresh(series)
    return SeriesRead.model_validate(series)


@admin_router.get("/series", dependencies=[READ])
async def list_series(session: SessionDep, page: PageDep) -> Page[SeriesRead]:
    """Series by id, a page at a time."""
    after = cursor_int(page.cursor, "id")
    rows = await repository.list_series(session, after_id=after, limit=page.limit + 1)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(
        items=[SeriesRead.model_validate(s) for s in rows],
        next_cursor=encode_cursor({"id": rows[-1].id}) if more else None,
    )


@admin_router.get("/series/{series_id}", dependencies=[READ])
async def get_series(series_id: IdPath, session: SessionDep) -> SeriesRead:
    """One series."""
    return SeriesRead.model_validate(await _series(session, series_id))


@admin_router.patch("/series/{series_id}", dependencies=[EDIT])
async def update_series(series_id: IdPath, body: SeriesUpdate, session: SessionDep) -> SeriesRead:
    """Rename or describe a series."""
    series = await _series(session, series_id)
    for field, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(series, field, value)
    await session.flush()
    return SeriesRead.model_validate(series)


@admin_router.get("/series/{series_id}/periods", dependencies=[READ])
async def list_periods(series_id: IdPath, session: SessionDep) -> list[PeriodRead]:
    """Every period of a series, by number."""
    await _series(session, series_id)
    return [PeriodRead.model_validate(p) for p in await repository.periods_of(session, [series_id])]


@admin_router.post("/series/{series_id}/periods", status_code=201, dependencies=[EDIT])
async def create_period(
    series_id: IdPath, body: PeriodCreate, session: SessionDep, runtime: RuntimeDep
) -> PeriodRead:
    """Add the next numbered period (a draft)."""
    period = await service.create_period(session, series_id, body, settings_of(runtime).default_timezone)
    await session.refresh(period)
    return PeriodRead.model_validate(period)


@admin_router.get("/periods/{period_id}", dependencies=[READ])
async def get_period(period_id: IdPath, session: SessionDep) -> PeriodRead:
    """One period."""
    return PeriodRead.model_validate(await service.require_period(session, period_id))


@admin_router.patch("/periods/{period_id}", dependencies=[EDIT])
async def update_period(period_id: IdPath, body: PeriodUpdate, session: SessionDep) -> PeriodRead:
    """Edit a period (fully while a draft, a few fields afterwards)."""
    period = await service.require_period(session, period_id, lock=True)
    return PeriodRead.model_validate(await service.update_period(session, period, body))


@mp_router.get("/series")
async def catalogue(_: CurrentMember, session: SessionDep, clock: ClockDep) -> list[SeriesWithPeriods]:
    """Series with their published periods and the places left."""
    series = await repository.list_series(session, after_id=None, limit=500)
    periods = await repository.periods_of(session, [s.id for s in series], states=VISIBLE_STATES)
    now = clock.now()
    out = []
    for s in series:
        mine = [service.public_view(p, now) for p in periods if p.series_id == s.id]
        if mine:
            out.append(SeriesWithPeriods(id=s.id, title=s.title, description=s.description, periods=mine))
    return out


@mp_router.get("/periods/{period_id}")
async def public_period(
    period_id: IdPath, _: CurrentMember, session: SessionDep, clock: ClockDep
) -> PeriodPublic:
    """One published period with the places left."""
    period = await service.require_period(session, period_id)
    if period.state == "draft":
        raise NotFound("活动期不存在。", slug="period-not-found", title="Period not found")
    return service.public_view(period, clock.now())
