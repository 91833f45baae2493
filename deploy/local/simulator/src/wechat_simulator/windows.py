"""Customer-service windows: which interaction allows how many sends for how long."""

from __future__ import annotations

from typing import Literal

from wechat_simulator.state import App, Person, Window

Interaction = Literal["message", "event", "payment", "session"]

HOUR = 3600.0
# (sends allowed or None for unlimited, seconds) per interaction, per docs/wechat.md.
RULES: dict[App, dict[Interaction, tuple[int | None, float]]] = {
    "oa": {
        "message": (5, 48 * HOUR),  # a user message
        "event": (3, 60.0),  # a menu click, a follow, a QR scan
        "payment": (None, 48 * HOUR),  # older rule: 20 per 48 h
    },
    "mp": {
        "message": (5, 48 * HOUR),
        "session": (2, 60.0),  # entering the customer-service session
    },
}


def open_window(person: Person, app: App, interaction: Interaction, now: float) -> None:
    """Record an interaction; a newer one of the same kind replaces the older window."""
    rule = RULES[app].get(interaction)
    if rule is None:
        return
    limit, duration = rule
    person.windows[app][interaction] = Window(opened_at=now, duration=duration, limit=limit)


def close_windows(person: Person, app: App) -> None:
    """Forget every window of ``app`` (the user unfollowed)."""
    person.windows[app].clear()


def consume(person: Person, app: App, now: float) -> int:
    """Use one send; returns 0, or 45015 (no open window) / 45047 (window used up)."""
    active = [w for w in person.windows[app].values() if now < w.opened_at + w.duration]
    if not active:
        return 45015
    usable = [w for w in active if w.limit is None or w.used < w.limit]
    if not usable:
        return 45047
    # Prefer unlimited windows, then the one that closes first, so no allowance is wasted.
    usable.sort(key=lambda w: (w.limit is not None, w.opened_at + w.duration))
    usable[0].used += 1
    return 0
