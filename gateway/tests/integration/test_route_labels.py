"""Gateway metrics name the public route (a path template for member sub-resources), never the raw path."""

from __future__ import annotations

import uuid

from shared.auth import StaffPrincipal


async def test_metrics_label_proxied_calls_by_route_template(gateway):
    tokens = gateway.app.state.runtime.tokens
    staff = tokens.issue_staff(StaffPrincipal(staff_id=1, username="ops", roles=frozenset({"admin"})))
    headers = {"authorization": f"Bearer {staff}"}
    # The owners are not running here: the proxy answers 503, which is enough to be counted.
    for path in ("/admin/v1/members/10001/tags/7", "/admin/v1/members/10002/tags", "/admin/v1/members/10001",
                 "/admin/v1/members/10001/reach"):
        response = await gateway.client.get(path, headers=headers)
        assert response.status_code in (502, 503, 504), response.text
    member = tokens.issue_member(10_001, session_id=uuid.uuid4().hex)
    await gateway.client.get("/mp/v1/activity", headers={"authorization": f"Bearer {member}"})
    metrics = (await gateway.client.get("/metrics")).text
    assert 'route="/admin/v1/members/{member_no}/tags"' in metrics
    assert 'route="/admin/v1/members/{member_no}/reach"' in metrics
    assert 'route="/admin/v1/members"' in metrics
    assert 'route="/mp/v1/activity"' in metrics
    # The labels only: a sample's value (a _created timestamp such as 1.79617110001e+09) may hold the digits.
    labels = [line[line.index("{"):line.index("}") + 1] for line in metrics.splitlines() if "route=" in line]
    assert labels and not [label for label in labels if "10001" in label or "10002" in label]
