"""Staff API for keyword auto-replies, and the internal list the gateway caches."""

from fastapi import APIRouter, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from messaging_service.auto_replies import repository
from messaging_service.auto_replies.models import AutoReply
from messaging_service.auto_replies.schemas import (
    AutoReplyCreate,
    AutoReplyList,
    AutoReplyRead,
    AutoReplyUpdate,
)
from shared.auth import CurrentStaff, InternalCallerDep, require_roles
from shared.errors import Conflict, NotFound
from shared.fields import IdPath
from shared.routing import SessionDep

admin_router = APIRouter(prefix="/admin/v1/auto-replies", tags=["auto-replies"])
internal_router = APIRouter(prefix="/internal/auto-replies", include_in_schema=False)

EDIT = require_roles("admin", "operator")
READ = require_roles("admin", "operator", "sales", "viewer")


async def _flush_unique(session: AsyncSession, rule: AutoReply) -> None:
    """Write the rule; the same keyword, match and app twice (even at once) is a conflict."""
    try:
        async with session.begin_nested():
            session.add(rule)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("已存在相同关键词的规则。", slug="duplicate-rule", title="Duplicate rule") from exc
    await session.refresh(rule)


@admin_router.get("", dependencies=[READ])
async def list_auto_replies(session: SessionDep) -> AutoReplyList:
    """Every keyword rule."""
    rules = await repository.list_rules(session)
    return AutoReplyList(items=[AutoReplyRead.model_validate(r) for r in rules])


@admin_router.post("", status_code=201, dependencies=[EDIT])
async def create_auto_reply(body: AutoReplyCreate, session: SessionDep, staff: CurrentStaff) -> AutoReplyRead:
    """Add a keyword rule."""
    if await repository.find_same(session, keyword=body.keyword, match=body.match, app=body.app):
        raise Conflict("已存在相同关键词的规则。", slug="duplicate-rule", title="Duplicate rule")
    rule = AutoReply(**body.model_dump(), updated_by=staff.staff_id)
    await _flush_unique(session, rule)
    return AutoReplyRead.model_validate(rule)


@admin_router.patch("/{rule_id}", dependencies=[EDIT])
async def update_auto_reply(
    rule_id: IdPath, body: AutoReplyUpdate, session: SessionDep, staff: CurrentStaff
) -> AutoReplyRead:
    """Change a keyword rule."""
    rule = await repository.get_rule(session, rule_id)
    if rule is None:
        raise NotFound("规则不存在。", slug="rule-not-found")
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(rule, field, value)
    rule.updated_by = staff.staff_id
    await _flush_unique(session, rule)
    return AutoReplyRead.model_validate(rule)


@admin_router.delete("/{rule_id}", status_code=204, dependencies=[EDIT])
async def delete_auto_reply(rule_id: IdPath, session: SessionDep) -> Response:
    """Remove a keyword rule."""
    rule = await repository.get_rule(session, rule_id)
    if rule is None:
        raise NotFound("规则不存在。", slug="rule-not-found")
    await session.delete(rule)
    return Response(status_code=204)


@internal_router.get("")
async def enabled_auto_replies(session: SessionDep, _: InternalCallerDep) -> AutoReplyList:
    """Enabled rules, for the gateway's passive replies."""
    rules = await repository.list_rules(session, enabled_only=True)
    return AutoReplyList(items=[AutoReplyRead.model_validate(r) for r in rules])
