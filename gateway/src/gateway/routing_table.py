"""Which service owns which public path, and who may call it.

A route is a path prefix matched on whole segments; a segment written
``{name}`` is a template segment and matches exactly one non-empty path
segment (``/admin/v1/members/{member_no}/tags`` owns
``/admin/v1/members/10001/tags`` and ``/admin/v1/members/10001/tags/7``).
The longest route wins; at equal length a template route beats a plain
prefix, so a template route always beats a plain prefix of the same or
shorter length (the member sub-resources go to tagging while the rest of
``/admin/v1/members`` stays with identity).

``auth`` is the token the caller must present: ``member`` (mini-program
session), ``staff`` (console), or ``none`` for the sign-in endpoints
themselves. Service ``gateway`` marks a path the gateway answers itself.

``match`` runs on every proxied call, so everything is precomputed: plain
prefixes sit in one dict probed once per candidate length, template routes
in one dict per shape (the positions of their template segments).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Literal

Auth = Literal["member", "staff", "none"]


@dataclass(frozen=True)
class Route:
    """One public path prefix (possibly with ``{name}`` segments) and its owner."""

    prefix: str
    service: str
    auth: Auth

    @property
    def is_template(self) -> bool:
        """True when some segment is a ``{name}`` placeholder."""
        return any(_is_placeholder(segment) for segment in self.prefix.split("/"))


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
    # answered by the gateway itself (gateway.activity), never proxied
    Route("/mp/v1/activity", "gateway", "member"),
    # staff
    Route("/admin/v1/session", "identity", "none"),
    Route("/admin/v1/staff", "identity", "staff"),
    Route("/admin/v1/members", "identity", "staff"),
    Route("/admin/v1/members/{member_no}/tags", "tagging", "staff"),
    Route("/admin/v1/members/{member_no}/notes", "tagging", "staff"),
    Route("/admin/v1/members/{member_no}/timeline", "tagging", "staff"),
    Route("/admin/v1/members/{member_no}/reach", "messaging", "staff"),
    Route("/admin/v1/members/{member_no}/registrations", "campaign", "staff"),
    Route("/admin/v1/series", "campaign", "staff"),
    Route("/admin/v1/periods", "campaign", "staff"),
    Route("/admin/v1/channels", "campaign", "staff"),
    Route("/admin/v1/communities", "campaign", "staff"),
    Route("/admin/v1/referrals", "campaign", "staff"),
    Route("/admin/v1/tag-groups", "tagging", "staff"),
    Route("/admin/v1/tags", "tagging", "staff"),
    Route("/admin/v1/tag-rules", "tagging", "staff"),
    Route("/admin/v1/segments", "tagging", "staff"),
    # tagging-service owns the blocklist (campaign keeps only its consumer of
    # tagging.member.blocked/unblocked).
    Route("/admin/v1/blocklist", "tagging", "staff"),
    Route("/admin/v1/service-records", "tagging", "staff"),
    Route("/admin/v1/message-purposes", "messaging", "staff"),
    Route("/admin/v1/broadcasts", "messaging", "staff"),
    Route("/admin/v1/messages", "messaging", "staff"),
    Route("/admin/v1/auto-replies", "messaging", "staff"),
    Route("/admin/v1/templates", "messaging", "staff"),
    Route("/admin/v1/metrics", "metrics", "staff"),
)


_Pick = Callable[[list[str]], tuple[str, ...]]
_Shape = tuple[_Pick, _Pick, dict[tuple[str, ...], Route]]


def _is_placeholder(segment: str) -> bool:
    return len(segment) > 2 and segment[0] == "{" and segment[-1] == "}"


class RoutingTable:
    """Precomputed lookup over a set of routes."""

    def __init__(self, routes: tuple[Route, ...]) -> None:
        self._plain: dict[str, Route] = {}
        # number of segments -> list of (placeholder positions, {literal segments: route})
        self._templates: dict[int, list[tuple[tuple[int, ...], dict[tuple[str, ...], Route]]]] = {}
        plain_lengths: set[int] = set()
        for route in routes:
            segments = route.prefix.split("/")
            if segments[0] != "" or any(segment == "" for segment in segments[1:]):
                raise ValueError(f"route prefix must be /-separated non-empty segments: {route.prefix!r}")
            holes = tuple(i for i, segment in enumerate(segments) if _is_placeholder(segment))
            if not holes:
                if route.prefix in self._plain:
                    raise ValueError(f"duplicate route {route.prefix!r}")
                self._plain[route.prefix] = route
                plain_lengths.add(len(segments))
                continue
            key = tuple(segment for i, segment in enumerate(segments) if i not in holes)
            shapes = self._templates.setdefault(len(segments), [])
            for shape_holes, by_key in shapes:
                if shape_holes == holes:
                    if key in by_key:
                        raise ValueError(f"duplicate route {route.prefix!r}")
                    by_key[key] = route
                    break
            else:
                shapes.append((holes, {key: route}))
        # Candidate lengths, longest first; per length whether plain routes
        # have it, and its template shapes as (literal picker, hole picker, routes).
        self._by_length: tuple[tuple[int, bool, tuple[_Shape, ...]], ...] = tuple(
            (
                length,
                length in plain_lengths,
                tuple(
                    (_getter([i for i in range(length) if i not in holes]), _getter(list(holes)), by_key)
                    for holes, by_key in self._templates.get(length, [])
                ),
            )
            for length in sorted(plain_lengths | set(self._templates), reverse=True)
        )

    def match(self, path: str) -> Route | None:
        """The route owning ``path``, if any (see the module docstring)."""
        segments = path.split("/")
        count = len(segments)
        plain = self._plain
        for length, has_plain, shapes in self._by_length:
            if length > count:
                continue
            for literals, holes, by_key in shapes:
                route = by_key.get(literals(segments))
                if route is not None and "" not in holes(segments):
                    return route
            if has_plain:
                route = plain.get("/".join(segments[:length]))
                if route is not None:
                    return route
        return None


def _getter(indices: list[int]) -> _Pick:
    """Pick the segments at ``indices`` as a tuple (also for one index)."""
    if len(indices) == 1:
        index = indices[0]
        return lambda items: (items[index],)
    return itemgetter(*indices)


TABLE = RoutingTable(ROUTES)


def match(path: str) -> Route | None:
    """The route owning ``path`` (segment-wise longest prefix, templates first at a tie), if any."""
    return TABLE.match(path)
