"""The broadcast's token bucket, on a simulated monotonic clock."""

from __future__ import annotations

import pytest

from messaging_service.broadcasts.pacing import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


async def _starts(bucket: TokenBucket, clock: FakeClock, count: int, work: float = 0.0) -> list[float]:
    times = []
    for _ in range(count):
        await bucket.take()
        times.append(clock.now)
        clock.now += work  # the caller's own time between two takes (starting the send)
    return times


async def test_sends_start_at_the_rate_over_the_run_and_every_window():
    clock = FakeClock()
    bucket = TokenBucket(500, clock=clock, sleep=clock.sleep)
    times = await _starts(bucket, clock, 10_000, work=0.0005)
    elapsed = times[-1] - times[0]
    assert (len(times) - 1) / elapsed == pytest.approx(500, rel=0.01)
    first = times[0]
    for begin in range(0, 19):
        inside = sum(1 for t in times if first + begin <= t < first + begin + 1)
        assert inside == pytest.approx(500, abs=2), begin


async def test_a_stall_is_made_up_by_one_burst_at_most():
    clock = FakeClock()
    bucket = TokenBucket(500, clock=clock, sleep=clock.sleep)
    await _starts(bucket, clock, 100)
    clock.now += 5.0  # a claim or a loaded core stalled the runner for 5 s
    stalled_at = clock.now
    times = await _starts(bucket, clock, 1000)
    # At most half a second's sends at once (the burst), then the rate again: no catching up on 2,500 missed.
    assert sum(1 for t in times if t == stalled_at) <= 251
    within_second = sum(1 for t in times if t < stalled_at + 1.0)
    assert within_second == pytest.approx(750, abs=5)


async def test_a_new_rate_applies_from_now():
    clock = FakeClock()
    bucket = TokenBucket(100, clock=clock, sleep=clock.sleep)
    await _starts(bucket, clock, 50)
    bucket.set_rate(20)
    times = await _starts(bucket, clock, 41)
    assert (times[-1] - times[1]) == pytest.approx(39 / 20, rel=0.02)


def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        TokenBucket(0)
