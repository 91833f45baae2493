"""Pure pieces: field rules, template parsing, quiet hours, the token cache."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from messaging_service.messages.policy import local_date, quiet_until
from messaging_service.purposes.rules import check_value
from messaging_service.templates.parsing import parse_fields
from messaging_service.wechat import IdentityTokens

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_field_rules_follow_wechat_limits():
    assert check_value("thing", "一" * 20, app="mp") is None
    assert check_value("thing", "一" * 21, app="mp") is not None
    assert check_value("phrase", "已完成", app="mp") is None
    assert check_value("phrase", "done", app="mp") is not None
    assert check_value("phrase", "一二三四五六", app="mp") is not None
    assert check_value("number", "12345", app="mp") is None
    assert check_value("number", "12a", app="mp") is not None
    assert check_value("amount", "¥99.00", app="mp") is None
    assert check_value("amount", "九十九", app="mp") is not None
    assert check_value("date", "2026-12-01", app="mp") is None
    assert check_value("date", "2026年12月1日", app="mp") is None
    assert check_value("time", "2026-12-01 20:00", app="mp") is None
    assert check_value("time", "晚上", app="mp") is not None
    assert check_value("name", "张三", app="mp") is None
    assert check_value("name", "张" * 11, app="mp") is not None
    assert check_value("thing", "", app="mp") is not None
    # Service-account template fields: ≤ 20 characters, no newline (WeChat would cut silently).
    assert check_value("keyword", "第一行\n第二行", app="oa") is not None
    assert check_value("keyword", "x" * 21, app="oa") is not None


def test_fields_parsed_from_content():
    content = "活动名称:{{thing1.DATA}}\n金额：{{amount2.DATA}}\n{{ phrase3.DATA }}"
    assert parse_fields(content) == [
        {"key": "thing1", "type": "thing", "label": "活动名称"},
        {"key": "amount2", "type": "amount", "label": "金额"},
        {"key": "phrase3", "type": "phrase", "label": ""},
    ]
    assert parse_fields("{{first.DATA}}\n课程：{{keyword1.DATA}}")[1] == {
        "key": "keyword1", "type": "keyword", "label": "课程"}


def test_quiet_hours_span_midnight_in_shanghai():
    start, end = time(21, 30), time(8, 0)
    at = datetime(2026, 12, 1, 21, 29, tzinfo=SHANGHAI)
    assert quiet_until(at, zone="Asia/Shanghai", start=start, end=end) is None
    assert quiet_until(at + timedelta(minutes=1), zone="Asia/Shanghai", start=start, end=end) == datetime(
        2026, 12, 2, 8, 0, tzinfo=SHANGHAI)
    assert quiet_until(datetime(2026, 12, 2, 7, 59, tzinfo=SHANGHAI), zone="Asia/Shanghai", start=start,
                       end=end) == datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)
    # 23:00 UTC is the next day in Shanghai: the cap counts that day.
    assert local_date(datetime(2026, 12, 1, 23, 0, tzinfo=UTC), "Asia/Shanghai").isoformat() == "2026-12-02"


class FakeIdentity:
    def __init__(self) -> None:
        self.calls = 0

    async def get_json(self, path: str) -> dict:
        self.calls += 1
        return {"access_token": f"t{self.calls}",
                "expires_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}

    async def post_json(self, path: str, body: dict) -> dict:
        return await self.get_json(path)


async def test_tokens_are_cached_and_replaced_when_rejected():
    identity = FakeIdentity()
    tokens = IdentityTokens(identity)  # type: ignore[arg-type]
    assert [await tokens.current("wx1") for _ in range(5)] == ["t1"] * 5
    assert identity.calls == 1
    assert await tokens.invalidate("wx1", "t1") == "t2"
    assert await tokens.current("wx1") == "t2"
