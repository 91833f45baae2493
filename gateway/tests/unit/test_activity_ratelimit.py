"""The per-member token bucket of activity items."""

from gateway.activity.ratelimit import ItemRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_minute_of_burst_then_the_rate():
    clock = Clock()
    limiter = ItemRateLimiter(600, clock=clock)
    assert limiter.take(1, 600) == 0
    wait = limiter.take(1, 20)
    assert wait == 2.0 and ItemRateLimiter.retry_after(wait) == "2"
    # a refused take costs nothing
    clock.now += 2.0
    assert limiter.take(1, 20) == 0
    assert limiter.take(1, 1) > 0
    # another member has a bucket of their own
    assert limiter.take(2, 100) == 0


def test_a_batch_larger_than_the_bucket_costs_a_full_bucket():
    clock = Clock()
    limiter = ItemRateLimiter(60, clock=clock)
    assert limiter.take(1, 100) == 0
    assert limiter.take(1, 1) == 1.0
    clock.now += 60
    assert limiter.take(1, 100) == 0


def test_zero_turns_it_off_and_full_buckets_are_swept():
    assert ItemRateLimiter(0).take(1, 10_000) == 0
    clock = Clock()
    limiter = ItemRateLimiter(600, clock=clock)
    limiter.SWEEP_AT = 3
    for member in range(3):
        limiter.take(member, 1)
    clock.now += 10
    limiter.take(99, 1)
    assert set(limiter._buckets) == {99}
    assert ItemRateLimiter.retry_after(0.01) == "1"
