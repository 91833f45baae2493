"""Republishing ``identity.member.phone_bound`` with the number sealed, for phones bound before sealing.

Phones bound before ``phone_bound`` carried ``phone_sealed`` reached the other
services masked only, so tagging's export could never show them in full. The
migration that added ``member_phones.sealed_published_at`` left those rows
NULL (rows bound since get ``now()``); this job emits, through the outbox, one
``phone_bound`` (``republished=True``) for each member's current phone among
them and stamps the rows. It runs in identity's worker after an upgrade and
from ``python -m identity_service.cli republish-phones``; batches lock their
rows with SKIP LOCKED, so replicas and a concurrent command share the work and
a second run finds nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity_service.crypto import FieldCipher
from identity_service.phones import repository
from identity_service.phones.models import MemberPhone
from identity_service.phones.service import PHONE_CONTEXT
from shared.contracts.identity import PhoneBound
from shared.db import unit_of_work
from shared.events.outbox import emit
from shared.runtime import ServiceRuntime
from shared.sealing import Sealer

log = structlog.get_logger("identity.phones.republish")

DEFAULT_BATCH = 500
SEALED_CONTEXT = "phone"


@dataclass
class RepublishReport:
    """What one run did."""

    published: int = 0  # phone_bound events written to the outbox
    stamped: int = 0  # rows marked (including members' older phones, never republished)
    unreadable: int = 0  # phones no known key opens (stamped, not published; `rekey` reports them too)


async def republish_batch(
    session: AsyncSession, *, cipher: FieldCipher, sealer: Sealer, batch: int, report: RepublishReport
) -> int:
    """One batch of unstamped phones: emit for the current ones, stamp all; returns the rows taken."""
    rows = list(await session.scalars(
        select(MemberPhone).where(MemberPhone.sealed_published_at.is_(None))
        .order_by(MemberPhone.id).limit(batch).with_for_update(skip_locked=True)
    ))
    if not rows:
        return 0
    current = await repository.current_of_many(session, sorted({row.member_no for row in rows}))
    for row in rows:
        if current.get(row.member_no) is None or current[row.member_no].id != row.id:
            continue  # an older phone of the member: the current one is what the others should hold
        try:
            number = cipher.decrypt(row.phone_enc, context=PHONE_CONTEXT)
        except ValueError:
            report.unreadable += 1
            log.warning("republish_unreadable", id=row.id, member_no=row.member_no)
            continue
        await emit(
            session,
            PhoneBound(member_no=row.member_no, phone_masked=row.masked, country_code=row.country_code,
                       phone_sealed=sealer.seal(number, context=SEALED_CONTEXT), republished=True),
            member_no=row.member_no,
        )
        report.published += 1
    await session.execute(
        update(MemberPhone).where(MemberPhone.id.in_([row.id for row in rows]))
        .values(sealed_published_at=func.now()).execution_options(synchronize_session=False)
    )
    report.stamped += len(rows)
    return len(rows)


async def republish_sealed(
    session_factory: async_sessionmaker[AsyncSession], *, cipher: FieldCipher, sealer: Sealer,
    batch: int = DEFAULT_BATCH,
) -> RepublishReport:
    """Republish every unstamped current phone, one transaction per batch, until none is left."""
    report = RepublishReport()
    while True:
        async with unit_of_work(session_factory) as session:
            taken = await republish_batch(session, cipher=cipher, sealer=sealer, batch=batch, report=report)
        if taken < batch:
            return report


async def republish_in_worker(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """Identity's background job: republish what an upgrade left unsealed, then end."""
    keys = runtime.settings.verification_keys()
    while not stop.is_set():
        try:
            report = await republish_sealed(runtime.session_factory, cipher=FieldCipher(keys), sealer=Sealer(keys))
        except Exception as exc:  # the database may not be ready yet; the job must not die silently
            log.warning("republish_failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=5)
            continue
        if report.published or report.stamped:
            log.info("republished_sealed_phones", published=report.published, stamped=report.stamped,
                     unreadable=report.unreadable)
        return
