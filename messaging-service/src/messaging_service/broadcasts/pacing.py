"""A token bucket on the monotonic clock: a broadcast's sends start at its rate, whatever they take to finish."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

# Half a second of sends may be saved up: a process starved of a core for a while (a loaded machine) makes up that
# much at once, which moves a 10-s window by 5 % at most; a longer stall is lost, never caught up with a burst.
BURST_SECONDS = 0.5


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; :meth:`take` waits for the next one.

    Sends are started as tokens come, not on an absolute schedule: a stall
    (a slow claim, a loaded core) is made up by at most ``burst`` sends at once,
    never by a run of sends above the rate, so every window of the run stays
    near the rate and the whole run does too. The clock and the sleep are
    parameters for the unit tests.
    """

    def __init__(
        self, rate: float, *, burst: float | None = None, clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate * BURST_SECONDS)
        self._clock, self._sleep = clock, sleep
        self._tokens = 1.0
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    async def take(self) -> None:
        """Wait until a token is there, and take it."""
        self._refill()
        # A token within rounding counts (a sleep shorter than the clock's resolution would never end).
        while self._tokens < 1.0 - 1e-6:
            await self._sleep(max((1.0 - self._tokens) / self.rate, 1e-4))
            self._refill()
        self._tokens = max(0.0, self._tokens - 1.0)

    def set_rate(self, rate: float) -> None:
        """A new rate from now on (staff changed it); tokens saved so far are kept, within the new burst."""
        self._refill()
        self.rate = rate
        self.burst = max(1.0, rate * BURST_SECONDS)
        self._tokens = min(self._tokens, self.burst)
