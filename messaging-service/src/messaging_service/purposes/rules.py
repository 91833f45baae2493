"""What WeChat accepts in a template field (docs/wechat.md), checked before any call.

A value WeChat would refuse (47003) or silently cut (service-account template
fields over 20 characters or with a newline) is a 422 naming the field.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

_HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$")
_DIGITS = re.compile(r"^\d+(\.\d+)?$")
_LETTERS = re.compile(r"^[A-Za-z]+$")
_CHARSTR = re.compile(r"^[0-9A-Za-z" + re.escape(string.punctuation) + r"]+$")
_PHONE = re.compile(r"^[0-9+\-() ]+$")
_AMOUNT = re.compile(r"^[¥￥]?\d+(\.\d{1,2})?元?$")
_DATE = re.compile(r"^\d{4}(-\d{1,2}-\d{1,2}|年\d{1,2}月\d{1,2}日)$")
_TIME = re.compile(
    r"^(\d{4}(-\d{1,2}-\d{1,2}|年\d{1,2}月\d{1,2}日)\s*)?\d{1,2}:\d{2}(:\d{2})?"
    r"(\s*[~\-至]\s*(\d{4}(-\d{1,2}-\d{1,2}|年\d{1,2}月\d{1,2}日)\s*)?\d{1,2}:\d{2}(:\d{2})?)?$"
)

# Service-account template fields since 2023-05-04.
TEMPLATE_FIELD_LIMIT = 20


def _max(n: int) -> Callable[[str], str | None]:
    return lambda v: None if len(v) <= n else f"最多 {n} 个字符"


def _pattern(regex: re.Pattern[str], what: str, limit: int | None = None) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if limit is not None and len(value) > limit:
            return f"最多 {limit} 个字符"
        return None if regex.match(value) else f"必须是{what}"

    return check


def _name(value: str) -> str | None:
    limit = 10 if _HAN.match(value) else 20
    return None if len(value) <= limit else f"最多 {limit} 个字符（中文 10 个）"


def _phrase(value: str) -> str | None:
    if not _HAN.match(value):
        return "必须是汉字"
    return None if len(value) <= 5 else "最多 5 个汉字"


RULES: dict[str, Callable[[str], str | None]] = {
    "thing": _max(20),
    "number": _pattern(_DIGITS, "数字", 32),
    "letter": _pattern(_LETTERS, "字母", 32),
    "symbol": _max(5),
    "character_string": _pattern(_CHARSTR, "数字、字母或符号", 32),
    "time": _pattern(_TIME, "时间（如 2026-12-01 08:00）"),
    "date": _pattern(_DATE, "日期（如 2026-12-01）"),
    "amount": _pattern(_AMOUNT, "金额（如 99.00 或 ¥99.00）", 32),
    "phone_number": _pattern(_PHONE, "电话号码", 17),
    "car_number": _max(8),
    "name": _name,
    "phrase": _phrase,
}


def check_value(field_type: str, value: str, *, app: str) -> str | None:
    """Why ``value`` does not fit a field of ``field_type`` (Chinese, for the problem detail), or None."""
    if not value:
        return "不能为空"
    if app == "oa":
        if "\n" in value or "\r" in value:
            return "不能包含换行"
        if len(value) > TEMPLATE_FIELD_LIMIT:
            return f"最多 {TEMPLATE_FIELD_LIMIT} 个字符"
    rule = RULES.get(field_type)
    if rule is None:
        # Legacy service-account keys (keyword1, first …): only the 20-character rule applies.
        return None if app == "oa" else f"未知的字段类型 {field_type}"
    return rule(value)
