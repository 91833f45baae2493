"""Event envelope, transactional outbox (``outbox.emit``), idempotent inbox and relay."""

from shared.events.envelope import Envelope

__all__ = ["Envelope"]
