"""POST /mp/v1/activity: validation per item, durability in the outbox, dedupe, rate limit, docs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson

from gateway.activity.retention import prune_once
from gateway.routes.docs import merge_openapi
from shared.auth import StaffPrincipal

MEMBER = 10_001


def token(gateway, member_no: int = MEMBER) -> dict[str, str]:
    value = gateway.app.state.runtime.tokens.issue_member(member_no, session_id=uuid.uuid4().hex)
    return {"authorization": f"Bearer {value}"}


def now_iso(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).isoformat()


NOW = timedelta()


def page(n: int = 0, **extra) -> dict:
    return {"kind": "page.viewed", "at": now_iso(), "page": f"pages/p{n}", "duration_ms": 1000 + n, **extra}


def assert_problem(response, status: int, slug: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    if slug:
        assert body["type"].endswith("/" + slug), body
    return body


async def post(gateway, events, member_no: int = MEMBER):
    return await gateway.client.post("/mp/v1/activity", json={"events": events}, headers=token(gateway, member_no))


async def test_valid_kinds_are_recorded_in_the_outbox(gateway):
    events = [
        page(1),
        {"kind": "quiz.answered", "at": now_iso(), "props": {
            "quiz_id": 7, "question_id": "q-3", "correct": False, "series_id": 2, "period_id": 5}},
        {"kind": "content.shared", "at": now_iso(), "props": {"target": "group", "share_ticket": "tkt"}},
        {"kind": "custom.video_played", "at": now_iso(timedelta(minutes=4)), "props": {"video": "a"},
         "event_id": "c-1"},
    ]
    response = await post(gateway, events)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 4, "duplicates": 0, "rejected": []}
    rows = await gateway.outbox("app.activity.recorded")
    assert [row.envelope["data"]["kind"] for row in rows] == [e["kind"] for e in events]
    assert {row.topic for row in rows} == {"app.activity"} and {row.key for row in rows} == {str(MEMBER)}
    first, quiz, shared, custom = (row.envelope for row in rows)
    assert first["member_no"] == MEMBER and first["source"] == "gateway"
    assert first["data"]["page"] == "pages/p1" and first["data"]["duration_ms"] == 1001
    assert datetime.fromisoformat(first["data"]["at"]) == datetime.fromisoformat(events[0]["at"])
    assert quiz["data"]["props"] == {"quiz_id": 7, "question_id": "q-3", "correct": False, "series_id": 2,
                                     "period_id": 5}
    assert shared["data"]["props"] == {"target": "group", "share_ticket": "tkt"}
    assert custom["data"]["client_event_id"] == "c-1"


BAD_ITEMS = [
    ({"kind": "page.clicked", "at": "now"}, "unknown-kind", "kind"),
    ({"at": NOW}, "missing-field", "kind"),
    ({"kind": 5, "at": NOW}, "invalid-field", "kind"),
    ({"kind": "custom.", "at": NOW}, "invalid-custom-name", "kind"),
    ({"kind": "custom.Bad Name", "at": NOW}, "invalid-custom-name", "kind"),
    ({"kind": "custom." + "x" * 65, "at": NOW}, "invalid-custom-name", "kind"),
    ({"kind": "page.viewed", "at": NOW}, "missing-field", "page"),
    ({"kind": "page.viewed", "page": "p"}, "missing-field", "at"),
    ({"kind": "page.viewed", "page": "p", "at": "2026-12-01T10:00:00"}, "invalid-field", "at"),
    ({"kind": "page.viewed", "page": "p", "at": "yesterday"}, "invalid-field", "at"),
    ({"kind": "page.viewed", "page": "p", "at": timedelta(hours=-25)}, "at-too-old", "at"),
    ({"kind": "page.viewed", "page": "p", "at": timedelta(minutes=6)}, "at-in-future", "at"),
    ({"kind": "page.viewed", "page": "p" * 257, "at": NOW}, "invalid-field", "page"),
    ({"kind": "page.viewed", "page": "a\x00b", "at": NOW}, "invalid-field", "page"),
    ({"kind": "page.viewed", "page": "p", "at": NOW, "duration_ms": -1}, "invalid-field", "duration_ms"),
    ({"kind": "page.viewed", "page": "p", "at": NOW, "duration_ms": 10**12}, "invalid-field",
     "duration_ms"),
    ({"kind": "page.viewed", "page": "p", "at": NOW, "duration_ms": True}, "invalid-field",
     "duration_ms"),
    ({"kind": "page.viewed", "page": "p", "at": NOW, "colour": "red"}, "unknown-field", "colour"),
    ({"kind": "page.viewed", "page": "p", "at": NOW, "event_id": ""}, "invalid-field", "event_id"),
    ({"kind": "page.viewed", "page": "p", "at": NOW, "props": []}, "invalid-field", "props"),
    ({"kind": "custom.x", "at": NOW, "props": {"a": "x" * 5000}}, "props-too-large", "props"),
    ({"kind": "custom.x", "at": NOW, "props": {str(i): i for i in range(33)}}, "props-too-large",
     "props"),
    ({"kind": "custom.x", "at": NOW, "props": {"a": ["b\x00"]}}, "invalid-text", "props"),
    ({"kind": "quiz.answered", "at": NOW, "props": {"quiz_id": 1, "question_id": 2}}, "missing-field",
     "props.correct"),
    ({"kind": "quiz.answered", "at": NOW, "props": {"quiz_id": 1, "question_id": 2, "correct": "yes"}},
     "invalid-field", "props.correct"),
    ({"kind": "quiz.answered", "at": NOW,
      "props": {"quiz_id": 1, "question_id": 2, "correct": True, "series_id": 2**63}}, "invalid-field",
     "props.series_id"),
    ({"kind": "quiz.answered", "at": NOW,
      "props": {"quiz_id": 0, "question_id": 2, "correct": True}}, "invalid-field", "props.quiz_id"),
    ({"kind": "content.shared", "at": NOW, "props": {"target": "weibo"}}, "invalid-field",
     "props.target"),
    ({"kind": "content.shared", "at": NOW}, "missing-field", "props.target"),
    ("page.viewed", "not-an-object", None),
]


async def test_bad_items_are_reported_by_index_and_the_rest_recorded(gateway):
    # times are relative to when the test runs, not when it was collected
    events, expected = [], []
    for item, reason, field in BAD_ITEMS:
        if isinstance(item, dict) and isinstance(item.get("at"), timedelta):
            item = {**item, "at": now_iso(item["at"])}
        events.append(page(len(events)))
        expected.append((len(events), reason, field))
        events.append(item)
    events.append(page(len(events)))
    response = await post(gateway, events)
    assert response.status_code == 202, response.text
    body = response.json()
    assert [(r["index"], r["reason"], r["field"]) for r in body["rejected"]] == expected, body
    assert body["accepted"] == len(BAD_ITEMS) + 1
    assert all(r["detail"] for r in body["rejected"])
    rows = await gateway.outbox("app.activity.recorded")
    assert [row.envelope["data"]["page"] for row in rows] == [f"pages/p{i}" for i in range(0, len(events), 2)]


async def test_a_lone_surrogate_rejects_only_its_item(gateway):
    body = b'{"events": [{"kind": "page.viewed", "at": "%s", "page": "a\\ud800"}, %s]}' % (
        now_iso().encode(), orjson.dumps(page(1)))
    response = await gateway.client.post(
        "/mp/v1/activity", content=body, headers=token(gateway) | {"content-type": "application/json"})
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1
    assert [(r["index"], r["field"]) for r in response.json()["rejected"]] == [(0, "page")]


async def test_batch_level_problems(gateway):
    headers = token(gateway)
    url = "/mp/v1/activity"
    assert_problem(await gateway.client.post(url, json={"events": [page()]}), 401, "token-missing")
    assert_problem(await gateway.client.post(
        url, json={"events": [page()]}, headers={"authorization": "Bearer nope"}), 401)
    assert_problem(await gateway.client.post(url, json={"events": [page(i) for i in range(101)]}, headers=headers),
                   422, "too-many-items")
    assert_problem(await gateway.client.post(url, json={"events": []}, headers=headers), 422, "too-many-items")
    big = [{"kind": "custom.x", "at": now_iso(), "props": {"a": "x" * 4000}} for _ in range(20)]
    problem = assert_problem(await gateway.client.post(url, json={"events": big}, headers=headers), 413,
                             "activity-too-large")
    assert "KB" in problem["detail"]
    assert_problem(await gateway.client.post(url, content=b"{", headers=headers | {
        "content-type": "application/json"}), 400, "malformed-json")
    for document in ([], {"events": {}}, {"events": [page()], "extra": 1}, {}):
        assert_problem(await gateway.client.post(url, json=document, headers=headers), 422, "validation-error")
    assert_problem(await gateway.client.post(url, content=b"events", headers=headers | {
        "content-type": "text/plain"}), 415)
    # other methods and sub-paths are not proxied anywhere
    assert_problem(await gateway.client.get(url, headers=headers), 404, "unknown-route")
    assert_problem(await gateway.client.post(url + "/x", json={}, headers=headers), 404, "unknown-route")
    # a staff token is not a member token
    staff = gateway.app.state.runtime.tokens.issue_staff(
        StaffPrincipal(staff_id=1, username="ops", roles=frozenset({"admin"})))
    assert_problem(await gateway.client.post(url, json={"events": [page()]}, headers={
        "authorization": f"Bearer {staff}"}), 401)
    assert await gateway.outbox("app.activity.recorded") == []


async def test_a_retried_batch_is_recorded_once(gateway):
    events = [page(i, event_id=f"e-{i}") for i in range(5)] + [page(9)]
    first = await post(gateway, events)
    assert first.json() == {"accepted": 6, "duplicates": 0, "rejected": []}
    again = await post(gateway, events)
    # the same answer, plus how many were already there; the item without an event_id is new again
    assert again.json() == {"accepted": 6, "duplicates": 5, "rejected": []}
    # repeats inside one batch count once; the same event id of another member is another item
    inside = await post(gateway, [page(20, event_id="dup"), page(21, event_id="dup")])
    assert inside.json() == {"accepted": 2, "duplicates": 1, "rejected": []}
    other = await post(gateway, [page(0, event_id="e-0")], member_no=MEMBER + 1)
    assert other.json()["duplicates"] == 0
    rows = await gateway.outbox("app.activity.recorded")
    ids = [row.envelope["data"]["client_event_id"] for row in rows]
    assert ids.count("e-0") == 2 and ids.count("e-1") == 1 and ids.count("dup") == 1 and ids.count(None) == 2
    assert [row.envelope["data"]["page"] for row in rows if row.envelope["data"]["client_event_id"] == "dup"] == [
        "pages/p20"]


async def test_claims_older_than_any_acceptable_retry_are_pruned(gateway):
    await post(gateway, [page(1, event_id="old"), page(2, event_id="new")])
    runtime = gateway.app.state.runtime
    async with runtime.driver_pool.acquire() as conn:
        await conn.execute(
            "UPDATE received_activity SET received_at = now() - interval '49 hours' WHERE event_id = 'old'")
    # (the background job may have got there first)
    assert await prune_once(runtime) in (0, 1)
    async with runtime.driver_pool.acquire() as conn:
        assert await conn.fetchval("SELECT array_agg(event_id) FROM received_activity") == ["new"]


async def test_rate_limit_per_member_with_retry_after(gateway_factory):
    async with gateway_factory(activity_items_per_minute=60) as gateway:
        ok = await post(gateway, [page(i) for i in range(50)])
        assert ok.status_code == 202
        problem = await post(gateway, [page(i) for i in range(20)])
        body = assert_problem(problem, 429, "activity-rate-limited")
        assert "频繁" in body["detail"]
        # 10 tokens left, 20 wanted, one per second back: about ten seconds
        assert 9 <= int(problem.headers["retry-after"]) <= 11
        # nothing of the refused batch was recorded; a smaller batch still fits, another member is unaffected
        assert (await post(gateway, [page(i) for i in range(10)])).status_code == 202
        assert (await post(gateway, [page(i) for i in range(60)], member_no=MEMBER + 1)).status_code == 202
        assert len(await gateway.outbox("app.activity.recorded")) == 120


async def test_openapi_documents_the_gateway_owned_path(gateway):
    document = merge_openapi({"gateway": gateway.app.openapi()})
    operation = document["paths"]["/mp/v1/activity"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/gateway.ActivityBatch"}
    assert operation["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/gateway.ActivityAccepted"}
    for status in ("401", "413", "422", "429"):
        assert "application/problem+json" in operation["responses"][status]["content"]
    schemas = document["components"]["schemas"]
    assert {"gateway.ActivityBatch", "gateway.ActivityItem", "gateway.ActivityAccepted",
            "gateway.RejectedItem", "gateway.Problem"} <= set(schemas)
    # the live combined document includes it too (routed services may be down here)
    live = (await gateway.client.get("/openapi.json")).json()
    assert "/mp/v1/activity" in live["paths"]
    assert "memberToken" in live["components"]["securitySchemes"]


async def test_the_time_window_follows_the_shared_clock(gateway):
    """A test system that moves time moves the 24 h / 5 min window with it (shared.clock)."""
    clock = gateway.app.state.runtime.extras["clock"]
    ahead = timedelta(days=10)
    clock.offset = ahead
    try:
        moved = {"kind": "page.viewed", "at": now_iso(ahead), "page": "pages/later", "duration_ms": 5}
        stale = {"kind": "page.viewed", "at": now_iso(), "page": "pages/now", "duration_ms": 5}
        response = await post(gateway, [moved, stale])
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == 1
        assert [r["index"] for r in response.json()["rejected"]] == [1]
    finally:
        clock.offset = timedelta()
