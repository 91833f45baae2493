"""Segment evaluation on Roaring bitmaps, in memory: 1,000,000 members, 10,000,000 member-tag rows.

What this measures is the part tagging keeps in memory: per-tag bitmaps over
member numbers (10001 …), the universe of members, and the set algebra of a
segment of two tags AND, one NOT and one materialised fact bitmap, plus the
first page. It does not go through the gateway or PostgreSQL (fact clauses are
materialised from PostgreSQL per clause and cached for a second; see
tagging-service/README.md). Beside it: the same selection with Python sets.

    .venv/bin/python bench/segments/run.py [--members 1000000] [--tags 20] [--runs 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from pyroaring import BitMap64


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(20261201)
    first = 10001
    universe = BitMap64(range(first, first + args.members))
    rows_per_tag = 10_000_000 // args.tags  # 10 M member-tag rows in all
    started = time.perf_counter()
    tags = [BitMap64(rng.sample(range(first, first + args.members), rows_per_tag)) for _ in range(args.tags)]
    fact = BitMap64(rng.sample(range(first, first + args.members), args.members // 3))
    built = time.perf_counter() - started
    size = sum(len(t.serialize()) for t in tags) + len(universe.serialize()) + len(fact.serialize())

    def roaring() -> tuple[int, list[int]]:
        result = (tags[0] & tags[1] & fact) - tags[2]
        return len(result), [result[i] for i in range(min(50, len(result)))]

    sets = [set(t) for t in tags[:3]]
    fact_set = set(fact)

    def python_sets() -> tuple[int, list[int]]:
        result = (sets[0] & sets[1] & fact_set) - sets[2]
        return len(result), sorted(result)[:50]

    assert roaring() == python_sets()
    table = []
    for name, fn, runs in (("roaring", roaring, args.runs), ("python sets", python_sets, max(5, args.runs // 20))):
        timings = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            timings.append((time.perf_counter() - t0) * 1000)
        table.append((name, statistics.median(timings), percentile(timings, 0.99)))
    print(f"members {args.members:,}, tags {args.tags} x {rows_per_tag:,} rows, built in {built:.1f} s")
    print(f"bitmap memory (serialised): {size / 1e6:.1f} MB for {args.tags + 2} bitmaps")
    print(f"{'evaluator':<14}{'p50 ms':>10}{'p99 ms':>10}")
    for name, p50, p99 in table:
        print(f"{name:<14}{p50:>10.2f}{p99:>10.2f}")


if __name__ == "__main__":
    main()
