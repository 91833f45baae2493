"""Mini-program sign-in: ``POST /mp/v1/session`` and ``POST /mp/v1/session/refresh``."""

from fastapi import APIRouter

from identity_service.deps import ContextDep, RuntimeDep, require_internal
from identity_service.errors import RecordedFailure
from identity_service.sessions import service
from identity_service.sessions.schemas import SessionCreate, SessionRead, SessionRefresh
from shared.clock import Clock
from shared.routing import SessionDep

mp_router = APIRouter(prefix="/mp/v1/session", tags=["mini-program"], dependencies=[require_internal])


@mp_router.post("")
async def create_session(body: SessionCreate, ctx: ContextDep, runtime: RuntimeDep) -> SessionRead:
    """Sign in with a ``wx.login`` code; creates the member on first sight.

    No request session here: a returning member's login is one autocommit
    statement, and the login opens its own unit of work only when it has to
    resolve the member (the hottest route skips a session it would not use).
    """
    clock = runtime.extras.get("clock")
    if clock is None:
        clock = runtime.extras["clock"] = Clock(runtime.settings.test_clock_file)
    return await service.login(
        runtime.session_factory, ctx=ctx, tokens=runtime.tokens, pool=runtime.driver_pool, code=body.code,
        now=clock.now(),
    )


@mp_router.post("/refresh")
async def refresh_session(
    body: SessionRefresh, session: SessionDep, ctx: ContextDep, runtime: RuntimeDep
) -> SessionRead:
    """Exchange a refresh token for a new token pair (each refresh token works once)."""
    try:
        return await service.refresh(
            session, ctx=ctx, tokens=runtime.tokens, refresh_token=body.refresh_token
        )
    except RecordedFailure as failure:
        # The revoked family must stay revoked although the answer is an error.
        await session.commit()
        raise failure.problem from None
