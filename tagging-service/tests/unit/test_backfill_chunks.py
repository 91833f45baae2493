"""Back-fill chunks: equal, at most ``CHUNK`` members, a multiple of ``PARALLEL`` of them when there is work."""

from __future__ import annotations

import math

import pytest

from tagging_service.rules.backfill import CHUNK, PARALLEL, chunk_size


@pytest.mark.parametrize("total", [1, 2, 5, 19_999, 20_000, 40_000, 40_001, 100_000, 1_000_000, 1_234_567])
def test_chunks_cover_every_member_evenly(total: int) -> None:
    size = chunk_size(total)
    starts = list(range(0, total, size))
    sizes = [min(start + size, total) - start for start in starts]
    assert sum(sizes) == total and size <= CHUNK
    # Both workers stay busy to the end: the number of chunks is a multiple of the workers (or all fit in one
    # round), and no chunk is much smaller than the others.
    assert len(sizes) % PARALLEL == 0 or len(sizes) < PARALLEL or max(sizes) - min(sizes) < math.ceil(total / 10)
    assert len(sizes) <= PARALLEL * math.ceil(total / (CHUNK * PARALLEL))


def test_a_hundred_thousand_members_run_in_six_chunks_not_five() -> None:
    assert chunk_size(100_000) == 16_667
    assert len(range(0, 100_000, chunk_size(100_000))) == 6
