"""routing in batches: a send routed at once writes no ``requested`` event when none is given

``messaging_send_many`` as in b7e2d4c8f1a3, except that the ``requested``
outbox row is written only when the caller passes one (``p_requested[n]`` not
NULL). A plain send routed when it is requested announces its outcome only
(``sent``, ``undeliverable``, ``failed``: each carries ``message_class``), one
outbox event per send instead of two for the relay, the broker and every
consumer of ``messaging.events``; a message that waits (held, scheduled, a
broadcast's) still announces ``requested`` first.

Revision ID: c4a9e1f7b2d6
Revises: b7e2d4c8f1a3
Create Date: 2026-12-01 23:10:00.000000
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = 'c4a9e1f7b2d6'
down_revision: str | None = 'b7e2d4c8f1a3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REQUESTED = """    INSERT INTO outbox (event_id, topic, key, type, envelope)
      VALUES ((p_requested[n]->>'event_id')::uuid, p_requested[n]->>'topic', p_requested[n]->>'key',
              p_requested[n]->>'type', jsonb_set(p_requested[n]->'envelope', '{data,message_id}', to_jsonb(v_id)));
"""


def _previous() -> str:
    # The function as revision b7e2d4c8f1a3 created it: this one differs only by the condition on the event.
    path = Path(__file__).with_name("20261201_b7e2d4c8f1a3_routing_in_batches.py")
    spec = importlib.util.spec_from_file_location("routing_in_batches", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sql = str(module.SEND_MANY)
    assert REQUESTED in sql
    return sql


CONDITIONAL = """    IF p_requested[n] IS NOT NULL THEN
      INSERT INTO outbox (event_id, topic, key, type, envelope)
        VALUES ((p_requested[n]->>'event_id')::uuid, p_requested[n]->>'topic', p_requested[n]->>'key',
                p_requested[n]->>'type', jsonb_set(p_requested[n]->'envelope', '{data,message_id}', to_jsonb(v_id)));
    END IF;
"""


def upgrade() -> None:
    op.execute(_previous().replace(REQUESTED, CONDITIONAL))


def downgrade() -> None:
    op.execute(_previous())
