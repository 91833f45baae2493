"""Staff API of the template registry: list and re-sync from WeChat."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from messaging_service import catalog
from messaging_service.deps import ClockDep, RuntimeDep
from messaging_service.templates import repository, service
from messaging_service.templates.schemas import SyncReport, TemplateList, TemplateRead
from shared.auth import require_roles
from shared.routing import SessionDep

admin_router = APIRouter(prefix="/admin/v1/templates", tags=["templates"])

EDIT = require_roles("admin", "operator")
READ = require_roles("admin", "operator", "sales", "viewer")


@admin_router.get("", dependencies=[READ])
async def list_templates(
    session: SessionDep, app: Annotated[Literal["mp", "oa"] | None, Query()] = None
) -> TemplateList:
    """The registry, removed templates included (marked)."""
    rows = await repository.list_templates(session, app=app)
    return TemplateList(items=[TemplateRead.model_validate(r) for r in rows])


@admin_router.post("/sync", dependencies=[EDIT])
async def sync_templates(session: SessionDep, runtime: RuntimeDep, clock: ClockDep) -> SyncReport:
    """Fetch both apps' template lists from WeChat and update the registry."""
    results = []
    for app, appid in (("mp", runtime.settings.mp_appid), ("oa", runtime.settings.oa_appid)):
        upstream = await service.fetch_upstream(
            runtime.extras["wechat"], runtime.extras["tokens"], app=app, appid=appid
        )
        results.append(await service.apply_sync(session, app=app, upstream=upstream, now=clock.now()))
    catalog.clear(session)
    return SyncReport(results=results)
