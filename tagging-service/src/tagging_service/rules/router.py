"""Staff API of auto-tagging rules and their back-fills."""

from __future__ import annotations

from fastapi import APIRouter, Response

from shared.auth import CurrentStaff
from shared.fields import IdPath
from shared.routing import Page, PageDep, SessionDep, cursor_int, encode_cursor
from tagging_service.deps import EDIT, READ, utcnow
from tagging_service.rules import repository, service
from tagging_service.rules.schemas import BackfillRead, TagRuleCreate, TagRuleRead

admin_router = APIRouter(prefix="/admin/v1/tag-rules", tags=["tag-rules"])


@admin_router.get("", dependencies=[READ])
async def list_rules(session: SessionDep, page: PageDep) -> Page[TagRuleRead]:
    """Rules by id."""
    rows = await repository.page(session, after_id=cursor_int(page.cursor), limit=page.limit + 1)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(items=[service.read_of(r) for r in rows],
                next_cursor=encode_cursor({"id": rows[-1].id}) if more else None)


@admin_router.post("", status_code=201, dependencies=[EDIT])
async def create_rule(body: TagRuleCreate, staff: CurrentStaff, session: SessionDep) -> TagRuleRead:
    """Save a rule; an enabled one is back-filled over every existing member."""
    return service.read_of(await service.create(session, body, staff_id=staff.staff_id))


@admin_router.get("/{rule_id}", dependencies=[READ])
async def get_rule(rule_id: IdPath, session: SessionDep) -> TagRuleRead:
    """One rule."""
    return service.read_of(await service.require(session, rule_id))


@admin_router.put("/{rule_id}", dependencies=[EDIT])
async def replace_rule(rule_id: IdPath, body: TagRuleCreate, session: SessionDep) -> TagRuleRead:
    """Replace a rule (a new version, back-filled again)."""
    rule = await service.replace(session, await service.require(session, rule_id), body, now=utcnow())
    return service.read_of(rule)


@admin_router.delete("/{rule_id}", status_code=204, dependencies=[EDIT])
async def delete_rule(rule_id: IdPath, session: SessionDep) -> Response:
    """Retire a rule (the tags it applied stay)."""
    rule = await service.require(session, rule_id)
    rule.deleted_at, rule.enabled = utcnow(), False
    await session.flush()
    return Response(status_code=204)


@admin_router.get("/{rule_id}/backfill", dependencies=[READ])
async def backfill(rule_id: IdPath, session: SessionDep) -> BackfillRead:
    """Progress of the rule's back-fill: state, done, total."""
    return await service.backfill_read(session, rule_id)
