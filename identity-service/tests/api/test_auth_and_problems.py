"""Every route needs an internal token; callers without the right principal get problem+json."""

import pytest

from identity_service.main import DEFINITION
from shared.auth import TokenCodec
from shared.settings import QunyunSettings


def _routes():
    for router in DEFINITION.routers:
        for route in router.routes:
            for method in route.methods:
                yield method, route.path


@pytest.mark.parametrize(("method", "path"), sorted(set(_routes())))
async def test_every_route_needs_an_internal_token(identity, method, path):
    url = path.replace("{member_no}", "10001").replace("{staff_id}", "1").replace("{appid}", "wx1")
    url = url.replace("{openid}", "o1").replace("{candidate_id}", "1")
    response = await identity.client.request(method, url, json={})
    assert response.status_code == 401, (method, path, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/internal-token-required")


async def test_tokens_for_other_services_or_other_keys_are_refused(identity):
    codec = TokenCodec(identity.settings)
    for_campaign = codec.issue_internal(caller="gateway", audience="campaign")
    response = await identity.client.get(
        "/internal/members/10001", headers={"authorization": f"Bearer {for_campaign}"}
    )
    assert response.status_code == 401
    forged = TokenCodec(QunyunSettings(secret_key="x" * 40)).issue_internal(
        caller="gateway", audience="identity"
    )
    response = await identity.client.get(
        "/internal/members/10001", headers={"authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401
    # A member token is not an internal token.
    member = codec.issue_member(10001, session_id="s")
    response = await identity.client.get(
        "/internal/members/10001", headers={"authorization": f"Bearer {member}"}
    )
    assert response.status_code == 401


async def test_principal_requirements(identity):
    assert (
        (await identity.client.get("/mp/v1/me", headers=identity.public()))
        .json()["type"]
        .endswith("/member-required")
    )
    assert (
        (await identity.client.get("/admin/v1/members", headers=identity.public()))
        .json()["type"]
        .endswith("/staff-required")
    )
    assert (await identity.client.get("/admin/v1/staff", headers=identity.staff("viewer"))).status_code == 403


async def test_validation_problems(identity):
    response = await identity.client.post("/mp/v1/session", json={}, headers=identity.public())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.code"
    malformed = await identity.client.post(
        "/mp/v1/session", content=b"{nope", headers={**identity.public(), "content-type": "application/json"}
    )
    assert malformed.status_code == 400


async def test_openapi_lists_the_identity_paths(identity):
    paths = (await identity.client.get("/openapi.json")).json()["paths"]
    for path in (
        "/mp/v1/session",
        "/mp/v1/session/refresh",
        "/mp/v1/me",
        "/mp/v1/me/phone",
        "/admin/v1/session",
        "/admin/v1/staff",
        "/admin/v1/members",
        "/admin/v1/members/{member_no}",
        "/internal/wechat/token/{appid}",
        "/internal/wechat/token/{appid}/invalidate",
        "/internal/members/{member_no}",
        "/internal/members/by-openid/{openid}",
        "/internal/members/{member_no}/decrypt",
        "/internal/members/resolve-openid",
    ):
        assert path in paths, path
