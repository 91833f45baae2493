"""A period's check-in reminder time: validated, editable, returned, and carried by its events."""

from __future__ import annotations

from sqlalchemy import select

from campaign_service import scheduler
from shared.events.outbox import OutboxMessage


async def _event_data(c, period_id: int, event_type: str) -> list[dict]:
    async with c.runtime.session_factory() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.type == event_type).order_by(OutboxMessage.id)
        )
        return [r.envelope["data"] for r in rows if r.envelope["data"]["period_id"] == period_id]


async def test_reminder_time_on_create_update_read_and_events(campaign_factory, period_body):
    async with campaign_factory() as c:
        # Bad values are field-level 422 problems, never a 500.
        for bad in ("25:00", "7:30", "07:60", "0730", "07:30:00", "", 730):
            created = await c.client.post(
                "/admin/v1/series", json={"title": "提醒"}, headers=c.staff()
            )
            body = period_body(reminder_time=bad)
            refused = await c.client.post(
                f"/admin/v1/series/{created.json()['id']}/periods", json=body, headers=c.staff()
            )
            assert refused.status_code == 422, (bad, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")

        # None by default; set on create; returned by the staff and mini-program views.
        plain = await c.series_with_period()
        assert plain["reminder_time"] is None
        period = await c.series_with_period(reminder_time="07:30")
        assert period["reminder_time"] == "07:30"
        url = f"/admin/v1/periods/{period['id']}"
        assert (await c.client.get(url, headers=c.staff())).json()["reminder_time"] == "07:30"

        # Open carries it; changed after opening (allowed), a bad change is a 422 and changes nothing.
        opened = await c.client.post(f"{url}/state", json={"state": "open"}, headers=c.staff())
        assert opened.status_code == 200, opened.text
        assert [d["reminder_time"] for d in await _event_data(c, period["id"], "campaign.period.opened")] == [
            "07:30"
        ]
        bad = await c.client.patch(url, json={"reminder_time": "24:00"}, headers=c.staff())
        assert bad.status_code == 422
        changed = await c.client.patch(url, json={"reminder_time": "21:05"}, headers=c.staff())
        assert changed.status_code == 200 and changed.json()["reminder_time"] == "21:05"
        public = await c.client.get(f"/mp/v1/periods/{period['id']}", headers=c.member(62001))
        assert public.json()["reminder_time"] == "21:05"

        # The period began today: the scheduler starts it and the event carries the current time.
        await scheduler.tick(c.runtime)
        started = await _event_data(c, period["id"], "campaign.period.started")
        assert [d["reminder_time"] for d in started] == ["21:05"]

        # null clears it (no reminder); omitting it leaves it as it is.
        cleared = await c.client.patch(url, json={"reminder_time": None}, headers=c.staff())
        assert cleared.status_code == 200 and cleared.json()["reminder_time"] is None
        kept = await c.client.patch(url, json={"title": "改名"}, headers=c.staff())
        assert kept.json()["reminder_time"] is None

