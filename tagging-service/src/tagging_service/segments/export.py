"""CSV export of a segment: opens correctly in Excel and WPS, and cannot smuggle formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from shared.csv_export import safe_cell

BOM = "\ufeff"
HEADER = ["学号", "手机号", "标签", "排序值"]
def dialable(e164: str) -> str:
    """A full number as sales dial it: national for mainland China (+86), else 00 + country code + number.

    Never with a leading ``+``: a spreadsheet would read it as a formula (and the cell would be neutralised).
    """
    number = e164.strip().replace(" ", "")
    if number.startswith("+86"):
        return number[3:]
    return "00" + number[1:] if number.startswith("+") else number


def rank_text(value: float | None) -> str:
    """A rank value without a spurious ``.0``."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}".rstrip("0")


def csv_chunks(rows: Iterable[tuple[int, str | None, list[str], float | None]]) -> Iterator[bytes]:
    """UTF-8 with BOM, CRLF line ends, every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(HEADER)
    for count, (member_no, phone, tags, rank) in enumerate(rows, start=1):
        writer.writerow(
            [safe_cell(member_no), safe_cell(phone), safe_cell("、".join(tags)), safe_cell(rank_text(rank))]
        )
        if count % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
