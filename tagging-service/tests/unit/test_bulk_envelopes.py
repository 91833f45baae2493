"""Envelopes spliced from a template (bulk applications) equal the ones ``outbox_row`` builds per member."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from shared.contracts.tagging import MemberTagged, MemberUntagged
from shared.events.outbox import outbox_row
from tagging_service.tags.repository import envelopes

NOW = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)


def _expected(template: dict, event_id: str, member_no: int, evidence: list[str] | None) -> dict:
    envelope = {**template["envelope"], "id": event_id, "member_no": member_no}
    envelope["data"] = {**envelope["data"], "member_no": member_no}
    if evidence is not None:
        envelope["data"]["evidence"] = evidence
    return envelope


def test_tagged_envelopes_carry_each_members_id_number_and_evidence() -> None:
    # Quotes, backslashes and non-ASCII in the tag name: the template is serialised by orjson, not by hand.
    template = outbox_row(MemberTagged(member_no=0, tag='错题"多\\', source="rule", tag_id=7, source_id=3,
                                       applied_at=NOW, expires_at=None), source="tagging", member_no=0)
    ids = ["0193a0b0-0000-7000-8000-000000000001", "0193a0b0-0000-7000-8000-000000000002"]
    evidence = [["0193a0b0-0000-7000-8000-0000000000aa"], []]
    made = envelopes(template, ids, [10001, 10002], [orjson.dumps(e).decode() for e in evidence])
    assert [orjson.loads(m) for m in made] == [
        _expected(template, i, m, e) for i, m, e in zip(ids, [10001, 10002], evidence, strict=True)]


def test_untagged_envelopes_have_no_evidence() -> None:
    template = outbox_row(MemberUntagged(member_no=0, tag_id=7, tag="t", removed_by="rule", removed_by_id=3),
                          source="tagging", member_no=0)
    made = envelopes(template, ["0193a0b0-0000-7000-8000-000000000003"], [10003])
    assert [orjson.loads(m) for m in made] == [_expected(template, "0193a0b0-0000-7000-8000-000000000003",
                                                         10003, None)]
