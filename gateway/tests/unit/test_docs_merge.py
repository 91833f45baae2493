"""The combined OpenAPI publishes each path under the service the gateway routes it to."""

from gateway.routes.docs import merge_openapi


def _doc(*paths: str) -> dict:
    return {
        "paths": {path: {"get": {"responses": {"200": {"description": "ok"}}}} for path in paths},
        "components": {"schemas": {"Thing": {"type": "object"}}},
    }


def test_paths_follow_the_routing_table():
    merged = merge_openapi({
        "identity": _doc("/admin/v1/members", "/admin/v1/members/{member_no}", "/admin/v1/members/{member_no}/tags"),
        "tagging": _doc("/admin/v1/members/{member_no}/tags", "/admin/v1/members/{member_no}/tags/{tag_id}",
                        "/admin/v1/blocklist/{member_no}"),
        "campaign": _doc("/admin/v1/blocklist/{member_no}", "/admin/v1/series", "/internal/x"),
        "messaging": _doc("/admin/v1/members/{member_no}/reach"),
    })
    owners = {path: item["get"]["tags"][0] for path, item in merged["paths"].items()}
    assert owners == {
        "/admin/v1/members": "identity",
        "/admin/v1/members/{member_no}": "identity",
        "/admin/v1/members/{member_no}/tags": "tagging",
        "/admin/v1/members/{member_no}/tags/{tag_id}": "tagging",
        "/admin/v1/blocklist/{member_no}": "tagging",
        "/admin/v1/series": "campaign",
        "/admin/v1/members/{member_no}/reach": "messaging",
    }
    assert {"identity.Thing", "tagging.Thing", "campaign.Thing", "messaging.Thing"} <= set(
        merged["components"]["schemas"]
    )
