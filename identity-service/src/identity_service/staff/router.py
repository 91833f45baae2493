"""Console sign-in (``POST /admin/v1/session``) and staff administration (admin only)."""

from typing import Annotated

from fastapi import APIRouter

from identity_service.deps import RuntimeDep, SettingsDep, require_internal
from identity_service.errors import RecordedFailure
from identity_service.staff import repository, service
from identity_service.staff.schemas import (
    StaffCreate,
    StaffLogin,
    StaffPage,
    StaffRead,
    StaffRoleUpdate,
    StaffSessionRead,
)
from shared.auth import CurrentStaff, StaffPrincipal, require_roles
from shared.fields import IdPath
from shared.routing import PageDep, SessionDep, cursor_int, encode_cursor

session_router = APIRouter(prefix="/admin/v1/session", tags=["staff"], dependencies=[require_internal])
admin_router = APIRouter(prefix="/admin/v1/staff", tags=["staff"], dependencies=[require_internal])

AdminDep = Annotated[StaffPrincipal, require_roles("admin")]


@session_router.post("")
async def create_staff_session(
    body: StaffLogin, session: SessionDep, settings: SettingsDep, runtime: RuntimeDep
) -> StaffSessionRead:
    """Sign in to the console; repeated failures lock the account for a while."""
    try:
        return await service.login(
            session, settings=settings, tokens=runtime.tokens, username=body.username, password=body.password
        )
    except RecordedFailure as failure:
        # The failure count (and a lockout) must stick although the answer is an error.
        await session.commit()
        raise failure.problem from None


@admin_router.get("/me")
async def who_am_i(staff: CurrentStaff, session: SessionDep) -> StaffRead:
    """The signed-in staff account."""
    return service.staff_read(await service.require(session, staff.staff_id))


@admin_router.get("")
async def list_staff(_: AdminDep, session: SessionDep, page: PageDep) -> StaffPage:
    """Every staff account, by id."""
    rows = await repository.page(session, limit=page.limit + 1, after=cursor_int(page.cursor, "id"))
    items = [service.staff_read(row) for row in rows[: page.limit]]
    next_cursor = encode_cursor({"id": items[-1].id}) if len(rows) > page.limit else None
    return StaffPage(items=items, next_cursor=next_cursor)


@admin_router.post("", status_code=201)
async def create_staff(
    body: StaffCreate, admin: AdminDep, session: SessionDep, settings: SettingsDep
) -> StaffRead:
    """Create a staff account with a role."""
    return service.staff_read(
        await service.create(session, settings=settings, body=body, created_by=admin.staff_id)
    )


@admin_router.get("/{staff_id}")
async def get_staff(staff_id: IdPath, _: AdminDep, session: SessionDep) -> StaffRead:
    """One staff account."""
    return service.staff_read(await service.require(session, staff_id))


@admin_router.post("/{staff_id}/disable")
async def disable_staff(staff_id: IdPath, admin: AdminDep, session: SessionDep) -> StaffRead:
    """Disable an account: it can no longer sign in."""
    return service.staff_read(
        await service.set_disabled(session, staff_id=staff_id, disabled=True, actor=admin)
    )


@admin_router.post("/{staff_id}/enable")
async def enable_staff(staff_id: IdPath, admin: AdminDep, session: SessionDep) -> StaffRead:
    """Re-enable an account (also lifts a lockout)."""
    return service.staff_read(
        await service.set_disabled(session, staff_id=staff_id, disabled=False, actor=admin)
    )


@admin_router.put("/{staff_id}/role")
async def change_staff_role(
    staff_id: IdPath, body: StaffRoleUpdate, admin: AdminDep, session: SessionDep
) -> StaffRead:
    """Change an account's role."""
    return service.staff_read(
        await service.change_role(session, staff_id=staff_id, role=body.role, actor=admin)
    )
