"""The system's notion of now, which tests may move for every process at once.

End-to-end tests play weeks in seconds: periods open, run and close, days
pass for metrics and tagging. Every process of a test system points
``QUNYUN_TEST_CLOCK_FILE`` at one small file holding an offset in seconds;
:class:`Clock` re-reads it when it changed (checked at most every
``RECHECK_SECONDS``), so all services and all their replicas agree on the
moved time. Without the setting (production refuses it) the offset is zero
and ``now()`` is the wall clock.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

RECHECK_SECONDS = 0.05


class Clock:
    """UTC now, shifted by the test offset shared through a file (if any)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path else None
        self._offset = timedelta(0)
        self._seen: float | None = None
        self._checked = 0.0

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC) + self.offset

    @property
    def offset(self) -> timedelta:
        """How far the clock stands from real time."""
        if self.path is not None and (checked := time.monotonic()) - self._checked >= RECHECK_SECONDS:
            self._checked = checked
            self._reload()
        return self._offset

    @offset.setter
    def offset(self, value: timedelta) -> None:
        self._offset = value
        if self.path is not None:
            # Written whole, then renamed: a reader never sees half a number.
            partial = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            partial.write_text(repr(value.total_seconds()))
            partial.replace(self.path)
            self._seen = self.path.stat().st_mtime_ns
            self._checked = time.monotonic()

    def set(self, moment: datetime | None) -> None:
        """Stand at ``moment`` (timezone-aware), or back at real time for ``None``."""
        self.offset = timedelta(0) if moment is None else moment - datetime.now(UTC)

    def _reload(self) -> None:
        assert self.path is not None
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            self._offset, self._seen = timedelta(0), None
            return
        if stamp != self._seen:
            try:
                self._offset = timedelta(seconds=float(self.path.read_text() or 0))
                self._seen = stamp
            except (OSError, ValueError):
                pass  # being replaced right now; the next check reads it
