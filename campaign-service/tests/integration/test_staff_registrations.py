"""Staff's views of registrations: a period's list (filters, cursor, CSV) and one member's periods."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_a_periods_registrations_for_staff(campaign_factory):
    async with campaign_factory(simulator=True) as c:
        channel = await c.client.post(
            "/admin/v1/channels", json={"name": "海报", "code": "staff-list-poster"}, headers=c.staff()
        )
        assert channel.status_code == 201, channel.text
        free = await c.open_period(capacity=10)
        url = f"/mp/v1/periods/{free['id']}/registrations"
        first = await c.client.post(url, json={"channel": "staff-list-poster"}, headers=c.member(61001))
        assert first.status_code == 201, first.text
        for no in (61002, 61003):
            assert (await c.client.post(url, json={}, headers=c.member(no))).status_code == 201
        # Tomorrow morning, inside the day's check-in window whatever the time of this run.
        c.set_now(datetime.combine(datetime.now(SHANGHAI).date() + timedelta(days=1), time(10, 0), SHANGHAI))
        checked = await c.client.post(
            f"/mp/v1/periods/{free['id']}/checkins", json={"text": "第二天"}, headers=c.member(61001)
        )
        c.set_now(datetime.now(UTC))
        assert checked.status_code == 201, checked.text
        cancelled = await c.client.post(
            f"/admin/v1/periods/{free['id']}/registrations/{await _id_of(c, free['id'], 61003)}/cancel",
            json={"reason": "重复报名", "refund": False},
            headers=c.staff(),
        )
        assert cancelled.status_code == 200, cancelled.text

        listing = f"/admin/v1/periods/{free['id']}/registrations"
        page = await c.client.get(listing, headers=c.staff("viewer"))
        assert page.status_code == 200, page.text
        items = page.json()["items"]
        assert [i["member_no"] for i in items] == [61001, 61002, 61003]
        assert items[0]["channel_code"] == "staff-list-poster" and items[0]["checkins"] == 1
        assert items[0]["status"] == "confirmed" and items[0]["amount_fen"] == 0 and items[0]["paid_at"] is None
        assert items[0]["refund"] is None and items[0]["registered_at"]
        assert items[1]["channel_code"] is None and items[1]["checkins"] == 0
        assert items[2]["status"] == "cancelled"

        # Filters, and a cursor that walks the rest.
        confirmed = (await c.client.get(listing, params={"status": "confirmed"}, headers=c.staff())).json()
        assert [i["member_no"] for i in confirmed["items"]] == [61001, 61002]
        one = (await c.client.get(listing, params={"member_no": 61002}, headers=c.staff())).json()
        assert [i["member_no"] for i in one["items"]] == [61002]
        first_page = (await c.client.get(listing, params={"limit": 2}, headers=c.staff())).json()
        assert len(first_page["items"]) == 2 and first_page["next_cursor"]
        rest = (
            await c.client.get(listing, params={"limit": 2, "cursor": first_page["next_cursor"]}, headers=c.staff())
        ).json()
        assert [i["member_no"] for i in rest["items"]] == [61003] and rest["next_cursor"] is None

        # The CSV: every matching row, formula-safe, in the order of the list.
        download = await c.client.get(listing, params={"format": "csv"}, headers=c.staff())
        assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
        assert download.headers["content-disposition"].endswith(f'period-{free["id"]}-registrations.csv"')
        rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
        assert rows[0][:4] == ["id", "member_no", "status", "amount_fen"]
        assert [r[1] for r in rows[1:]] == ["61001", "61002", "61003"]
        assert rows[1][4] == "staff-list-poster" and rows[1][-1] == "1"

        # Bad input is a problem, never a 500; an unknown period is a 404; members may not list.
        for params in ({"status": "paid"}, {"member_no": 0}, {"format": "xlsx"}, {"cursor": "nope"}):
            bad = await c.client.get(listing, params=params, headers=c.staff())
            assert bad.status_code == 422, (params, bad.text)
            assert bad.headers["content-type"].startswith("application/problem+json")
        missing = await c.client.get("/admin/v1/periods/999999/registrations", headers=c.staff())
        assert missing.status_code == 404 and missing.json()["type"].endswith("/period-not-found")
        assert (await c.client.get(listing, headers=c.member(61001))).status_code in (401, 403)

        # A paid period: the payment time and the refund of a cancellation show.
        paid_period = await c.open_period(capacity=5, fee_fen=9900, **_later_start())
        person = await c.person(61101)
        reg = await c.client.post(
            f"/mp/v1/periods/{paid_period['id']}/registrations", json={}, headers=c.member(61101)
        )
        assert reg.status_code == 201, reg.text
        paid = await c.sim.post(
            f"/sim/people/{person['person_id']}/pay", json={"out_trade_no": reg.json()["order"]["out_trade_no"]}
        )
        assert paid.status_code == 200, paid.text
        check = await c.client.post(
            f"/mp/v1/me/registrations/{reg.json()['id']}/payment-check", headers=c.member(61101)
        )
        assert check.json()["state"] == "confirmed"
        done = await c.client.post(f"/mp/v1/me/registrations/{reg.json()['id']}/cancel", headers=c.member(61101))
        assert done.status_code == 200, done.text
        paid_rows = (
            await c.client.get(f"/admin/v1/periods/{paid_period['id']}/registrations", headers=c.staff())
        ).json()["items"]
        assert len(paid_rows) == 1
        assert paid_rows[0]["amount_fen"] == 9900 and paid_rows[0]["paid_at"]
        assert paid_rows[0]["refund"] == {"status": "pending", "amount_fen": 9900}

        # The member's registrations for staff: the same read model as the mini-program's own list.
        theirs = await c.client.get("/admin/v1/members/61001/registrations", headers=c.staff("viewer"))
        assert theirs.status_code == 200, theirs.text
        own = (await c.client.get("/mp/v1/me/registrations", headers=c.member(61001))).json()
        assert theirs.json() == own
        assert theirs.json()[0]["checked_days"] == 1 and theirs.json()[0]["calendar"]
        # Each calendar date carries its check-in's id, so the member page can void it.
        with_checkin = [d for d in theirs.json()[0]["calendar"] if d["checkin_id"] is not None]
        assert [(d["status"], d["checkin_id"]) for d in with_checkin] == [("done", checked.json()["id"])]
        assert all(d["checkin_id"] is None for d in theirs.json()[0]["calendar"] if d["status"] != "done")
        voided = await c.client.post(
            f"/admin/v1/periods/{free['id']}/checkins/{with_checkin[0]['checkin_id']}/void",
            json={"reason": "图片与活动无关"}, headers=c.staff(),
        )
        assert voided.status_code == 200, voided.text
        after = (await c.client.get("/admin/v1/members/61001/registrations", headers=c.staff())).json()
        assert [(d["status"], d["checkin_id"]) for d in after[0]["calendar"] if d["checkin_id"]] == [
            ("voided", checked.json()["id"])
        ]
        assert after[0]["checked_days"] == 0
        refunded = (await c.client.get("/admin/v1/members/61101/registrations", headers=c.staff())).json()
        assert (refunded[0]["refund_state"], refunded[0]["refund_amount_fen"]) == ("pending", 9900)
        assert (await c.client.get("/admin/v1/members/0/registrations", headers=c.staff())).status_code == 422
        assert (await c.client.get("/admin/v1/members/61999/registrations", headers=c.staff())).json() == []


async def _id_of(c, period_id: int, member_no: int) -> int:
    mine = (await c.client.get("/mp/v1/me/registrations", headers=c.member(member_no))).json()
    return next(m["registration"]["id"] for m in mine if m["registration"]["period_id"] == period_id)


def _later_start() -> dict:
    start = datetime.now(SHANGHAI).date() + timedelta(days=3)
    return {"start_date": start.isoformat(), "end_date": (start + timedelta(days=9)).isoformat()}


async def test_staff_retry_a_failed_cancellation_refund(campaign_factory):
    """A cancellation's refund that WeChat Pay kept refusing shows as failed; staff queue it again."""
    from campaign_service import scheduler

    async with campaign_factory(simulator=True, refund_max_attempts=1) as c:
        period = await c.open_period(capacity=5, fee_fen=9900, **_later_start())
        person = await c.person(61201)
        reg = await c.client.post(f"/mp/v1/periods/{period['id']}/registrations", json={}, headers=c.member(61201))
        assert reg.status_code == 201, reg.text
        await c.sim.post(
            f"/sim/people/{person['person_id']}/pay", json={"out_trade_no": reg.json()["order"]["out_trade_no"]}
        )
        check = await c.client.post(f"/mp/v1/me/registrations/{reg.json()['id']}/payment-check",
                                    headers=c.member(61201))
        assert check.json()["state"] == "confirmed"
        assert (await c.client.post(f"/mp/v1/me/registrations/{reg.json()['id']}/cancel",
                                    headers=c.member(61201))).status_code == 200
        fault = await c.sim.post("/sim/faults", json={"path": "/v3/refund/domestic/refunds", "http_status": 500})
        assert fault.status_code == 200, fault.text
        await scheduler.tick(c.runtime)
        listing = f"/admin/v1/periods/{period['id']}/registrations"
        rows = (await c.client.get(listing, headers=c.staff())).json()["items"]
        assert rows[0]["refund"] == {"status": "failed", "amount_fen": 9900}

        # The period is still open: the retry works all the same, and only staff who edit may ask.
        retry = f"/admin/v1/periods/{period['id']}/refunds/retry"
        assert (await c.client.post(retry, headers=c.staff("viewer"))).status_code == 403
        requeued = await c.client.post(retry, headers=c.staff())
        assert requeued.status_code == 200 and requeued.json() == {"requeued": 1}, requeued.text
        await scheduler.tick(c.runtime)
        rows = (await c.client.get(listing, headers=c.staff())).json()["items"]
        assert rows[0]["refund"]["status"] in ("processing", "succeeded")
        assert (await c.client.post(retry, headers=c.staff())).json() == {"requeued": 0}
        assert (await c.client.post("/admin/v1/periods/999999/refunds/retry", headers=c.staff())).status_code == 404
