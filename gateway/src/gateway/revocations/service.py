"""The gateway's view of revoked access, and the consumer that feeds it.

identity-service publishes ``identity.access.revoked`` when a staff account
is disabled or changes role, or a member session is revoked. Tokens are
verified at the gateway without calling identity, so without this list such
tokens would keep working until they expire. Every gateway replica consumes
the events into its database and reloads the (small) list every few seconds.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.revocations import repository
from shared.auth import MEMBER_TTL, STAFF_TTL
from shared.contracts import parse
from shared.contracts.identity import AccessRevoked
from shared.db import unit_of_work
from shared.events import Envelope
from shared.events.envelope import utcnow
from shared.kafka.consumer import ConsumerSpec
from shared.kafka.topics import IDENTITY_EVENTS
from shared.runtime import ServiceRuntime

log = structlog.get_logger("gateway.revocations")

REFRESH_SECONDS = 2.0
# A revocation matters only while tokens issued before it can still be alive.
HORIZON = timedelta(seconds=max(STAFF_TTL, MEMBER_TTL) + 300)


class Revocations:
    """(kind, subject) → unix time at or before which tokens are refused."""

    def __init__(self) -> None:
        self.cutoffs: dict[tuple[str, str], float] = {}

    def refuses(self, kind: str, subject: str | None, issued_at: float) -> bool:
        """Whether a token of ``subject`` issued at ``issued_at`` was revoked."""
        if subject is None:
            return False
        cutoff = self.cutoffs.get((kind, subject))
        return cutoff is not None and issued_at <= cutoff


async def on_access_revoked(session: AsyncSession, envelope: Envelope) -> None:
    """Record a revocation published by identity."""
    data = parse(envelope, AccessRevoked)
    await repository.record(session, kind=data.kind, subject=data.subject, revoked_at=data.revoked_at,
                            reason=data.reason)


def consumers(_: ServiceRuntime) -> list[ConsumerSpec]:
    """The gateway's consumers."""
    return [ConsumerSpec(name="revocations", topics=[IDENTITY_EVENTS],
                         handlers={"identity.access.revoked": on_access_revoked})]


async def refresh_revocations(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """Background job: keep ``runtime.extras['revocations']`` current."""
    revocations: Revocations = runtime.extras["revocations"]
    while not stop.is_set():
        try:
            horizon = utcnow() - HORIZON
            async with unit_of_work(runtime.session_factory) as session:
                rows = await repository.since(session, horizon)
                await repository.forget_before(session, horizon)
            revocations.cutoffs = {(row.kind, row.subject): row.revoked_at.timestamp() for row in rows}
        except Exception as exc:  # database trouble: keep the last list
            log.warning("revocations_refresh_failed", error=repr(exc))
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=REFRESH_SECONDS)
