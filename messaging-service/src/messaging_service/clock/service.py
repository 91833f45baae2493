"""The service's notion of now: the shared test clock (moved by tests for every process at once)."""

from __future__ import annotations

from shared.clock import Clock

__all__ = ["Clock"]
