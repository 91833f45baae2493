"""The shared test clock: a move is read by every process once it settled, however quick the moves."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.clock import SETTLE_SECONDS, Clock


def test_a_reader_that_just_checked_reads_a_move_once_it_settled(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    reader, writer = Clock(path), Clock(path)
    assert reader.offset == timedelta(0)  # checked now: the next check is a recheck interval away
    ahead = datetime.now(UTC) + timedelta(days=250)
    writer.set(ahead)
    time.sleep(SETTLE_SECONDS)
    assert abs(reader.now() - ahead) < timedelta(seconds=5)


def test_a_move_is_read_even_when_the_file_keeps_its_mtime(tmp_path: Path) -> None:
    # File systems stamp mtimes with a coarse clock: two moves a few ms apart can share one mtime.
    path = tmp_path / "clock"
    reader, writer = Clock(path), Clock(path)
    writer.offset = timedelta(days=1)
    time.sleep(SETTLE_SECONDS)
    assert reader.offset == timedelta(days=1)
    stamp = path.stat().st_mtime_ns
    writer.offset = timedelta(days=2)
    os.utime(path, ns=(stamp, stamp))  # the second move within the same timestamp tick
    time.sleep(SETTLE_SECONDS)
    assert reader.offset == timedelta(days=2)
    writer.set(None)
    time.sleep(SETTLE_SECONDS)
    assert reader.offset == timedelta(0)


def test_without_a_file_the_clock_is_the_wall_clock(tmp_path: Path) -> None:
    assert abs(Clock(None).now() - datetime.now(UTC)) < timedelta(seconds=1)
    assert Clock(tmp_path / "never-written").offset == timedelta(0)
