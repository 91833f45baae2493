"""A period's life beyond staff transitions: late joining, postponement, cancellation, held settlement."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from campaign_service import scheduler

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _starting_in(days: int, **overrides):
    start = datetime.now(SHANGHAI).date() + timedelta(days=days)
    return {"start_date": start.isoformat(), "end_date": (start + timedelta(days=2)).isoformat(), **overrides}


def _midnight(day: str) -> datetime:
    return datetime.combine(datetime.fromisoformat(day).date(), datetime.min.time(), SHANGHAI)


async def _history(c, period_id: int) -> list[tuple[str, str, str]]:
    rows = (await c.client.get(f"/admin/v1/periods/{period_id}/history", headers=c.staff("viewer"))).json()
    return [(h["from_state"], h["to_state"], h["by_kind"]) for h in rows]


async def test_late_joining_keeps_registration_open_while_running(campaign_factory):
    async with campaign_factory() as c:
        body = _starting_in(1)
        closes = (_midnight(body["start_date"]) + timedelta(days=1)).isoformat()
        late = await c.open_period(late_join=True, registration_closes_at=closes, **body)
        strict = await c.open_period(late_join=False, registration_closes_at=closes, **body)
        c.set_now(_midnight(body["start_date"]) + timedelta(hours=1))
        await scheduler.tick(c.runtime)
        for period in (late, strict):
            read = (await c.client.get(f"/admin/v1/periods/{period['id']}", headers=c.staff())).json()
            assert read["state"] == "running"
            assert await _history(c, period["id"]) == [("draft", "open", "staff"), ("open", "running", "scheduler")]
        joined = await c.client.post(f"/mp/v1/periods/{late['id']}/registrations", json={}, headers=c.member(61001))
        assert joined.status_code == 201, joined.text
        refused = await c.client.post(f"/mp/v1/periods/{strict['id']}/registrations", json={},
                                      headers=c.member(61001))
        assert refused.status_code == 409 and refused.json()["type"].endswith("/registration-closed")
        await scheduler.tick(c.runtime)  # a second pass moves nothing twice
        assert len(await _history(c, late["id"])) == 2


async def test_postponing_moves_the_dates_until_the_period_starts(campaign_factory):
    async with campaign_factory() as c:
        period = await c.open_period(**_starting_in(3))
        later = _starting_in(10)
        moved = await c.client.post(f"/admin/v1/periods/{period['id']}/postpone", json=later, headers=c.staff())
        assert moved.status_code == 200, moved.text
        assert (moved.json()["start_date"], moved.json()["state"]) == (later["start_date"], "open")
        assert (await _history(c, period["id"]))[-1] == ("open", "open", "staff")
        backwards = {"start_date": later["end_date"], "end_date": later["start_date"]}
        bad = await c.client.post(f"/admin/v1/periods/{period['id']}/postpone", json=backwards, headers=c.staff())
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.end_date"
        c.set_now(_midnight(later["start_date"]) + timedelta(hours=2))
        late = await c.client.post(f"/admin/v1/periods/{period['id']}/postpone", json=_starting_in(20),
                                   headers=c.staff())
        assert late.status_code == 409 and late.json()["type"].endswith("/period-started")
        denied = await c.client.post(f"/admin/v1/periods/{period['id']}/postpone", json=later,
                                     headers=c.staff("viewer"))
        assert denied.status_code == 403


async def test_cancelling_a_period_refunds_every_paid_registration_once(campaign_factory):
    async with campaign_factory(simulator=True) as c:
        period = await c.open_period(capacity=5, fee_fen=5000, **_starting_in(3))
        url = f"/mp/v1/periods/{period['id']}/registrations"
        for no in (62001, 62002):
            person = await c.person(no)
            r = await c.client.post(url, json={}, headers=c.member(no))
            assert r.status_code == 201, r.text
            paid = await c.sim.post(f"/sim/people/{person['person_id']}/pay",
                                    json={"out_trade_no": r.json()["order"]["out_trade_no"]})
            assert paid.status_code == 200, paid.text
            await c.client.post(f"/mp/v1/me/registrations/{r.json()['id']}/payment-check", headers=c.member(no))
        await c.person(62003)
        unpaid = await c.client.post(url, json={}, headers=c.member(62003))
        assert unpaid.status_code == 201

        cancel = f"/admin/v1/periods/{period['id']}/cancel"
        assert (await c.client.post(cancel, json={"reason": ""}, headers=c.staff())).status_code == 422
        done = await c.client.post(cancel, json={"reason": "讲师临时有事"}, headers=c.staff())
        assert done.status_code == 200, done.text
        assert done.json()["state"] == "cancelled" and done.json()["cancelled_at"]
        again = await c.client.post(cancel, json={"reason": "讲师临时有事"}, headers=c.staff())
        assert again.status_code == 200 and again.json()["state"] == "cancelled"
        await scheduler.tick(c.runtime)
        await scheduler.tick(c.runtime)
        sim_state = c.sim._transport.app.state.sim.state  # type: ignore[attr-defined]
        assert sorted(r.amount for r in sim_state.refunds.values()) == [5000, 5000]
        for no in (62001, 62002, 62003):
            mine = (await c.client.get("/mp/v1/me/registrations", headers=c.member(no))).json()
            assert mine[0]["registration"]["state"] == "cancelled"
        assert (await _history(c, period["id"]))[-1] == ("open", "cancelled", "staff")
        reopened = await c.client.post(f"/admin/v1/periods/{period['id']}/state", json={"state": "open"},
                                       headers=c.staff())
        assert reopened.status_code == 409


async def test_without_auto_settlement_refunds_wait_for_staff(campaign_factory):
    async with campaign_factory(simulator=True) as c:
        body = _starting_in(1)
        period = await c.open_period(capacity=5, fee_fen=5000, auto_settle=False,
                                     refund_rule={"tiers": [{"min_percent": 0, "percent": 100}]}, **body)
        person = await c.person(63001)
        r = await c.client.post(f"/mp/v1/periods/{period['id']}/registrations", json={}, headers=c.member(63001))
        await c.sim.post(f"/sim/people/{person['person_id']}/pay",
                         json={"out_trade_no": r.json()["order"]["out_trade_no"]})
        await c.client.post(f"/mp/v1/me/registrations/{r.json()['id']}/payment-check", headers=c.member(63001))
        c.set_now(_midnight(body["end_date"]) + timedelta(days=1, hours=1))
        await scheduler.tick(c.runtime)
        await scheduler.tick(c.runtime)
        read = (await c.client.get(f"/admin/v1/periods/{period['id']}", headers=c.staff())).json()
        assert read["state"] == "closed"
        sim_state = c.sim._transport.app.state.sim.state  # type: ignore[attr-defined]
        assert not sim_state.refunds, "a held refund went out before staff started the settlement"
        report = (await c.client.get(f"/admin/v1/periods/{period['id']}/settlement", headers=c.staff())).json()
        assert report, report
        started = await c.client.post(f"/admin/v1/periods/{period['id']}/settlement/start", headers=c.staff())
        assert started.status_code == 200 and started.json() == {"released": 1}, started.text
        await scheduler.tick(c.runtime)
        assert [r.amount for r in sim_state.refunds.values()] == [5000]
        assert [h[1] for h in await _history(c, period["id"])] == ["open", "running", "closed"]
