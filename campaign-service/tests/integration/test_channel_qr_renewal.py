"""Temporary channel QR codes (at most 30 days) are renewed by the scheduler before they expire."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from campaign_service import scheduler


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _expiring_tomorrow(c, name: str, code: str) -> dict:
    """A channel whose temporary code expires in a day: within the renewal margin."""
    created = await c.client.post(
        "/admin/v1/channels",
        json={"name": name, "code": code, "qr_kind": "temporary", "expire_seconds": 86400},
        headers=c.staff(),
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


async def test_a_temporary_code_is_renewed_before_it_expires(campaign_factory):
    async with campaign_factory(simulator=True) as c:
        first = await _expiring_tomorrow(c, "公众号文章", "article-7")
        assert first["qr_expired"] is False
        permanent = await c.client.post(
            "/admin/v1/channels", json={"name": "海报", "code": "poster-7"}, headers=c.staff()
        )
        assert permanent.status_code == 201

        # Expiring within the renewal margin: the next pass gives the same scene a new 30-day ticket.
        await scheduler.tick(c.runtime)
        renewed = (await c.client.get(f"/admin/v1/channels/{first['id']}", headers=c.staff("viewer"))).json()
        assert renewed["code"] == "article-7" and renewed["qr_kind"] == "temporary"
        assert renewed["qr_ticket"] != first["qr_ticket"] and renewed["qr_image_url"] != first["qr_image_url"]
        until = _at(renewed["qr_expires_at"])
        assert timedelta(days=29) < until - datetime.now(UTC) <= timedelta(days=30, minutes=1)
        assert renewed["qr_expired"] is False

        # Not due again until it nears its new expiry.
        await scheduler.tick(c.runtime)
        again = (await c.client.get(f"/admin/v1/channels/{first['id']}", headers=c.staff())).json()
        assert again["qr_ticket"] == renewed["qr_ticket"]

        # WeChat refuses the renewal: retried each pass, and past its expiry the channel shows it expired.
        fault = await c.sim.post("/sim/faults", json={"path": "/cgi-bin/qrcode/create", "errcode": -1, "times": 50})
        assert fault.status_code == 200
        c.set_now(until - timedelta(days=1))
        await scheduler.tick(c.runtime)
        failing = (await c.client.get(f"/admin/v1/channels/{first['id']}", headers=c.staff())).json()
        assert failing["qr_ticket"] == renewed["qr_ticket"] and failing["qr_expired"] is False
        c.set_now(until + timedelta(minutes=1))
        await scheduler.tick(c.runtime)
        listed = (await c.client.get("/admin/v1/channels", headers=c.staff())).json()["items"]
        states = {item["code"]: (item["qr_expired"], item["qr_expires_at"]) for item in listed}
        assert states["article-7"] == (True, renewed["qr_expires_at"])
        assert states["poster-7"] == (False, None)

        # Once WeChat answers again the expired code is renewed too (same scene, live again).
        await c.sim.delete("/sim/faults")
        await scheduler.tick(c.runtime)
        back = (await c.client.get(f"/admin/v1/channels/{first['id']}", headers=c.staff())).json()
        assert back["qr_expired"] is False and back["qr_ticket"] != renewed["qr_ticket"]
        assert _at(back["qr_expires_at"]) > until + timedelta(days=29)


async def test_a_pass_asked_for_while_another_is_under_way_returns_after_its_work(campaign_factory):
    """Passes of one process run one after the other: the loop's, and those asked for (the test-tick endpoint).

    Overlapping, a pass skipped the row another pass had locked and returned before that renewal was committed:
    the channel still showed its old code. The background loop's first pass, started with the app, overlapped
    the test above that way under load (its flake).
    """
    async with campaign_factory(simulator=True) as c:
        first = await _expiring_tomorrow(c, "社群海报", "group-7")
        # WeChat answers the renewal slowly: a pass is still waiting on it when the next is asked for.
        slow = await c.sim.post("/sim/faults", json={"path": "/cgi-bin/qrcode/create", "latency_ms": 1500, "times": 1})
        assert slow.status_code == 200
        under_way = asyncio.create_task(scheduler.tick(c.runtime))
        await asyncio.sleep(0.5)
        assert not under_way.done()
        await scheduler.tick(c.runtime)
        after = (await c.client.get(f"/admin/v1/channels/{first['id']}", headers=c.staff())).json()
        assert after["qr_ticket"] != first["qr_ticket"]
        assert under_way.done()
        await under_way
