"""Free registrations for one period are committed in batches: fewer commits, exact places, one failure stays one."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from campaign_service.registrations import service
from campaign_service.registrations.schemas import RegistrationCreate
from shared.errors import Conflict
from shared.settings import to_plain_url


async def _transactions_of(c, period_id: int) -> tuple[int, int]:
    """(registrations, distinct writing transactions) of a period."""
    async with c.runtime.driver_pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT xmin::text) AS tx FROM registrations WHERE period_id = $1",
            period_id,
        )
    return row["n"], row["tx"]


async def test_a_launch_is_committed_in_batches_with_exact_places(campaign_factory):
    async with campaign_factory(db_pool_size=20, db_max_overflow=30) as c:
        assert c.runtime.extras.get("free_registrations") is not None
        period = await c.open_period(capacity=150)
        url = f"/mp/v1/periods/{period['id']}/registrations"
        statuses = await asyncio.gather(
            *(c.client.post(url, json={}, headers=c.member(26000 + i)) for i in range(300))
        )
        codes = [s.status_code for s in statuses]
        assert codes.count(201) == 150 and codes.count(409) == 150, sorted(set(codes))
        assert {s.json()["type"].rsplit("/", 1)[-1] for s in statuses if s.status_code == 409} == {"period-full"}
        registrations, transactions = await _transactions_of(c, period["id"])
        assert registrations == 150
        # Many members share a commit (rows written by one transaction share its xmin).
        assert transactions < registrations / 3, transactions
        assert (await c.client.get(f"/admin/v1/periods/{period['id']}", headers=c.staff())).json()["taken"] == 150
        assert len({s.json()["id"] for s in statuses if s.status_code == 201}) == 150


async def test_one_failing_member_does_not_fail_its_batch(campaign_factory):
    """A member registering elsewhere at the same moment fails alone; the others of the batch are registered."""
    async with campaign_factory() as c:
        period = await c.open_period(capacity=10)
        runtime = c.runtime
        now = runtime.extras["clock"].now()
        batches = runtime.extras["free_registrations"]
        # Another replica's uncommitted registration of member 27002: the batch's statement for 27002
        # waits on the unique index, then fails when that one commits.
        other = await asyncpg.connect(to_plain_url(runtime.settings.own_database_url()))
        try:
            tx = other.transaction()
            await tx.start()
            await other.execute(
                "INSERT INTO registrations (period_id, member_no, state, fee_fen, created_at, confirmed_at)"
                " VALUES ($1, 27002, 'confirmed', 0, now(), now())",
                period["id"],
            )

            def register(member_no: int):
                return service.register_free(
                    runtime.driver_pool, period_id=period["id"], member_no=member_no, body=RegistrationCreate(),
                    now=now, source="campaign", notify=False, batches=batches,
                )

            pending = asyncio.gather(*(register(no) for no in (27001, 27002, 27003)), return_exceptions=True)
            await asyncio.sleep(0.5)
            await tx.commit()
            first, failed, third = await asyncio.wait_for(pending, 10)
        finally:
            await other.close()
        assert isinstance(failed, Conflict) and failed.slug == "already-registered"
        assert first.state == "confirmed" and third.state == "confirmed" and first.id != third.id
        detail = await c.client.get(f"/admin/v1/periods/{period['id']}", headers=c.staff())
        assert detail.json()["taken"] == 2  # 27002's place came back with its statement


async def test_an_unknown_period_in_a_batch_is_not_found(campaign_factory):
    async with campaign_factory() as c:
        url = "/mp/v1/periods/987654/registrations"
        answers = await asyncio.gather(*(c.client.post(url, json={}, headers=c.member(28000 + i)) for i in range(5)))
        assert {a.status_code for a in answers} == {404}
        assert {a.json()["type"].rsplit("/", 1)[-1] for a in answers} == {"period-not-found"}


@pytest.mark.parametrize("size", [1, 2])
async def test_small_batches_register(campaign_factory, size):
    async with campaign_factory() as c:
        period = await c.open_period(capacity=5)
        url = f"/mp/v1/periods/{period['id']}/registrations"
        answers = await asyncio.gather(
            *(c.client.post(url, json={}, headers=c.member(29000 + 10 * size + i)) for i in range(size))
        )
        assert [a.status_code for a in answers] == [201] * size
