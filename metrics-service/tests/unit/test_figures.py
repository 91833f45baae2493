"""Pure pieces of the figures: CSV safety, buckets, definitions."""

from __future__ import annotations

from datetime import date, datetime

from metrics_service import definitions
from metrics_service.figures import buckets
from shared.csv_export import csv_response, safe_cell


def test_formula_cells_are_quoted():
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("+1") == "'+1" and safe_cell("@x") == "'@x" and safe_cell("-x") == "'-x"
    assert safe_cell(-5) == "-5" and safe_cell(None) == "" and safe_cell("群A") == "群A"


def test_csv_has_a_bom_and_crlf():
    body = csv_response("x", ["名称", "value"], [["=1+1", 3]]).body
    assert body.startswith("\ufeff".encode())
    assert body.decode("utf-8-sig") == "名称,value\r\n'=1+1,3\r\n"


def test_buckets():
    assert buckets(date(2026, 3, 4), date(2026, 3, 17), "week") == [
        date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)
    ]
    assert buckets(date(2026, 1, 31), date(2026, 3, 1), "month") == [
        date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
    ]


def test_days_are_shanghai_days():
    assert definitions.local_day(datetime.fromisoformat("2026-03-01T16:30:00+00:00")) == date(2026, 3, 2)
    assert definitions.previous_range(date(2026, 3, 8), date(2026, 3, 14)) == (date(2026, 3, 1), date(2026, 3, 7))


def test_rates_of_seed_002():
    assert definitions.rate(60, 177) == 0.339
    assert definitions.rate(70, 147) == 0.476
    assert definitions.rate(30, 177) == 0.169


def test_opened_ignores_a_wall_clock_stamp_before_the_previous_end():
    end = datetime.fromisoformat("2026-03-13T09:00:00+08:00")
    first = datetime.fromisoformat("2026-04-03T11:00:00+08:00")
    wall = datetime.fromisoformat("2026-03-01T08:00:00+08:00")
    assert definitions.period_opened_at(announced=wall, first_registration=first, previous_ended=end) == first
    opened = datetime.fromisoformat("2026-04-03T10:00:00+08:00")
    assert definitions.period_opened_at(announced=opened, first_registration=first, previous_ended=end) == opened
