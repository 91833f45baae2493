"""CSV downloads staff open in Excel or WPS: UTF-8 with a BOM, CRLF lines, cells that never run as formulas.

A cell whose text starts with ``= + - @`` (or a tab or line break) would be
evaluated by a spreadsheet (CSV injection); such text gets a leading ``'``.
Numbers stay numbers (``-5`` is a value, not a formula).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.responses import Response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
BOM = "\ufeff"


def safe_cell(value: Any) -> str:
    """One CSV cell as text; text a spreadsheet would run as a formula is prefixed with ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """The whole document: BOM, header, rows, formula-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return BOM + buffer.getvalue()


def csv_response(filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV download (``filename`` without ``.csv``)."""
    return Response(
        content=csv_text(header, rows).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}.csv"'},
    )
