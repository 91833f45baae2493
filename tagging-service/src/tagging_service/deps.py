"""Dependencies every tagging router uses: the runtime, the clock, the bitmap index."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import Depends, Request

from shared.auth import require_roles
from shared.runtime import ServiceRuntime
from tagging_service.config import TaggingSettings

EDIT = require_roles("admin", "operator")
READ = require_roles("admin", "operator", "sales", "viewer")


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def settings_of(runtime: ServiceRuntime) -> TaggingSettings:
    """The runtime's settings, typed."""
    return cast(TaggingSettings, runtime.settings)


async def _runtime(request: Request) -> ServiceRuntime:
    return cast(ServiceRuntime, request.app.state.runtime)


RuntimeDep = Annotated[ServiceRuntime, Depends(_runtime)]


async def _index(runtime: RuntimeDep) -> Any:
    return runtime.extras["index"]


# The in-memory bitmaps (tagging_service.segments.index.BitmapIndex); typed loosely so
# lower domain folders need not import the segments package.
IndexDep = Annotated[Any, Depends(_index)]
