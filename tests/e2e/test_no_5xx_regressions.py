"""The inputs the first fuzzing run answered with a 500, through the gateway: each is now a 4xx problem.

Found by schemathesis against `make run` (ids beyond BIGINT, nulls in PATCH
bodies, text PostgreSQL cannot store) and by the fuzzing suite itself (an
escaped ``?`` inside a path segment reaching another operation upstream).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

pytestmark = pytest.mark.e2e

HUGE = "383974874911351024497197056"  # far beyond PostgreSQL's BIGINT


def _problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, (response.request.url, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in response.text
    body = response.json()
    if field is not None:
        assert field in [error["field"] for error in body.get("errors", [])], body
    return body


@pytest.fixture(scope="module")
def actors(system) -> dict[str, dict[str, str]]:
    """An admin token and a member token."""
    with httpx.Client(base_url=system.gateway, timeout=30) as http:
        staff = http.post("/admin/v1/session",
                          json={"username": system.admin_username, "password": system.admin_password}).json()
        person = httpx.post(f"{system.simulator}/sim/people", json={}).json()
        code = httpx.post(f"{system.simulator}/sim/people/{person['person_id']}/login-code").json()["code"]
        member = http.post("/mp/v1/session", json={"code": code}).json()
    return {
        "staff": {"authorization": f"Bearer {staff['token']}"},
        "member": {"authorization": f"Bearer {member['token']}"},
    }


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", f"/admin/v1/channels/{HUGE}", "path.channel_id"),
        ("GET", f"/admin/v1/channels/{HUGE}/stats", "path.channel_id"),
        ("GET", f"/admin/v1/channels/{HUGE}/wxacode.png", "path.channel_id"),
        ("GET", "/admin/v1/communities/matrix?series_id=205799999387918831452160", "query.series_id"),
        ("POST", f"/admin/v1/communities/{HUGE}/accept-proposal", "path.community_id"),
        ("POST", f"/admin/v1/staff/{HUGE}/enable", "path.staff_id"),
    ],
)
def test_staff_ids_beyond_bigint(system, actors, method, path, field):
    response = httpx.request(method, system.gateway + path, headers=actors["staff"], timeout=30)
    _problem(response, 422, field)


def test_member_ids_beyond_bigint(system, actors):
    response = httpx.post(f"{system.gateway}/mp/v1/me/registrations/{HUGE}/payment-check",
                          headers=actors["member"], timeout=30)
    _problem(response, 422, "path.registration_id")


def test_patch_nulls_for_fields_that_may_be_omitted_but_not_null(system, actors):
    with httpx.Client(base_url=system.gateway, headers=actors["staff"], timeout=30) as http:
        rule = http.post("/admin/v1/auto-replies", json={"keyword": "模糊", "reply": "你好"})
        assert rule.status_code == 201, rule.text
        url = f"/admin/v1/auto-replies/{rule.json()['id']}"
        body = _problem(http.patch(url, json={"match": None, "app": None, "reply": "0", "enabled": 0}), 422)
        assert {e["field"] for e in body["errors"]} == {"body.match", "body.app"}
        # Nothing was applied, and omitted fields still mean "unchanged".
        # (other tests share the system and add auto-replies of their own: find this one by id)
        mine = [r for r in http.get("/admin/v1/auto-replies").json()["items"] if r["id"] == rule.json()["id"]]
        assert [r["reply"] for r in mine] == ["你好"]
        changed = http.patch(url, json={"reply": "您好"})
        assert changed.status_code == 200 and changed.json()["match"] == "exact", changed.text


@pytest.mark.parametrize("text", ["\\u0000", "a\\ud800b", "\\udfff"])
def test_text_postgresql_cannot_store(system, actors, text):
    with httpx.Client(base_url=system.gateway, timeout=30) as http:
        series = http.post("/admin/v1/series", headers=actors["staff"], json={"title": "回归"}).json()
        opens = datetime.now(UTC) - timedelta(hours=1)
        start = (opens + timedelta(days=3)).date()
        period = http.post(f"/admin/v1/series/{series['id']}/periods", headers=actors["staff"], json={
            "title": "第1期", "registration_opens_at": opens.isoformat(),
            "registration_closes_at": (opens + timedelta(days=2)).isoformat(),
            "start_date": start.isoformat(), "end_date": (start + timedelta(days=6)).isoformat(),
            "capacity": 10,
        }).json()
        http.post(f"/admin/v1/periods/{period['id']}/state", headers=actors["staff"], json={"state": "open"})
        raw = ('{"channel": "' + text + '"}').encode()
        response = http.post(f"/mp/v1/periods/{period['id']}/registrations", content=raw,
                             headers=actors["member"] | {"content-type": "application/json"})
        _problem(response, 422, "body.channel")
        # The member can still register with clean input: nothing half-written stood in the way.
        ok = http.post(f"/mp/v1/periods/{period['id']}/registrations", json={}, headers=actors["member"])
        assert ok.status_code == 201, ok.text


def test_escaped_characters_in_a_path_segment_stay_in_that_segment(system, actors):
    # %3F is "?" and %2F is "/": forwarded decoded, they turned
    # POST /admin/v1/members/x%3Fy/merge into POST /admin/v1/members/x (405).
    for segment in ("x%3Fy", "1%2F2", "%00"):
        response = httpx.post(f"{system.gateway}/admin/v1/members/{segment}/merge", headers=actors["staff"],
                              json={"into": 10001}, timeout=30)
        assert response.status_code in (404, 422), (segment, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# Cursors a client can forge: well-formed base64 JSON objects that no list ever issued.
FORGED_CURSORS = [
    _cursor({}),
    _cursor({key: "x" for key in ("id", "no", "before", "after", "at", "s", "i", "seq", "member_no")}),
    _cursor({key: None for key in ("id", "no", "before", "after", "at", "s", "i", "seq", "member_no")}),
    _cursor({key: [1] for key in ("id", "no", "before", "after", "at", "s", "i", "seq", "member_no")}),
]


def test_forged_cursors_on_every_paged_list(system, actors):
    """Every GET with a ``cursor`` answers a cursor it never issued with 422 ``invalid-cursor`` (it was a 500).

    Lists whose path holds an id are tried with the id of something listed, when the plain list answers 200.
    """
    document = httpx.get(f"{system.gateway}/openapi.json", timeout=30).json()
    paged = [
        path for path, item in document["paths"].items()
        if "get" in item and any(p["name"] == "cursor" for p in item["get"].get("parameters", []))
    ]
    assert len(paged) >= 10, paged
    checked = []
    with httpx.Client(base_url=system.gateway, timeout=30) as http:
        for path in paged:
            headers = actors["member"] if path.startswith("/mp/") else actors["staff"]
            if "{" in path:
                continue  # the plain lists below cover the shared cursor handling; ids would need their own data
            if http.get(path, headers=headers).status_code != 200:
                continue
            for cursor in FORGED_CURSORS:
                body = _problem(http.get(path, params={"cursor": cursor}, headers=headers), 422)
                assert body["type"].endswith("/invalid-cursor"), (path, body)
            checked.append(path)
    assert len(checked) >= 8, checked
