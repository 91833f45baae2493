"""The system's notion of now, which tests may move for every process at once.

End-to-end tests play weeks in seconds: periods open, run and close, days
pass for metrics and tagging. Every process of a test system points
``QUNYUN_TEST_CLOCK_FILE`` at one small file holding an offset in seconds;
:class:`Clock` re-reads it at most every ``RECHECK_SECONDS``, so all
services and all their replicas agree on the moved time. A move is
therefore seen everywhere only ``SETTLE_SECONDS`` after it was written:
whoever moves the clock waits that long before acting at the new time
(the test-clock endpoint answers only then). Without the setting
(production refuses it) the offset is zero and ``now()`` is the wall clock.
"""

from __future__ import annotations

import contextlib
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

RECHECK_SECONDS = 0.05
# Longer than one recheck interval: a reader that checked just before a write reads it on its next now().
SETTLE_SECONDS = 2 * RECHECK_SECONDS


class Clock:
    """UTC now, shifted by the test offset shared through a file (if any)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path else None
        self._offset = timedelta(0)
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
            self._checked = time.monotonic()

    def set(self, moment: datetime | None) -> None:
        """Stand at ``moment`` (timezone-aware), or back at real time for ``None``."""
        self.offset = timedelta(0) if moment is None else moment - datetime.now(UTC)

    def _reload(self) -> None:
        # The content is read every time, not only when the mtime moved: two moves within the
        # file system's timestamp granularity (a few ms) share one mtime, and the second was missed.
        assert self.path is not None
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            self._offset = timedelta(0)
            return
        except OSError:
            return  # unreadable for a moment; the next check reads it
        # A hand-edited file that is no number keeps the last offset rather than stopping the clock.
        with contextlib.suppress(ValueError):
            self._offset = timedelta(seconds=float(text or 0))
