"""Campaign-driven messages (receipts, refund notices, check-in reminders) and the follow welcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.contracts.campaign import (
    CheckinRecorded,
    PeriodOpened,
    PeriodStarted,
    RefundSettled,
    RegistrationCancelled,
    RegistrationCreated,
    RegistrationPaid,
)
from shared.contracts.identity import MemberFollowed

from .test_ledger_sending import OK, at_shanghai

NOTICE = "课程:{{thing1.DATA}}\n金额:{{amount2.DATA}}"


async def statuses(m, member_no: int) -> list[tuple[str, str]]:
    items = (await m.client.get(f"/admin/v1/messages?member_no={member_no}", headers=m.staff())).json()["items"]
    return sorted((i["purpose"], OK.get(i["status"], i["status"])) for i in items)


async def test_receipts_refund_notices_and_reminders_for_a_running_period(messaging_factory):
    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await m.template("oa", "OA_PAY", "缴费成功", NOTICE)
        await m.sync()
        for name, note in (("payment.receipt", "单词对赌"), ("refund.notice", "退款到账")):
            await m.purpose(name, "transactional", [
                {"channel": "template", "template_id": "OA_PAY", "fields": {"thing1": note, "amount2": "{amount}"}}])
        await m.purpose("checkin.reminder", "transactional", [
            {"channel": "template", "template_id": "OA_PAY", "fields": {"thing1": "今天还没打卡", "amount2": "0.00"}}])
        a, b = await m.person(follow=True), await m.person(follow=True)
        await m.apply(PeriodOpened(series_id=1, period_id=7, number=1, capacity=100, fee_fen=9900))
        for p in (a, b):
            await m.apply(RegistrationCreated(member_no=p["member_no"], registration_id=p["member_no"], series_id=1,
                                              period_id=7, fee_fen=9900))
            await m.apply(RegistrationPaid(member_no=p["member_no"], registration_id=p["member_no"], period_id=7,
                                           amount_fen=9900, transaction_id=f"tx{p['member_no']}"))
        await m.tick()
        assert await statuses(m, a["member_no"]) == [("payment.receipt", "sent")]
        receipt = next(s for s in await m.sent("template") if s["touser"] == a["oa_openid"])
        assert receipt["body"]["data"]["amount2"] == {"value": "99.00"}

        # Day 1 of the period, 20:05: a checked in, b did not; b is reminded once.
        m.set_now(at_shanghai(20, 5))
        today = at_shanghai(20, 5).date()
        await m.apply(CheckinRecorded(member_no=a["member_no"], checkin_id=1, period_id=7, local_date=today,
                                      late=False, image_count=1))
        await m.tick()
        await m.tick()
        await m.tick()
        assert await statuses(m, b["member_no"]) == [("checkin.reminder", "sent"), ("payment.receipt", "sent")]
        assert await statuses(m, a["member_no"]) == [("payment.receipt", "sent")]

        await m.apply(RefundSettled(member_no=a["member_no"], refund_id=1, period_id=7, out_refund_no="r1",
                                    amount_fen=9900))
        await m.apply(RefundSettled(member_no=a["member_no"], refund_id=1, period_id=7, out_refund_no="r1",
                                    amount_fen=9900))  # another event id: another notice is a separate fact
        await m.tick()
        assert ("refund.notice", "sent") in await statuses(m, a["member_no"])


async def test_follow_welcome_per_scene_inside_the_one_minute_window(messaging_factory):
    async with messaging_factory() as m:
        m.set_now(at_shanghai(12))
        await m.purpose("follow.welcome", "transactional", [{"channel": "custom", "text": "欢迎关注群运！"}])
        await m.purpose("follow.welcome.spring", "transactional", [{"channel": "custom", "text": "欢迎参加春季班！"}])
        person = await m.person()
        await m.act(person, "follow", {"scene": "spring"})
        await m.apply(MemberFollowed(member_no=person["member_no"], appid=m.settings.oa_appid,
                                     openid=person["oa_openid"], scene="spring", followed_at=datetime.now(UTC)))
        await m.tick()
        custom = await m.sent("custom")
        assert [c["body"]["text"]["content"] for c in custom] == ["欢迎参加春季班！"]


async def _period_purposes(m) -> None:
    await m.template("oa", "OA_PAY", "缴费成功", NOTICE)
    await m.sync()
    await m.purpose("period.starting", "transactional", [
        {"channel": "template", "template_id": "OA_PAY",
         "fields": {"thing1": "第{number}期今天开始", "amount2": "0.00"}}])
    await m.purpose("checkin.reminder", "transactional", [
        {"channel": "template", "template_id": "OA_PAY", "fields": {"thing1": "今天还没打卡", "amount2": "0.00"}}])


async def _registered(m, period_id: int, *, fee_fen: int = 9900, pay: bool = True,
                      paid_at: datetime | None = None) -> dict:
    p = await m.person(follow=True)
    await m.apply(RegistrationCreated(member_no=p["member_no"], registration_id=p["member_no"], series_id=1,
                                      period_id=period_id, fee_fen=fee_fen))
    if pay:
        await m.apply(RegistrationPaid(member_no=p["member_no"], registration_id=p["member_no"],
                                       period_id=period_id, amount_fen=fee_fen, transaction_id=f"tx{p['member_no']}"),
                      occurred_at=paid_at)
    return p


async def test_period_starting_goes_to_every_paid_registrant_once(messaging_factory):
    async with messaging_factory() as m:
        start = at_shanghai(7, 30)
        m.set_now(start)
        await _period_purposes(m)
        await m.apply(PeriodOpened(series_id=1, period_id=41, number=3, capacity=100, fee_fen=9900))
        a, b = await _registered(m, 41), await _registered(m, 41)
        unpaid = await _registered(m, 41, pay=False)
        cancelled = await _registered(m, 41)
        await m.apply(RegistrationCancelled(member_no=cancelled["member_no"], registration_id=cancelled["member_no"],
                                            period_id=41, reason="member"))
        other = await _registered(m, 42)  # another period's registrant
        started = PeriodStarted(series_id=1, period_id=41, number=3)
        await m.apply(started, occurred_at=start)
        await m.apply(started, occurred_at=start)  # published twice (another event id): still once each
        # A payment made before the start whose event is consumed after it (another partition).
        late = await _registered(m, 41, paid_at=start - timedelta(minutes=5))
        # A late joiner paying after the start is not told the period starts.
        joiner = await _registered(m, 41, paid_at=start + timedelta(hours=1))
        await m.tick()
        for p in (a, b, late):
            assert ("period.starting", "sent") in await statuses(m, p["member_no"]), p
            assert [s for s in await statuses(m, p["member_no"]) if s[0] == "period.starting"] == [
                ("period.starting", "sent")]
        for p in (unpaid, cancelled, other, joiner):
            assert not [s for s in await statuses(m, p["member_no"]) if s[0] == "period.starting"], p
        sent = [s for s in await m.sent("template") if s["touser"] == a["oa_openid"]
                and s["body"]["data"]["thing1"]["value"].startswith("第3期")]
        assert len(sent) == 1
        # Redelivery of the same event (the inbox aside): the idempotency key holds.
        await m.apply(started, occurred_at=start)
        await m.tick()
        assert len([s for s in await m.sent("template") if s["touser"] == a["oa_openid"]
                    and s["body"]["data"]["thing1"]["value"].startswith("第3期")]) == 1


async def test_checkin_reminder_at_the_periods_own_reminder_time(messaging_factory):
    # The setting says 20:00; period 51 says 19:00, period 52 has none (the setting applies), period 53 says 21:00
    # when it opens and 18:30 when it starts (the latest event wins).
    async with messaging_factory(checkin_reminder_time="20:00") as m:
        m.set_now(at_shanghai(8))
        await _period_purposes(m)
        await m.apply(PeriodOpened(series_id=1, period_id=51, number=1, capacity=10, fee_fen=9900,
                                   reminder_time="19:00"))
        await m.apply(PeriodOpened(series_id=1, period_id=52, number=1, capacity=10, fee_fen=9900))
        await m.apply(PeriodOpened(series_id=1, period_id=53, number=1, capacity=10, fee_fen=9900,
                                   reminder_time="21:00"))
        a, b, c = await _registered(m, 51), await _registered(m, 52), await _registered(m, 53)
        for period_id, at in ((51, "19:00"), (52, None), (53, "18:30")):
            await m.apply(PeriodStarted(series_id=1, period_id=period_id, number=1, reminder_time=at),
                          occurred_at=at_shanghai(8))

        m.set_now(at_shanghai(18, 40))
        await m.tick()
        await m.tick()
        assert ("checkin.reminder", "sent") in await statuses(m, c["member_no"])
        for p in (a, b):
            assert not [s for s in await statuses(m, p["member_no"]) if s[0] == "checkin.reminder"]
        m.set_now(at_shanghai(19, 5))
        await m.tick()
        await m.tick()
        assert ("checkin.reminder", "sent") in await statuses(m, a["member_no"])
        assert not [s for s in await statuses(m, b["member_no"]) if s[0] == "checkin.reminder"]
        m.set_now(at_shanghai(20, 5))
        await m.tick()
        await m.tick()
        assert ("checkin.reminder", "sent") in await statuses(m, b["member_no"])
        for p in (a, b, c):  # once per member per day
            assert len([s for s in await statuses(m, p["member_no"]) if s[0] == "checkin.reminder"]) == 1


async def test_an_event_without_reminder_time_keeps_the_known_one(messaging_factory):
    # Older producers do not send the field at all: the time known from an earlier event stays.
    async with messaging_factory(checkin_reminder_time="20:00") as m:
        m.set_now(at_shanghai(8))
        await _period_purposes(m)
        await m.apply(PeriodOpened(series_id=1, period_id=61, number=1, capacity=10, fee_fen=9900,
                                   reminder_time="07:45"))
        a = await _registered(m, 61)
        started = PeriodStarted(series_id=1, period_id=61, number=1)
        envelope_data = started.model_dump(mode="json")
        envelope_data.pop("reminder_time")
        from messaging_service.handlers import consumers
        from shared.contracts import spec_of
        from shared.db import unit_of_work
        from shared.events.envelope import Envelope

        spec = spec_of(started)
        envelope = Envelope(type=spec.type, version=spec.version, source="test", data=envelope_data)
        envelope = envelope.model_copy(update={"occurred_at": at_shanghai(7)})
        handler = next(c.handlers[spec.type] for c in consumers(m.runtime) if spec.type in c.handlers)
        async with unit_of_work(m.runtime.session_factory) as session:
            await handler(session, envelope)
        await m.tick()
        await m.tick()
        assert ("checkin.reminder", "sent") in await statuses(m, a["member_no"])


async def test_period_start_fan_out_is_one_statement_per_chunk_and_idempotent(messaging_factory, monkeypatch):
    # 300 registrants: the start writes their notices in ceil(300 / chunk) statements, not 300; a redelivered
    # event and two replicas handling the same event at once still write each member's notice once.
    import asyncio

    from sqlalchemy import event, text

    from messaging_service.automations import service as automations
    from messaging_service.handlers import consumers
    from shared.contracts import spec_of
    from shared.db import unit_of_work
    from shared.events.envelope import Envelope

    monkeypatch.setattr(automations, "FAN_OUT_CHUNK", 128)
    async with messaging_factory() as m:
        start = at_shanghai(7, 30)
        m.set_now(start)
        await _period_purposes(m)
        members = list(range(9_100_001, 9_100_301))
        for period_id in (81, 82):
            await m.apply(PeriodOpened(series_id=1, period_id=period_id, number=1, capacity=1000, fee_fen=0))
            for member_no in members:
                await m.apply(RegistrationCreated(member_no=member_no, registration_id=member_no * 10 + period_id,
                                                  series_id=1, period_id=period_id, fee_fen=0))

        statements: list[str] = []

        def seen(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            if "INSERT INTO messages" in statement:
                statements.append(statement)

        engine = m.runtime.engine.sync_engine
        event.listen(engine, "before_cursor_execute", seen)
        try:
            await m.apply(PeriodStarted(series_id=1, period_id=81, number=1), occurred_at=start)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert len(statements) == 3  # 128 + 128 + 44

        async def written(period_id: int) -> tuple[int, int, int]:
            async with m.runtime.session_factory() as session:
                messages = await session.scalar(text(
                    "SELECT count(*) FROM messages WHERE purpose = 'period.starting' AND idempotency_key LIKE :k"),
                    {"k": f"period-start:{period_id}:%"})
                distinct = await session.scalar(text(
                    "SELECT count(DISTINCT member_no) FROM messages WHERE idempotency_key LIKE :k"),
                    {"k": f"period-start:{period_id}:%"})
                events = await session.scalar(text(
                    """SELECT count(*) FROM outbox o JOIN messages m
                         ON m.id = (o.envelope->'data'->>'message_id')::bigint
                       WHERE o.type = 'messaging.message.requested' AND m.idempotency_key LIKE :k"""),
                    {"k": f"period-start:{period_id}:%"})
            return int(messages or 0), int(distinct or 0), int(events or 0)

        assert await written(81) == (300, 300, 300)
        # Published again (another event id): nothing new, no second event.
        await m.apply(PeriodStarted(series_id=1, period_id=81, number=1), occurred_at=start)
        assert await written(81) == (300, 300, 300)

        # Two replicas consume the same start at the same moment (each in its own transaction).
        started = PeriodStarted(series_id=1, period_id=82, number=1)
        spec = spec_of(started)
        envelope = Envelope(type=spec.type, version=spec.version, source="test",
                            data=started.model_dump(mode="json")).model_copy(update={"occurred_at": start})
        handler = next(c.handlers[spec.type] for c in consumers(m.runtime) if spec.type in c.handlers)

        async def replica() -> None:
            async with unit_of_work(m.runtime.session_factory) as session:
                await handler(session, envelope)

        await asyncio.gather(replica(), replica())
        assert await written(82) == (300, 300, 300)
        # Held until now: the scheduler routes them (nobody follows here: undeliverable, each once).
        for _ in range(4):
            await m.tick()
        async with m.runtime.session_factory() as session:
            left = await session.scalar(text(
                "SELECT count(*) FROM messages WHERE purpose = 'period.starting' AND status = 'held'"))
        assert left == 0
