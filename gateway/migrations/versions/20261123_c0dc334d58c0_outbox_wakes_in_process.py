"""outbox wakes in process

The outbox NOTIFY trigger serialised the commits of every writing
transaction; writers now wake their own relay, or NOTIFY explicitly when the
relay runs in another process.

Revision ID: c0dc334d58c0
Revises: 1b4f9521395e
Create Date: 2026-11-23 12:10:00
"""

from collections.abc import Sequence

from shared.migrations import drop_outbox_notify_trigger, restore_outbox_notify_trigger

revision: str = 'c0dc334d58c0'
down_revision: str | None = '1b4f9521395e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    drop_outbox_notify_trigger()


def downgrade() -> None:
    restore_outbox_notify_trigger()
