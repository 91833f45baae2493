"""CSV import of a tag's members: UTF-8 (with or without BOM) or GBK, one member number per row.

A dry run reports what would happen (and every bad row) and changes nothing;
a real run applies the tag only when every row is good, so a half-read file
never tags half the people.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from shared.errors import Invalid
from shared.fields import BIGINT_MAX

MAX_ROWS = 50_000


@dataclass
class ParsedImport:
    """Member numbers read from a file, and its problems by row."""

    encoding: str
    member_nos: list[int] = field(default_factory=list)
    errors: list[dict[str, object]] = field(default_factory=list)
    rows: int = 0


def decode(raw: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was in (UTF-8 ± BOM first, then GBK)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    else:
        try:
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
        try:
            return raw.decode("gbk"), "gbk"
        except UnicodeDecodeError:
            pass
    raise Invalid("文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV。", slug="csv-encoding",
                  errors=[{"field": "body", "message": "编码不是 UTF-8 或 GBK", "code": "encoding"}])


def parse(raw: bytes) -> ParsedImport:
    """Read member numbers from the first column; a header row (学号, member_no …) is skipped."""
    text, encoding = decode(raw)
    if "\x00" in text:
        raise Invalid("文件包含无效字符（NUL）。", slug="csv-invalid",
                      errors=[{"field": "body", "message": "包含 NUL 字符", "code": "nul"}])
    result = ParsedImport(encoding=encoding)
    seen: set[int] = set()
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise Invalid("CSV 格式有误。", slug="csv-invalid",
                      errors=[{"field": "body", "message": str(exc), "code": "csv"}]) from None
    for number, row in enumerate(rows, start=1):
        cell = row[0].strip() if row else ""
        if not cell:
            continue
        if number == 1 and not cell.isdigit():
            continue  # header
        result.rows += 1
        if result.rows > MAX_ROWS:
            raise Invalid(f"文件行数超过上限（{MAX_ROWS} 行）。", slug="csv-too-many-rows",
                          errors=[{"field": f"row {number}", "message": "超过行数上限", "code": "too_many_rows"}])
        if not (cell.isascii() and cell.isdigit()) or not 1 <= int(cell) <= BIGINT_MAX:
            result.errors.append({"row": number, "value": cell[:50], "message": "不是有效的学号"})
            continue
        value = int(cell)
        if value in seen:
            result.errors.append({"row": number, "value": cell, "message": "学号重复"})
            continue
        seen.add(value)
        result.member_nos.append(value)
    return result
