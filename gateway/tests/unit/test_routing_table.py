"""Which service owns which public path."""

import pytest

from gateway.routing_table import ROUTES, match


@pytest.mark.parametrize(
    ("path", "service", "auth"),
    [
        ("/mp/v1/session", "identity", "none"),
        ("/mp/v1/session/refresh", "identity", "none"),
        ("/mp/v1/me", "identity", "member"),
        ("/mp/v1/me/phone", "identity", "member"),
        ("/mp/v1/me/registrations", "campaign", "member"),
        ("/mp/v1/me/invite", "campaign", "member"),
        ("/admin/v1/referrals", "campaign", "staff"),
        ("/mp/v1/periods/12/checkins", "campaign", "member"),
        ("/admin/v1/session", "identity", "none"),
        ("/admin/v1/members/10001", "identity", "staff"),
        ("/admin/v1/metrics/overview", "metrics", "staff"),
    ],
)
def test_longest_prefix_owns_the_path(path, service, auth):
    route = match(path)
    assert route is not None
    assert (route.service, route.auth) == (service, auth)


@pytest.mark.parametrize("path", ["/mp/v1/sessionx", "/mp/v1/", "/admin/v1/metricsx/a", "/other"])
def test_prefix_matches_whole_segments_only(path):
    assert match(path) is None


def test_only_sign_in_endpoints_are_public():
    public = {route.prefix for route in ROUTES if route.auth == "none"}
    assert public == {"/mp/v1/session", "/admin/v1/session"}
