"""Page cursors: what a list issued reads back; anything else a client sends is a 422, never a 500."""

from __future__ import annotations

import base64

import orjson
import pytest

from shared.errors import Invalid
from shared.routing import cursor_int, decode_cursor, encode_cursor


def test_an_issued_cursor_reads_back():
    assert cursor_int(encode_cursor({"id": 42}), "id") == 42
    assert cursor_int(encode_cursor({"after": 10001}), "after") == 10001
    assert cursor_int(None) is None
    assert cursor_int("") is None


@pytest.mark.parametrize(
    "value",
    [{}, {"id": "x"}, {"id": None}, {"id": [1]}, {"id": 1.5}, {"id": True}, {"id": 2**63}, {"id": "9" * 30},
     {"id": "42"}, {"id": -1}, {"no": 1}],
)
def test_a_forged_cursor_is_invalid(value):
    cursor = base64.urlsafe_b64encode(orjson.dumps(value)).decode()
    with pytest.raises(Invalid) as raised:
        cursor_int(cursor, "id")
    assert raised.value.slug == "invalid-cursor"


@pytest.mark.parametrize("cursor", ["not base64!", base64.urlsafe_b64encode(b"[1]").decode()])
def test_a_cursor_that_is_no_object_is_invalid(cursor):
    with pytest.raises(Invalid):
        decode_cursor(cursor)
