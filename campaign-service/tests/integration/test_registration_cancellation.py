"""Cancelling registrations: free, unpaid and paid ones, by the member or by staff, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from campaign_service import scheduler
from shared.contracts.gateway import RefundUpdated
from shared.events.outbox import OutboxMessage
from shared.testing.waiting import eventually

SHANGHAI = ZoneInfo("Asia/Shanghai")


def later_start(**overrides):
    """Registration open now until in two days; the period starts in four (Shanghai days).

    Four, not three: two days and an hour after a run late in a Shanghai
    evening is already the third day, and the period must not have begun then.
    """
    start = datetime.now(SHANGHAI).date() + timedelta(days=4)
    return {
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=9)).isoformat(),
        **overrides,
    }


async def _cancelled_events(c) -> list[dict]:
    async with c.runtime.session_factory() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.type == "campaign.registration.cancelled")
            .order_by(OutboxMessage.id)
        )
        return [row.envelope["data"] for row in rows]


async def _taken(c, period_id: int) -> int:
    return (await c.client.get(f"/admin/v1/periods/{period_id}", headers=c.staff())).json()["taken"]


async def test_member_cancels_a_free_registration_and_frees_the_place(campaign_factory):
    async with campaign_factory() as c:
        period = await c.open_period(capacity=1, **later_start())
        url = f"/mp/v1/periods/{period['id']}/registrations"
        first = await c.client.post(url, json={}, headers=c.member(50001))
        assert first.status_code == 201, first.text
        reg_id = first.json()["id"]
        full = await c.client.post(url, json={}, headers=c.member(50002))
        assert full.status_code == 409 and full.json()["type"].endswith("/period-full")

        cancel = f"/mp/v1/me/registrations/{reg_id}/cancel"
        foreign = await c.client.post(cancel, headers=c.member(50002))
        assert foreign.status_code == 404 and foreign.json()["type"].endswith("/registration-not-found")

        done = await c.client.post(cancel, headers=c.member(50001))
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["registration"]["state"] == "cancelled"
        assert body["registration"]["cancelled_by"] == "member" and body["registration"]["cancelled_at"]
        assert body["refund_state"] is None and body["out_refund_no"] is None
        assert await _taken(c, period["id"]) == 0

        # Idempotent: the same answer, no second release of the place, no second event.
        again = await c.client.post(cancel, headers=c.member(50001))
        assert again.status_code == 200 and again.json() == body
        assert await _taken(c, period["id"]) == 0

        # The waiting member takes the freed place; then the places are gone again.
        waiting = await c.client.post(url, json={}, headers=c.member(50002))
        assert waiting.status_code == 201, waiting.text
        assert (await c.client.post(url, json={}, headers=c.member(50001))).status_code == 409
        # Once a place is free, the cancelled member may register again (one live registration each).
        assert (
            await c.client.post(f"/mp/v1/me/registrations/{waiting.json()['id']}/cancel", headers=c.member(50002))
        ).status_code == 200
        rejoined = await c.client.post(url, json={}, headers=c.member(50001))
        assert rejoined.status_code == 201 and rejoined.json()["id"] != reg_id

        mine = (await c.client.get("/mp/v1/me/registrations", headers=c.member(50001))).json()
        assert [m["registration"]["state"] for m in mine] == ["confirmed", "cancelled"]
        assert mine[1]["registration"]["cancel_reason"] == "member_request" and mine[1]["refund_now_fen"] == 0

        events = await _cancelled_events(c)
        assert [(e["member_no"], e["cancelled_by"], e["refund_fen"]) for e in events] == [
            (50001, "member", 0),
            (50002, "member", 0),
        ]
        assert events[0]["registration_id"] == reg_id and events[0]["period_id"] == period["id"]


async def test_member_cannot_cancel_once_started_staff_can_until_closed(campaign_factory):
    async with campaign_factory() as c:
        # The default period starts today: too late for the member to cancel.
        started = await c.open_period()
        url = f"/mp/v1/periods/{started['id']}/registrations"
        regs = {}
        for no in (51001, 51002, 51003):
            r = await c.client.post(url, json={}, headers=c.member(no))
            assert r.status_code == 201, r.text
            regs[no] = r.json()["id"]
        refused = await c.client.post(f"/mp/v1/me/registrations/{regs[51001]}/cancel", headers=c.member(51001))
        assert refused.status_code == 409
        problem = refused.json()
        assert problem["type"].endswith("/period-started") and problem["title"] == "Period already started"
        assert problem["detail"] == "活动已开始，不能取消报名。"
        assert refused.headers["content-type"].startswith("application/problem+json")

        admin = f"/admin/v1/periods/{started['id']}/registrations/{regs[51001]}/cancel"
        body = {"reason": "重复报名，会员要求取消", "refund": False}
        assert (await c.client.post(admin, json=body, headers=c.staff("viewer"))).status_code == 403
        other_period = f"/admin/v1/periods/{started['id'] + 1000}/registrations/{regs[51001]}/cancel"
        assert (await c.client.post(other_period, json=body, headers=c.staff())).status_code == 404
        done = await c.client.post(admin, json=body, headers=c.staff())
        assert done.status_code == 200, done.text
        reg = done.json()["registration"]
        assert reg["state"] == "cancelled" and reg["cancel_reason"] == body["reason"]
        assert reg["cancelled_by"] == "staff"
        again = await c.client.post(admin, json=body | {"reason": "another"}, headers=c.staff())
        assert again.status_code == 200 and again.json() == done.json()
        assert await _taken(c, started["id"]) == 2

        # Cancelled members can no longer check in; the settlement leaves them out.
        checkins = f"/mp/v1/periods/{started['id']}/checkins"
        assert (await c.client.post(checkins, json={}, headers=c.member(51001))).status_code == 403
        # The scheduler starts the period too (it began today), maybe between any two requests of
        # ours: staff asking for "running" after it did is refused as running → running.
        state_url = f"/admin/v1/periods/{started['id']}/state"
        moved = await c.client.post(state_url, json={"state": "running"}, headers=c.staff())
        assert moved.status_code == 200 or (moved.status_code == 409 and moved.json()["from"] == "running"), moved.text
        moved = await c.client.post(state_url, json={"state": "closed"}, headers=c.staff())
        assert moved.status_code == 200, moved.text
        closed = await c.client.post(
            f"/admin/v1/periods/{started['id']}/registrations/{regs[51002]}/cancel", json=body, headers=c.staff()
        )
        assert closed.status_code == 409 and closed.json()["type"].endswith("/period-closed")
        report = (await c.client.get(f"/admin/v1/periods/{started['id']}/settlement", headers=c.staff())).json()
        assert report["registrants"] == 2

        events = await _cancelled_events(c)
        assert len(events) == 1
        assert events[0]["reason"] == body["reason"] and events[0]["cancelled_by"] == "staff"
        assert events[0]["by_staff_id"] is not None

        # Registration closed but the period not yet started: the window for cancelling is over too.
        later = await c.open_period(**later_start())
        r = await c.client.post(f"/mp/v1/periods/{later['id']}/registrations", json={}, headers=c.member(51004))
        c.set_now(datetime.now(UTC) + timedelta(days=2, hours=1))
        late = await c.client.post(f"/mp/v1/me/registrations/{r.json()['id']}/cancel", headers=c.member(51004))
        assert late.status_code == 409 and late.json()["type"].endswith("/cancellation-closed")


async def test_cancelling_an_unpaid_registration_closes_its_order(campaign_factory):
    async with campaign_factory(simulator=True) as c:
        period = await c.open_period(capacity=1, fee_fen=9900, **later_start())
        url = f"/mp/v1/periods/{period['id']}/registrations"
        await c.person(52001)
        await c.person(52002)
        r = await c.client.post(url, json={}, headers=c.member(52001))
        assert r.status_code == 201 and r.json()["state"] == "awaiting_payment"
        out_trade_no = r.json()["order"]["out_trade_no"]
        assert (await c.client.post(url, json={}, headers=c.member(52002))).status_code == 409  # held

        done = await c.client.post(f"/mp/v1/me/registrations/{r.json()['id']}/cancel", headers=c.member(52001))
        assert done.status_code == 200, done.text
        assert done.json()["registration"]["state"] == "cancelled"
        assert done.json()["registration"]["order"]["state"] == "closed"
        assert done.json()["refund_state"] is None
        sim_state = c.sim._transport.app.state.sim.state  # type: ignore[attr-defined]
        assert sim_state.orders[out_trade_no].trade_state == "CLOSED"
        assert await _taken(c, period["id"]) == 0

        taker = await c.client.post(url, json={}, headers=c.member(52002))
        assert taker.status_code == 201, taker.text
        # The closed order never expires into a second event or a second release.
        c.set_now(datetime.now(UTC) + timedelta(minutes=20))
        await scheduler.tick(c.runtime)
        assert await _taken(c, period["id"]) == 0  # 52002's order expired in turn
        events = await _cancelled_events(c)
        assert [e["member_no"] for e in events] == [52001]


async def test_cancelling_a_paid_registration_refunds_it_exactly_once(campaign_factory):
    async with campaign_factory(simulator=True) as c:
        period = await c.open_period(capacity=2, fee_fen=9900, **later_start())
        url = f"/mp/v1/periods/{period['id']}/registrations"
        regs = {}
        for no in (53001, 53002):
            person = await c.person(no)
            r = await c.client.post(url, json={}, headers=c.member(no))
            assert r.status_code == 201, r.text
            paid = await c.sim.post(
                f"/sim/people/{person['person_id']}/pay", json={"out_trade_no": r.json()["order"]["out_trade_no"]}
            )
            assert paid.status_code == 200, paid.text
            checked = await c.client.post(
                f"/mp/v1/me/registrations/{r.json()['id']}/payment-check", headers=c.member(no)
            )
            assert checked.json()["state"] == "confirmed"
            regs[no] = r.json()["id"]

        cancel = f"/mp/v1/me/registrations/{regs[53001]}/cancel"
        done = await c.client.post(cancel, headers=c.member(53001))
        assert done.status_code == 200, done.text
        expected_no = f"QC{regs[53001]:012d}"
        assert done.json()["out_refund_no"] == expected_no
        assert (done.json()["refund_amount_fen"], done.json()["refund_state"]) == (9900, "pending")
        assert (await c.client.post(cancel, headers=c.member(53001))).json() == done.json()

        # The scheduler sends it; running it again (and cancelling again) sends nothing more.
        await scheduler.tick(c.runtime)
        await scheduler.tick(c.runtime)
        again = await c.client.post(cancel, headers=c.member(53001))
        assert again.status_code == 200 and again.json()["refund_state"] in ("processing", "succeeded")
        sim_state = c.sim._transport.app.state.sim.state  # type: ignore[attr-defined]
        assert [(r.out_refund_no, r.amount) for r in sim_state.refunds.values()] == [(expected_no, 9900)]

        # The refund notification confirms it through the existing consumer.
        notice = (
            await eventually(
                lambda: _refund_notices(c),
                lambda n: len(n) == 1,
                timeout=30,
            )
        )[0]
        await c.publish(
            RefundUpdated(
                notification_id=f"r-{notice['out_refund_no']}",
                out_trade_no=notice["out_trade_no"],
                out_refund_no=notice["out_refund_no"],
                refund_id=notice["refund_id"],
                refund_status=notice["refund_status"],
                amount_refund=notice["amount"]["refund"],
                amount_total=notice["amount"]["total"],
            ),
            key=notice["out_trade_no"],
        )

        async def my_refund_state():
            mine = (await c.client.get("/mp/v1/me/registrations", headers=c.member(53001))).json()
            return mine[0]["registration"]["state"], mine[0]["refund_state"], mine[0]["refund_amount_fen"]

        assert await eventually(my_refund_state, lambda s: s[1] == "succeeded", timeout=60) == (
            "cancelled",
            "succeeded",
            9900,
        )

        # Staff may cancel a paid registration without refunding it.
        kept = await c.client.post(
            f"/admin/v1/periods/{period['id']}/registrations/{regs[53002]}/cancel",
            json={"reason": "违反活动规则", "refund": False},
            headers=c.staff(),
        )
        assert kept.status_code == 200, kept.text
        assert kept.json()["refund_state"] is None and kept.json()["registration"]["cancelled_by"] == "staff"
        await scheduler.tick(c.runtime)
        assert len(sim_state.refunds) == 1
        assert await _taken(c, period["id"]) == 0

        events = await _cancelled_events(c)
        assert [(e["member_no"], e["refund_fen"], e["out_refund_no"]) for e in events] == [
            (53001, 9900, expected_no),
            (53002, 0, None),
        ]


async def _refund_notices(c) -> list[dict]:
    return [n["resource"] for n in c.notifications if n["event_type"].startswith("REFUND.")]
