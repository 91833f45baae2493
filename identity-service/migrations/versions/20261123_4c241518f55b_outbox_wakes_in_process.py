"""outbox wakes in process

The outbox NOTIFY trigger serialised the commits of every writing
transaction; writers now wake their own relay, or NOTIFY explicitly when the
relay runs in another process.

Revision ID: 4c241518f55b
Revises: 3bbd4a2b1415
Create Date: 2026-11-23 12:10:00
"""

from collections.abc import Sequence

from shared.migrations import drop_outbox_notify_trigger, restore_outbox_notify_trigger

revision: str = '4c241518f55b'
down_revision: str | None = '3bbd4a2b1415'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    drop_outbox_notify_trigger()


def downgrade() -> None:
    restore_outbox_notify_trigger()
