"""The telemetry fast path reads what the pydantic models read, and refuses what they might refuse."""

from datetime import UTC, datetime, timedelta

import orjson

from metrics_service import definitions
from metrics_service.activity.handlers import ACTIVITY, fast_activity, moment_of_activity
from shared.contracts import parse
from shared.contracts.gateway import ActivityRecorded
from shared.events.envelope import Envelope


def _wire(**data_overrides):
    data = ActivityRecorded(member_no=10042, kind="page.viewed", at=datetime(2026, 12, 1, 15, 59, 59, tzinfo=UTC),
                            page="pages/a", duration_ms=1234).model_dump(mode="json")
    data.update(data_overrides)
    return Envelope(type=ACTIVITY, source="gateway", member_no=10042, data=data).to_bytes()


def test_fast_path_matches_the_models():
    for raw in (_wire(), _wire(at=None), _wire(duration_ms=None), _wire(at="2026-12-01T16:00:00+08:00")):
        envelope = Envelope.from_bytes(raw)
        data = parse(envelope, ActivityRecorded)
        item = fast_activity(raw)
        assert item is not None
        assert (item.id, item.member_no, item.at, item.duration_ms) == (
            str(envelope.id), data.member_no, moment_of_activity(envelope, data), data.duration_ms or 0
        )


def test_anything_unusual_takes_the_full_parse():
    assert fast_activity(b"not json") is None
    assert fast_activity(_wire(member_no="10042")) is None  # the models coerce; the fast path does not
    assert fast_activity(_wire(at="2026-12-01T10:00:00")) is None  # no zone
    assert fast_activity(_wire(duration_ms=1.5)) is None
    doc = orjson.loads(_wire())
    del doc["data"]["kind"]
    assert fast_activity(orjson.dumps(doc)) is None
    doc = orjson.loads(_wire())
    doc["id"] = doc["id"].upper()  # a uuid the models read, spelled otherwise: the claim compares canonical text
    assert fast_activity(orjson.dumps(doc)) is None
    doc = orjson.loads(_wire())
    doc["type"] = "campaign.checkin.recorded"
    assert fast_activity(orjson.dumps(doc)) is None


def test_local_day_hour_is_the_zone_database_answer():
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    for step in range(0, 400 * 24, 7):
        at = moment + timedelta(hours=step, minutes=59)
        assert definitions.local_day_hour(at) == (definitions.local_day(at), definitions.local_hour(at))
    old = datetime(1988, 7, 1, 15, 30, tzinfo=UTC)  # Shanghai kept summer time then
    assert definitions.local_day_hour(old) == (definitions.local_day(old), definitions.local_hour(old))
