"""Which service owns which public path."""

import timeit

import pytest

from gateway.routing_table import ROUTES, Route, RoutingTable, match


@pytest.mark.parametrize(
    ("path", "service", "auth"),
    [
        ("/mp/v1/session", "identity", "none"),
        ("/mp/v1/session/refresh", "identity", "none"),
        ("/mp/v1/me", "identity", "member"),
        ("/mp/v1/me/phone", "identity", "member"),
        ("/mp/v1/me/registrations", "campaign", "member"),
        ("/mp/v1/me/invite", "campaign", "member"),
        ("/mp/v1/activity", "gateway", "member"),
        ("/admin/v1/referrals", "campaign", "staff"),
        ("/mp/v1/periods/12/checkins", "campaign", "member"),
        ("/admin/v1/session", "identity", "none"),
        ("/admin/v1/members/10001", "identity", "staff"),
        ("/admin/v1/metrics/overview", "metrics", "staff"),
        ("/admin/v1/tag-groups", "tagging", "staff"),
        ("/admin/v1/tag-groups/3", "tagging", "staff"),
        ("/admin/v1/tags/7/members/import", "tagging", "staff"),
        ("/admin/v1/tag-rules/4/backfill", "tagging", "staff"),
        ("/admin/v1/segments/preview", "tagging", "staff"),
        ("/admin/v1/blocklist/10001", "tagging", "staff"),
        ("/admin/v1/message-purposes", "messaging", "staff"),
        ("/admin/v1/broadcasts/9", "messaging", "staff"),
        ("/admin/v1/messages", "messaging", "staff"),
        ("/admin/v1/templates/abc", "messaging", "staff"),
    ],
)
def test_longest_prefix_owns_the_path(path, service, auth):
    route = match(path)
    assert route is not None
    assert (route.service, route.auth) == (service, auth)


@pytest.mark.parametrize(
    ("path", "service", "label"),
    [
        ("/admin/v1/members/10001/tags", "tagging", "/admin/v1/members/{member_no}/tags"),
        ("/admin/v1/members/10001/tags/7", "tagging", "/admin/v1/members/{member_no}/tags"),
        ("/admin/v1/members/10001/notes", "tagging", "/admin/v1/members/{member_no}/notes"),
        ("/admin/v1/members/10001/notes/3", "tagging", "/admin/v1/members/{member_no}/notes"),
        ("/admin/v1/members/10001/timeline", "tagging", "/admin/v1/members/{member_no}/timeline"),
        ("/admin/v1/members/10001/reach", "messaging", "/admin/v1/members/{member_no}/reach"),
        ("/admin/v1/members/10001/registrations", "campaign", "/admin/v1/members/{member_no}/registrations"),
        # an OpenAPI path template is matched like a concrete path
        ("/admin/v1/members/{member_no}/tags/{tag_id}", "tagging", "/admin/v1/members/{member_no}/tags"),
        # the rest of /admin/v1/members stays with identity
        ("/admin/v1/members", "identity", "/admin/v1/members"),
        ("/admin/v1/members/10001", "identity", "/admin/v1/members"),
        ("/admin/v1/members/10001/phone", "identity", "/admin/v1/members"),
        ("/admin/v1/members/10001/tagsx", "identity", "/admin/v1/members"),
        ("/admin/v1/members/tags", "identity", "/admin/v1/members"),
        # a template segment matches exactly one non-empty segment
        ("/admin/v1/members//tags", "identity", "/admin/v1/members"),
        ("/admin/v1/members/1/2/tags", "identity", "/admin/v1/members"),
    ],
)
def test_template_routes_take_member_sub_resources(path, service, label):
    route = match(path)
    assert route is not None
    assert (route.service, route.prefix) == (service, label)


def test_template_beats_plain_prefix_of_same_or_shorter_length_and_loses_to_longer():
    table = RoutingTable((
        Route("/a", "one", "staff"),
        Route("/a/{x}/b", "two", "staff"),
        Route("/a/fixed/b", "three", "staff"),
        Route("/a/fixed/b/c", "four", "staff"),
    ))
    assert table.match("/a/1/b").service == "two"
    # same length: the template wins over the plain prefix
    assert table.match("/a/fixed/b").service == "two"
    assert table.match("/a/fixed/b/x").service == "two"
    # a longer plain prefix wins
    assert table.match("/a/fixed/b/c").service == "four"
    assert table.match("/a/fixed/b/c/d").service == "four"
    assert table.match("/a/1").service == "one"


def test_bad_or_duplicate_routes_are_refused():
    with pytest.raises(ValueError):
        RoutingTable((Route("/a", "one", "staff"), Route("/a", "two", "staff")))
    with pytest.raises(ValueError):
        RoutingTable((Route("/a/{x}", "one", "staff"), Route("/a/{y}", "two", "staff")))
    with pytest.raises(ValueError):
        RoutingTable((Route("/a/", "one", "staff"),))


@pytest.mark.parametrize(
    "path", ["/mp/v1/sessionx", "/mp/v1/", "/admin/v1/metricsx/a", "/other", "/", "", "/admin/v1/tagsx"]
)
def test_prefix_matches_whole_segments_only(path):
    assert match(path) is None


def test_only_sign_in_endpoints_are_public():
    public = {route.prefix for route in ROUTES if route.auth == "none"}
    assert public == {"/mp/v1/session", "/admin/v1/session"}


def test_match_stays_fast():
    # ~40 routes, a deep path: a few microseconds per call (generous bound for a shared CPU).
    seconds = timeit.timeit(lambda: match("/admin/v1/members/10001/tags/7"), number=20_000)
    assert seconds / 20_000 < 50e-6
