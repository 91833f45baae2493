"""Judging every member's value at once agrees with judging each one (``compare``), for every operator."""

from __future__ import annotations

import random

import pytest

from tagging_service.segments.facts import compare, matching


@pytest.mark.parametrize("op", ["gte", "gt", "lte", "lt", "eq"])
def test_matching_is_compare_for_each_member(op: str) -> None:
    rng = random.Random(7)
    # Values on and around the target (and within eq's tolerance) as well as far from it.
    target = 0.5
    values = {10000 + i: rng.choice([target, target + 1e-10, target - 1e-10, target + 0.1, 0.0, rng.random()])
              for i in range(2_000)}
    assert matching(values, op, target) == [m for m, v in values.items() if compare(v, op, target)]
