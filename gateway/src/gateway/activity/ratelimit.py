"""Per-member rate limit of activity items: a token bucket in this process.

Each member's bucket holds at most ``per_minute`` items and refills at
``per_minute / 60`` items per second, so a member may send a burst of a
minute's worth and then that rate on average. The state is in-process: with
several gateway processes behind a balancer each enforces the limit on its own
(the effective limit is then up to N times the setting), and a restart forgets
it. That is enough to stop a runaway client; it is not an accounting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class ItemRateLimiter:
    """Token buckets by member number."""

    # Buckets beyond this count are swept (full ones dropped) before adding more.
    SWEEP_AT = 50_000

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}

    def take(self, member_no: int, items: int) -> float:
        """Take ``items`` tokens; 0 when allowed, else the seconds to wait (nothing is taken)."""
        if self.capacity <= 0:
            return 0.0
        now = self._clock()
        tokens, last = self._buckets.get(member_no, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        # A batch larger than the whole bucket could never pass: it costs a full bucket.
        cost = min(float(items), self.capacity)
        if tokens < cost:
            self._buckets[member_no] = (tokens, now)
            return (cost - tokens) / self.rate
        if member_no not in self._buckets and len(self._buckets) >= self.SWEEP_AT:
            self._sweep(now)
        self._buckets[member_no] = (tokens - cost, now)
        return 0.0

    @staticmethod
    def retry_after(seconds: float) -> str:
        """A Retry-After header value (whole seconds, at least 1)."""
        return str(max(1, math.ceil(seconds)))

    def _sweep(self, now: float) -> None:
        full = [
            member for member, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate >= self.capacity
        ]
        for member in full:
            del self._buckets[member]
