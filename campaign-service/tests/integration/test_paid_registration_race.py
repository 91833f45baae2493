"""Paid periods on the one-statement path: the capacity race stays exact, the prepay call comes after the commit."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from campaign_service.payments.models import Order
from campaign_service.registrations.models import Registration
from shared.events.outbox import OutboxMessage


async def test_300_members_race_for_50_paid_places(campaign_factory, pay_env):
    async with campaign_factory(simulator=True, db_pool_size=20, db_max_overflow=30) as c:
        period = await c.open_period(capacity=50, fee_fen=4900)
        members = [31000 + i for i in range(300)]
        for no in members:
            await c.person(no)
        url = f"/mp/v1/periods/{period['id']}/registrations"
        answers = await asyncio.gather(*(c.client.post(url, json={}, headers=c.member(no)) for no in members))
        codes = [a.status_code for a in answers]
        assert codes.count(201) == 50 and codes.count(409) == 250, sorted(set(codes))
        assert {a.json()["type"].rsplit("/", 1)[-1] for a in answers if a.status_code == 409} == {"period-full"}
        won = [a.json() for a in answers if a.status_code == 201]
        assert {w["state"] for w in won} == {"awaiting_payment"} and {w["fee_fen"] for w in won} == {4900}
        assert all(w["order"]["pay_params"]["package"].startswith("prepay_id=") for w in won)
        assert (await c.client.get(f"/admin/v1/periods/{period['id']}", headers=c.staff())).json()["taken"] == 50

        async with c.runtime.session_factory() as session:
            registrations = list(
                await session.scalars(select(Registration).where(Registration.period_id == period["id"]))
            )
            orders = list(await session.scalars(select(Order).where(Order.period_id == period["id"])))
            created = [
                e.envelope
                for e in await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.type == "campaign.registration.created")
                )
                if e.envelope["data"]["period_id"] == period["id"]
            ]
        assert len(registrations) == 50 and {r.state for r in registrations} == {"awaiting_payment"}
        # Every winner's order was written with its place, then placed at WeChat Pay (prepay_id kept).
        assert sorted(o.registration_id for o in orders) == sorted(r.id for r in registrations)
        assert all(o.prepay_id and o.state == "created" and o.amount_fen == 4900 for o in orders)
        assert {o.out_trade_no for o in orders} == {w["order"]["out_trade_no"] for w in won}
        assert sorted(e["data"]["registration_id"] for e in created) == sorted(r.id for r in registrations)
        assert {e["data"]["fee_fen"] for e in created} == {4900}


async def test_a_failed_prepay_keeps_the_place_and_a_retry_reuses_the_order(campaign_factory, pay_env):
    async with campaign_factory(simulator=True) as c:
        period = await c.open_period(capacity=2, fee_fen=9900)
        url = f"/mp/v1/periods/{period['id']}/registrations"
        await c.person(32001)
        real_openid = c.directory.openids[32001]
        # WeChat Pay refuses the order (an openid it does not know): the member sees the failure...
        c.directory.openids[32001] = "o-not-known-to-wechat-pay"
        failed = await c.client.post(url, json={}, headers=c.member(32001))
        assert failed.status_code >= 500 and failed.headers["content-type"].startswith("application/problem+json")
        # ...but the place is reserved with its order, fixed before the call.
        async with c.runtime.session_factory() as session:
            reserved = list(await session.scalars(select(Order).where(Order.period_id == period["id"])))
        assert len(reserved) == 1 and reserved[0].prepay_id is None
        assert (await c.client.get(f"/admin/v1/periods/{period['id']}", headers=c.staff())).json()["taken"] == 1

        # Registering again places the same order (same out_trade_no), now accepted.
        c.directory.openids[32001] = real_openid
        again = await c.client.post(url, json={}, headers=c.member(32001))
        assert again.status_code == 201, again.text
        assert again.json()["order"]["out_trade_no"] == reserved[0].out_trade_no
        assert again.json()["state"] == "awaiting_payment"
        once_more = await c.client.post(url, json={}, headers=c.member(32001))
        assert once_more.status_code == 201 and once_more.json()["id"] == again.json()["id"]
        assert once_more.json()["order"]["pay_params"]["package"] == again.json()["order"]["pay_params"]["package"]
        async with c.runtime.session_factory() as session:
            orders = list(await session.scalars(select(Order).where(Order.period_id == period["id"])))
        assert len(orders) == 1 and orders[0].prepay_id
        assert (await c.client.get(f"/admin/v1/periods/{period['id']}", headers=c.staff())).json()["taken"] == 1

