"""Dependencies every tagging router uses: the runtime, the clock, the bitmap index."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import Depends, Request

from shared.auth import require_roles
from shared.clock import Clock
from shared.runtime import ServiceRuntime
from tagging_service.config import TaggingSettings

EDIT = require_roles("admin", "operator")
READ = require_roles("admin", "operator", "sales", "viewer")


# The shared test clock (moved for every process of a test system; wall time otherwise).
# One per process, set at start-up from the settings (use_clock).
_CLOCK = Clock()


def use_clock(clock: Clock) -> None:
    """Make ``clock`` this process's notion of now."""
    global _CLOCK
    _CLOCK = clock


def utcnow() -> datetime:
    """Now, in UTC (moved time in test systems)."""
    return _CLOCK.now()


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


