"""Series, periods, free registration, idempotency, blocklist and the capacity race."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from campaign_service.blocklist.models import BlockedMember
from shared.contracts.tagging import MemberBlocked, MemberUnblocked
from shared.events.outbox import OutboxMessage
from shared.testing.waiting import eventually


async def _outbox_types(c) -> list[str]:
    async with c.runtime.session_factory() as session:
        return list(await session.scalars(select(OutboxMessage.type).order_by(OutboxMessage.id)))


async def test_periods_numbered_validated_and_state_machine(campaign_factory, period_body):
    async with campaign_factory() as c:
        series = (
            await c.client.post("/admin/v1/series", json={"title": "亲子阅读"}, headers=c.staff())
        ).json()
        numbers = []
        for _ in range(2):
            r = await c.client.post(
                f"/admin/v1/series/{series['id']}/periods", json=period_body(), headers=c.staff()
            )
            assert r.status_code == 201, r.text
            numbers.append(r.json()["number"])
        assert numbers == [1, 2]
        bad = period_body(
            refund_rule={"tiers": [{"min_percent": 60, "kind": "proportional"}, {"min_percent": 90}]}
        )
        r = await c.client.post(f"/admin/v1/series/{series['id']}/periods", json=bad, headers=c.staff())
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")

        viewer = c.staff("viewer")
        assert (
            await c.client.get(f"/admin/v1/series/{series['id']}/periods", headers=viewer)
        ).status_code == 200
        assert (
            await c.client.post("/admin/v1/series", json={"title": "x"}, headers=viewer)
        ).status_code == 403

        period_id = (await c.client.get(f"/admin/v1/series/{series['id']}/periods", headers=viewer)).json()[
            0
        ]["id"]
        r = await c.client.post(
            f"/admin/v1/periods/{period_id}/state", json={"state": "running"}, headers=c.staff()
        )
        assert r.status_code == 409 and r.json()["type"].endswith("/invalid-transition")
        r = await c.client.post(
            f"/admin/v1/periods/{period_id}/state", json={"state": "open"}, headers=c.staff()
        )
        assert r.status_code == 200 and r.json()["state"] == "open"
        r = await c.client.patch(f"/admin/v1/periods/{period_id}", json={"fee_fen": 100}, headers=c.staff())
        assert r.status_code == 409
        r = await c.client.patch(f"/admin/v1/periods/{period_id}", json={"capacity": 50}, headers=c.staff())
        assert r.status_code == 200 and r.json()["capacity"] == 50
        assert "campaign.period.opened" in await _outbox_types(c)

        mp = await c.client.get("/mp/v1/series", headers=c.member(10001))
        assert [p["remaining"] for p in mp.json()[0]["periods"]] == [50]


async def test_free_registration_idempotency_and_refusals(campaign_factory):
    async with campaign_factory() as c:
        period = await c.open_period(capacity=5)
        url = f"/mp/v1/periods/{period['id']}/registrations"
        key = {"Idempotency-Key": "reg-key-0001"}
        first = await c.client.post(url, json={"channel": "qr"}, headers=c.member(10001) | key)
        assert first.status_code == 201 and first.json()["state"] == "confirmed"
        again = await c.client.post(url, json={"channel": "qr"}, headers=c.member(10001) | key)
        assert again.status_code == 201 and again.json() == first.json()
        assert again.headers.get("idempotent-replayed") == "true"
        other = await c.client.post(url, json={"channel": "article"}, headers=c.member(10001) | key)
        assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused")
        dup = await c.client.post(url, json={}, headers=c.member(10001) | {"Idempotency-Key": "reg-key-0002"})
        assert dup.status_code == 409 and dup.json()["type"].endswith("/already-registered")

        public = await c.client.get(f"/mp/v1/periods/{period['id']}", headers=c.member(10002))
        assert public.json()["remaining"] == 4

        c.set_now(datetime.now(UTC) + timedelta(days=3))  # window closed
        late = await c.client.post(url, json={}, headers=c.member(10003))
        assert late.status_code == 409 and late.json()["type"].endswith("/registration-closed")
        c.set_now(datetime.now(UTC))

        mine = (await c.client.get("/mp/v1/me/registrations", headers=c.member(10001))).json()
        assert mine[0]["registration"]["state"] == "confirmed" and mine[0]["planned_days"] == 10
        types = await _outbox_types(c)
        assert types.count("campaign.registration.created") == 1


async def test_blocked_members_cannot_register_via_the_tagging_events(campaign_factory):
    """tagging-service owns the blocklist; campaign follows its events into a local projection."""
    async with campaign_factory() as c:
        period = await c.open_period()
        url = f"/mp/v1/periods/{period['id']}/registrations"
        await c.publish(MemberBlocked(member_no=10009, reason="群内发广告", by_staff_id=1), key="10009")

        async def attempt():
            async with c.runtime.session_factory() as session:
                return await session.get(BlockedMember, 10009) is not None

        await eventually(attempt, bool, timeout=60)
        refused = await c.client.post(url, json={}, headers=c.member(10009))
        assert refused.status_code == 403 and refused.json()["type"].endswith("/member-blocked")
        await c.publish(MemberUnblocked(member_no=10009, by_staff_id=1), key="10009")
        await eventually(attempt, lambda blocked: not blocked, timeout=60)
        assert (await c.client.post(url, json={}, headers=c.member(10009))).status_code == 201


async def test_500_concurrent_registrations_for_100_places(campaign_factory):
    async with campaign_factory(db_pool_size=20, db_max_overflow=30) as c:
        period = await c.open_period(capacity=100)
        url = f"/mp/v1/periods/{period['id']}/registrations"

        async def one(member_no: int) -> int:
            r = await c.client.post(
                url, json={}, headers=c.member(member_no) | {"Idempotency-Key": f"key-{member_no}"}
            )
            return r.status_code

        statuses = await asyncio.gather(*(one(20000 + i) for i in range(500)))
        assert statuses.count(201) == 100, sorted(set(statuses))
        assert statuses.count(409) == 400
        from campaign_service.registrations.models import Registration

        async with c.runtime.session_factory() as session:
            count = await session.scalar(select(func.count()).select_from(Registration))
        assert count == 100
        detail = await c.client.get(f"/admin/v1/periods/{period['id']}", headers=c.staff())
        assert detail.json()["taken"] == 100


async def test_500_concurrent_one_statement_registrations_for_100_places(campaign_factory):
    """The driver-pool path: exactly 100 places, events and touches; one per member, one per key."""
    async with campaign_factory(simulator=True, db_pool_size=20, db_max_overflow=30) as c:
        channel = await c.client.post(
            "/admin/v1/channels", json={"name": "抢位海报", "code": "race-poster"}, headers=c.staff()
        )
        assert channel.status_code == 201, channel.text
        period = await c.open_period(capacity=100)
        url = f"/mp/v1/periods/{period['id']}/registrations"

        async def one(member_no: int) -> int:
            body = {"channel": "race-poster"} if member_no % 2 else {}
            return (await c.client.post(url, json=body, headers=c.member(member_no))).status_code

        statuses = await asyncio.gather(*(one(23000 + i) for i in range(500)))
        assert statuses.count(201) == 100 and statuses.count(409) == 400, sorted(set(statuses))
        detail = await c.client.get(f"/admin/v1/periods/{period['id']}", headers=c.staff())
        assert detail.json()["taken"] == 100
        from campaign_service.channels.models import ChannelTouch
        from campaign_service.registrations.models import Registration

        async with c.runtime.session_factory() as session:
            registrations = list(
                await session.scalars(select(Registration).where(Registration.period_id == period["id"]))
            )
            created = list(
                await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.type == "campaign.registration.created")
                )
            )
            touches = await session.scalar(
                select(func.count()).select_from(ChannelTouch).where(ChannelTouch.kind == "launch")
            )
        assert len(registrations) == 100
        by_id = {r.id: r for r in registrations}
        events = [e.envelope for e in created if e.envelope["data"]["period_id"] == period["id"]]
        assert sorted(e["data"]["registration_id"] for e in events) == sorted(by_id)
        for e in events:
            mine = by_id[e["data"]["registration_id"]]
            assert e["member_no"] == mine.member_no and e["data"]["series_id"] == period["series_id"]
            assert e["data"]["channel"] == mine.channel and e["data"]["fee_fen"] == 0
        with_channel = [r for r in registrations if r.channel == "race-poster"]
        assert all(r.channel_id == channel.json()["id"] for r in with_channel)
        assert touches == len(with_channel)

        # One member tapping twenty times at once: one registration, the rest already-registered.
        other = await c.open_period(capacity=10)
        again = f"/mp/v1/periods/{other['id']}/registrations"
        taps = await asyncio.gather(*(c.client.post(again, json={}, headers=c.member(23999)) for _ in range(20)))
        assert [t.status_code for t in taps].count(201) == 1
        assert {t.json()["type"].rsplit("/", 1)[-1] for t in taps if t.status_code != 201} == {"already-registered"}
        assert (await c.client.get(f"/admin/v1/periods/{other['id']}", headers=c.staff())).json()["taken"] == 1

        # The same member retrying with one Idempotency-Key twenty times at once: one place, one answer.
        keyed = {"Idempotency-Key": "race-key-23998"}
        retries = await asyncio.gather(
            *(c.client.post(again, json={}, headers=c.member(23998) | keyed) for _ in range(20))
        )
        assert {r.status_code for r in retries} == {201}, {r.status_code: r.text for r in retries}
        assert len({r.json()["id"] for r in retries}) == 1
        assert sum(r.headers.get("idempotent-replayed") == "true" for r in retries) == 19
        assert (await c.client.get(f"/admin/v1/periods/{other['id']}", headers=c.staff())).json()["taken"] == 2
