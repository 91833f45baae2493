"""The word bet end to end inside the service: pay, check in, close, refund exactly once.

WeChat Pay is the in-process simulator; pay and refund notifications are
turned into the gateway's ``wechat.inbound`` events and put on the broker the
way the gateway's relay does (the gateway itself is covered by its own tests
and by the e2e suite).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import update

from campaign_service import scheduler
from campaign_service.settlement.models import Refund
from campaign_service.settlement.service import issue_due_refunds
from shared.contracts.gateway import PaymentSucceeded, RefundUpdated
from shared.testing.waiting import eventually
from shared.wechat import pay

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_word_bet(campaign_factory, pay_env):
    async with campaign_factory(simulator=True) as c:
        period = await c.open_period(capacity=3, fee_fen=9900)
        start = datetime.fromisoformat(period["start_date"]).date()
        url = f"/mp/v1/periods/{period['id']}/registrations"
        people, orders = {}, {}
        for no in (30001, 30002, 30003):
            people[no] = await c.person(no)
            r = await c.client.post(url, json={}, headers=c.member(no) | {"Idempotency-Key": f"pay-{no}-1"})
            assert r.status_code == 201, r.text
            assert r.json()["state"] == "awaiting_payment"
            orders[no] = r.json()["order"]
        params = orders[30001]["pay_params"]
        signed = pay.sign_message(params["appId"], params["timeStamp"], params["nonceStr"], params["package"])
        assert pay.rsa_verify(
            Path(pay_env["WECHAT_SIM_MCH_CERT_FILE"]).read_bytes(),  # noqa: ASYNC240 (tiny file)
            signed,
            params["paySign"],
        )
        full = await c.client.post(url, json={}, headers=c.member(30004))
        assert full.status_code == 409 and full.json()["type"].endswith("/period-full")  # places held

        for no in (30001, 30002):
            paid = await c.sim.post(
                f"/sim/people/{people[no]['person_id']}/pay",
                json={"out_trade_no": orders[no]["out_trade_no"]},
            )
            assert paid.status_code == 200, paid.text
        tx = next(
            n["resource"]
            for n in c.notifications
            if n["resource"]["out_trade_no"] == orders[30001]["out_trade_no"]
        )
        await c.publish(
            PaymentSucceeded(
                notification_id="n-1",
                out_trade_no=tx["out_trade_no"],
                transaction_id=tx["transaction_id"],
                trade_state="SUCCESS",
                payer_openid=tx["payer"]["openid"],
                amount_total=tx["amount"]["total"],
            ),
            key=tx["out_trade_no"],
        )

        async def state_of(no):
            mine = (await c.client.get("/mp/v1/me/registrations", headers=c.member(no))).json()
            return mine[0]["registration"]["state"]

        await eventually(lambda: state_of(30001), lambda s: s == "confirmed", timeout=60)
        # 30002's notification never reaches us: the order query settles it.
        reg_id = (await c.client.get("/mp/v1/me/registrations", headers=c.member(30002))).json()[0][
            "registration"
        ]["id"]
        checked = await c.client.post(
            f"/mp/v1/me/registrations/{reg_id}/payment-check", headers=c.member(30002)
        )
        assert checked.json()["state"] == "confirmed"

        # 30003 never pays: after the TTL the order expires and the place is free again.
        c.set_now(datetime.now(SHANGHAI) + timedelta(minutes=16))
        await scheduler.tick(c.runtime)
        assert await state_of(30003) == "expired"
        assert (await c.client.get(f"/mp/v1/periods/{period['id']}", headers=c.member(1))).json()[
            "remaining"
        ] == 1

        checkins = f"/mp/v1/periods/{period['id']}/checkins"
        ids = {}
        for day in range(10):
            c.set_now(datetime.combine(start + timedelta(days=day), time(10, 0), SHANGHAI))
            r = await c.client.post(checkins, json={"text": f"day {day}"}, headers=c.member(30001))
            assert r.status_code == 201, r.text
            if day < 7:
                r2 = await c.client.post(checkins, json={"text": "x"}, headers=c.member(30002))
                assert r2.status_code == 201
                ids[day] = r2.json()["id"]
        again = await c.client.post(checkins, json={"text": "retry"}, headers=c.member(30001))
        assert again.status_code == 200 and again.json()["text"] == "day 9"
        assert (await c.client.post(checkins, json={}, headers=c.member(30003))).status_code == 403
        c.set_now(datetime.combine(start + timedelta(days=9), time(22, 30), SHANGHAI))
        late = await c.client.post(checkins, json={"text": "late"}, headers=c.member(30002))
        assert late.status_code == 201 and late.json()["late"] is True
        c.set_now(datetime.combine(start + timedelta(days=8), time(23, 30), SHANGHAI))
        assert (await c.client.post(checkins, json={}, headers=c.member(30002))).status_code == 409
        voided = await c.client.post(
            f"/admin/v1/periods/{period['id']}/checkins/{ids[0]}/void",
            json={"reason": "截图重复"},
            headers=c.staff(),
        )
        assert voided.status_code == 200 and voided.json()["void_reason"] == "截图重复"
        c.set_now(datetime.combine(start + timedelta(days=9), time(12, 0), SHANGHAI))
        me = (await c.client.get("/mp/v1/me/registrations", headers=c.member(30002))).json()[0]
        assert (me["checked_days"], me["planned_days"], me["refund_now_fen"]) == (7, 10, 6930)

        # After the end: the scheduler closes the period and refunds through WeChat Pay.
        c.set_now(datetime.combine(start + timedelta(days=10), time(9, 0), SHANGHAI))
        await scheduler.tick(c.runtime)
        report = (
            await c.client.get(f"/admin/v1/periods/{period['id']}/settlement", headers=c.staff())
        ).json()
        assert report["registrants"] == 2 and report["refund_total_fen"] == 9900 + 6930
        assert report["by_state"] == {"processing": 2} or set(report["by_state"]) <= {
            "processing",
            "succeeded",
        }

        # A crash before our commit means the same requests again: WeChat Pay pays once.
        async with c.runtime.session_factory() as session:
            await session.execute(update(Refund).values(state="pending", next_attempt_at=None))
            await session.commit()
        await issue_due_refunds(
            c.runtime.session_factory,
            c.runtime.extras["pay"],
            c.runtime.extras["clock"].now(),
            max_attempts=3,
            retry_base=0,
        )
        sim_state = c.sim._transport.app.state.sim.state  # type: ignore[attr-defined]
        assert sorted(r.amount for r in sim_state.refunds.values()) == [6930, 9900]

        async def refund_notices():
            return [n["resource"] for n in c.notifications if n["event_type"].startswith("REFUND.")]

        for notice in await eventually(refund_notices, lambda n: len(n) >= 2, timeout=30):
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

        async def period_state():
            return (await c.client.get(f"/admin/v1/periods/{period['id']}", headers=c.staff())).json()[
                "state"
            ]

        await eventually(period_state, lambda s: s == "settled", timeout=60)
        report = (
            await c.client.get(f"/admin/v1/periods/{period['id']}/settlement", headers=c.staff())
        ).json()
        assert report["refunded_fen"] == 16830 and report["failures"] == []
        assert report["rate_distribution"] == {"100": 1, "70-79": 1}
        csv = await c.client.get(
            f"/admin/v1/periods/{period['id']}/settlement.csv", headers=c.staff("viewer")
        )
        assert csv.status_code == 200 and csv.text.count("\n") == 3 and "6930" in csv.text
