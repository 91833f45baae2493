"""Which service owns which public path, and who may call it.

Longest prefix wins (matched on whole path segments). ``auth`` is the token
the caller must present: ``member`` (mini-program session), ``staff``
(console), or ``none`` for the sign-in endpoints themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Auth = Literal["member", "staff", "none"]


@dataclass(frozen=True)
class Route:
    """One public path prefix and its owner."""

    prefix: str
    service: str
    auth: Auth


ROUTES: tuple[Route, ...] = (
    # mini-program
    Route("/mp/v1/session", "identity", "none"),
    Route("/mp/v1/me/registrations", "campaign", "member"),
    Route("/mp/v1/me/invite", "campaign", "member"),
    Route("/mp/v1/me", "identity", "member"),
    Route("/mp/v1/server-time", "campaign", "member"),
    Route("/mp/v1/series", "campaign", "member"),
    Route("/mp/v1/periods", "campaign", "member"),
    Route("/mp/v1/group-sightings", "campaign", "member"),
    Route("/mp/v1/subscriptions", "messaging", "member"),
    # staff
    Route("/admin/v1/session", "identity", "none"),
    Route("/admin/v1/staff", "identity", "staff"),
    Route("/admin/v1/members", "identity", "staff"),
    Route("/admin/v1/series", "campaign", "staff"),
    Route("/admin/v1/periods", "campaign", "staff"),
    Route("/admin/v1/channels", "campaign", "staff"),
    Route("/admin/v1/communities", "campaign", "staff"),
    Route("/admin/v1/referrals", "campaign", "staff"),
    Route("/admin/v1/tags", "tagging", "staff"),
    Route("/admin/v1/segments", "tagging", "staff"),
    # campaign keeps the blocklist until tagging-service owns it; it emits the
    # same tagging.member.blocked/unblocked contract, so consumers won't change.
    Route("/admin/v1/blocklist", "campaign", "staff"),
    Route("/admin/v1/service-records", "tagging", "staff"),
    Route("/admin/v1/messages", "messaging", "staff"),
    Route("/admin/v1/auto-replies", "messaging", "staff"),
    Route("/admin/v1/templates", "messaging", "staff"),
    Route("/admin/v1/metrics", "metrics", "staff"),
)

_BY_PREFIX = sorted(ROUTES, key=lambda r: len(r.prefix), reverse=True)


def match(path: str) -> Route | None:
    """The route owning ``path`` (segment-wise longest prefix), if any."""
    for route in _BY_PREFIX:
        if path == route.prefix or path.startswith(route.prefix + "/"):
            return route
    return None
