"""tagging-service app factory."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import Clock
from shared.db import unit_of_work
from shared.runtime import ServiceDefinition, ServiceRuntime, create_service_app
from shared.settings import load_settings
from tagging_service.blocklist.router import admin_router as blocklist_admin
from tagging_service.config import TaggingSettings
from tagging_service.deps import settings_of, use_clock, utcnow
from tagging_service.handlers import consumers
from tagging_service.notes.router import admin_router as notes_admin
from tagging_service.rules import service as rules
from tagging_service.rules.router import admin_router as rules_admin
from tagging_service.segments import index as bitmap_index
from tagging_service.segments.router import admin_router as segments_admin
from tagging_service.segments.router import internal_router as segments_internal
from tagging_service.segments.service import SegmentEngine
from tagging_service.tags import service as tags
from tagging_service.tags.router import groups_router, member_tags_router, tags_router
from tagging_service.timeline.router import admin_router as timeline_admin

log = structlog.get_logger("tagging")


async def startup(runtime: ServiceRuntime) -> None:
    """Build the bitmap index and follow the change log in every process (API or worker)."""
    use_clock(Clock(runtime.settings.test_clock_file))
    index = bitmap_index.BitmapIndex()
    runtime.extras["index"] = index
    engine = SegmentEngine(index, settings_of(runtime).timezone, runtime.session_factory)
    runtime.extras["segments"] = engine

    async def segment_members(session: AsyncSession, segment_id: int) -> list[int]:
        return list(await engine.segment_members(session, segment_id))

    runtime.extras["segment_members"] = segment_members
    interval = settings_of(runtime).index_poll_seconds
    runtime.tasks.append(
        asyncio.create_task(index.follow(runtime.session_factory, runtime.stop, interval), name="tagging-index")
    )


async def sweep(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """Worker: expire member tags, prune the index change log, back-fill and run the rules."""
    interval = settings_of(runtime).sweep_seconds
    while not stop.is_set():
        try:
            async with unit_of_work(runtime.session_factory) as session:
                await tags.expire(session, now=utcnow())
                await bitmap_index.prune(session)
            engine: SegmentEngine = runtime.extras["segments"]
            while await rules.run_backfill(runtime.session_factory, engine, now=utcnow()):
                pass
            while True:
                async with unit_of_work(runtime.session_factory) as session:
                    if not await rules.process_dirty(
                        session, engine, now=utcnow(), sessions=runtime.session_factory
                    ):
                        break
        except Exception as exc:
            log.warning("sweep_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


DEFINITION = ServiceDefinition(
    name="tagging",
    title="Qunyun tagging-service",
    routers=[groups_router, tags_router, member_tags_router, blocklist_admin, notes_admin, segments_admin,
             rules_admin, timeline_admin, segments_internal],
    consumers=consumers,
    on_startup=[startup],
    background=[sweep],
    # CSV imports (TaggingSettings.import_max_bytes) are the largest bodies.
    max_body_bytes=4 * 1024 * 1024,
)


def create_app(settings: TaggingSettings | None = None) -> FastAPI:
    """Build the app; settings are read from the environment when not given."""
    return create_service_app(DEFINITION, settings or load_settings(TaggingSettings))
