"""Staff API of purposes: ``GET/POST/PUT /admin/v1/message-purposes``."""

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from messaging_service import catalog
from messaging_service.purposes import service
from messaging_service.purposes.models import Purpose
from messaging_service.purposes.schemas import PurposeCreate, PurposeList, PurposeRead, PurposeUpdate
from shared.auth import CurrentStaff, require_roles
from shared.errors import Conflict
from shared.fields import IdPath
from shared.routing import SessionDep

admin_router = APIRouter(prefix="/admin/v1/message-purposes", tags=["message-purposes"])

EDIT = require_roles("admin", "operator")
READ = require_roles("admin", "operator", "sales", "viewer")
MAX_PURPOSES = 500


def _read(purpose: Purpose) -> PurposeRead:
    return PurposeRead.model_validate(purpose)


@admin_router.get("", dependencies=[READ], response_model_by_alias=True)
async def list_purposes(session: SessionDep) -> PurposeList:
    """Every purpose, by name."""
    rows = await session.scalars(select(Purpose).order_by(Purpose.name).limit(MAX_PURPOSES))
    return PurposeList(items=[_read(p) for p in rows])


@admin_router.get("/{purpose_id}", dependencies=[READ])
async def get_purpose(purpose_id: IdPath, session: SessionDep) -> PurposeRead:
    """One purpose."""
    return _read(await service.get(session, purpose_id))


@admin_router.post("", status_code=201, dependencies=[EDIT])
async def create_purpose(body: PurposeCreate, session: SessionDep, staff: CurrentStaff) -> PurposeRead:
    """Add a purpose; its templates must be in the registry and every field mapped."""
    await service.check_channels(session, body.channels)
    if await session.scalar(select(Purpose.id).where(Purpose.name == body.name)):
        raise Conflict("已存在同名的消息用途。", slug="duplicate-purpose")
    values = body.model_dump(mode="json", exclude_none=False)
    purpose = Purpose(**values, updated_by=staff.staff_id)
    try:
        async with session.begin_nested():
            session.add(purpose)
            await session.flush()
    except IntegrityError as exc:  # the same name created twice at once
        raise Conflict("已存在同名的消息用途。", slug="duplicate-purpose") from exc
    await session.refresh(purpose)
    catalog.clear(session)
    return _read(purpose)


@admin_router.put("/{purpose_id}", dependencies=[EDIT])
async def replace_purpose(
    purpose_id: IdPath, body: PurposeUpdate, session: SessionDep, staff: CurrentStaff
) -> PurposeRead:
    """Replace a purpose's class, channels and limits (sends already made keep theirs)."""
    purpose = await service.get(session, purpose_id)
    await service.check_channels(session, body.channels)
    for name, value in body.model_dump(mode="json").items():
        setattr(purpose, name, value)
    purpose.updated_by = staff.staff_id
    await session.flush()
    await session.refresh(purpose)
    catalog.clear(session)
    return _read(purpose)
