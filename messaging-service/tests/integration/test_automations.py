"""Campaign-driven messages (receipts, refund notices, check-in reminders) and the follow welcome."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.contracts.campaign import (
    CheckinRecorded,
    PeriodOpened,
    RefundSettled,
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
