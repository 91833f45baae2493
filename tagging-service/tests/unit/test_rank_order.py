"""A ranked page walked from the pre-ordered fact equals sorting the segment by its values."""

from __future__ import annotations

import array
import random

import pytest
from pyroaring import BitMap64

from tagging_service.segments.ranking import RankOrder


def order_of(values: dict[int, float], direction: str) -> RankOrder:
    """What read_order builds from PostgreSQL's ordered aggregate."""
    sign = -1 if direction == "desc" else 1
    ordered = sorted(values.items(), key=lambda kv: (sign * kv[1], kv[0]))
    vs = [v for _, v in ordered]
    lead_end = next((i for i, v in enumerate(vs) if not (v > 0 if direction == "desc" else v < 0)), len(vs))
    tail_start = next((i for i in range(lead_end, len(vs)) if vs[i] != 0), len(vs))
    return RankOrder(
        members=array.array("Q", [m for m, _ in ordered]), values=array.array("d", vs),
        nonzero=BitMap64(m for m, v in values.items() if v != 0), lead_end=lead_end, tail_start=tail_start,
        version=0, read_at=0.0, checked_at=0.0, version_seen_at=0.0,
    )


@pytest.mark.parametrize("direction", ["desc", "asc"])
@pytest.mark.parametrize("seed", range(5))
def test_walk_equals_sorting_the_segment(direction: str, seed: int) -> None:
    rng = random.Random(seed)
    universe = range(10001, 13001)
    # Some members without a value (count as 0), some with 0, negatives and positives with ties.
    values = {m: rng.choice([0.0, 1.0, 2.0, 0.25, -1.0, 3.5]) for m in universe if rng.random() < 0.7}
    segment = BitMap64(m for m in universe if rng.random() < 0.4)
    sign = -1 if direction == "desc" else 1
    expected = sorted(((m, values.get(m, 0.0)) for m in segment), key=lambda r: (sign * r[1], r[0]))
    order = order_of(values, direction)
    assert list(order.walk(segment)) == expected
    for offset, limit in ((0, 50), (37, 10), (len(expected) - 5, 50), (len(expected) + 3, 5)):
        assert order.page(segment, offset, limit) == expected[offset:offset + limit]
