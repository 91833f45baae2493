"""routing as one statement: messaging_route / messaging_send (PL/pgSQL)

The hot path of a send (record the message, the marketing gate, each channel
judged and the first usable one reserved, the outbox rows) in one round trip
on the plain asyncpg pool. The rules are those of messages/dispatch.py; every
reserve stays a conditional UPDATE, so the ledger is exact under concurrency.
Anything out of the ordinary (a retry of an idempotent send, a message already
routed once, quiet hours) answers ``slow`` and takes the ORM path.

Revision ID: a3f9e6c2d1b7
Revises: 7d1c0e4b9a21
Create Date: 2026-12-01 13:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'a3f9e6c2d1b7'
down_revision: str | None = '7d1c0e4b9a21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROUTE = r"""
CREATE OR REPLACE FUNCTION messaging_route(
  p_id bigint, p_now timestamptz, p_cap_day date, p_cap int,
  p_channels text[], p_templates text[], p_usable boolean[], p_event jsonb)
RETURNS TABLE (r_status text, r_index int, r_openid text, r_interaction text, r_reason text, r_reasons jsonb)
LANGUAGE plpgsql AS $fn$
DECLARE
  m record;
  w record;
  v_mp text; v_oa text; v_following boolean; v_blocked boolean;
  v_reasons jsonb := '[]'::jsonb;
  v_i int; v_ok boolean; v_inter text; v_cap_date date; v_reason text; v_skip text; v_openid text;
  v_env jsonb;
BEGIN
  SELECT id, member_no, status, message_class, cap_date, next_channel, reasons, quiet_deferred
    INTO m FROM messages WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR m.status <> 'queued' OR m.cap_date IS NOT NULL OR m.next_channel <> 0
     OR m.reasons <> '[]'::jsonb OR m.quiet_deferred THEN
    RETURN QUERY SELECT 'slow'::text, NULL::int, NULL::text, NULL::text, NULL::text, NULL::jsonb;
    RETURN;
  END IF;
  SELECT (SELECT openid FROM openids WHERE member_no = m.member_no AND app = 'mp' ORDER BY updated_at DESC LIMIT 1),
         (SELECT openid FROM openids WHERE member_no = m.member_no AND app = 'oa'
          ORDER BY following DESC, updated_at DESC LIMIT 1),
         COALESCE((SELECT bool_or(following) FROM openids WHERE member_no = m.member_no AND app = 'oa'), false),
         EXISTS (SELECT 1 FROM blocked_members WHERE member_no = m.member_no)
    INTO v_mp, v_oa, v_following, v_blocked;
  IF m.message_class = 'marketing' THEN
    IF v_blocked THEN
      v_reason := 'blocked';
    ELSIF p_cap IS NULL OR p_cap <= 0 THEN
      v_reason := 'frequency_capped';
    ELSE
      INSERT INTO daily_caps (member_no, local_date, used) VALUES (m.member_no, p_cap_day, 1)
        ON CONFLICT (member_no, local_date) DO UPDATE SET used = daily_caps.used + 1
        WHERE daily_caps.used < p_cap;
      IF FOUND THEN v_cap_date := p_cap_day; ELSE v_reason := 'frequency_capped'; END IF;
    END IF;
  END IF;
  IF v_reason IS NULL THEN
    FOR v_i IN 1 .. COALESCE(array_length(p_channels, 1), 0) LOOP
      v_ok := false; v_inter := NULL; v_openid := v_oa;
      IF NOT p_usable[v_i] THEN
        v_skip := 'invalid_data';
      ELSIF p_channels[v_i] = 'subscribe' THEN
        v_skip := 'no_credit'; v_openid := v_mp;
        IF v_mp IS NOT NULL THEN
          UPDATE subscribe_credits SET credits = credits - CASE WHEN long_term THEN 0 ELSE 1 END, updated_at = now()
            WHERE openid = v_mp AND template_id = p_templates[v_i] AND (long_term OR credits > 0);
          v_ok := FOUND;
        END IF;
      ELSIF v_oa IS NULL OR NOT v_following THEN
        v_skip := 'not_following';
      ELSIF p_channels[v_i] = 'template' THEN
        v_ok := true;
      ELSE
        v_skip := 'window_closed';
        FOR w IN SELECT interaction FROM cs_windows WHERE openid = v_oa AND app = 'oa' AND expires_at > p_now
                   AND (lim IS NULL OR used < lim) ORDER BY (lim IS NOT NULL), expires_at LOOP
          UPDATE cs_windows SET used = used + 1
            WHERE openid = v_oa AND app = 'oa' AND interaction = w.interaction AND expires_at > p_now
              AND (lim IS NULL OR used < lim);
          IF FOUND THEN v_inter := w.interaction; v_ok := true; EXIT; END IF;
        END LOOP;
      END IF;
      IF v_ok THEN
        UPDATE messages SET status = 'sending', channel = p_channels[v_i],
            template_id = CASE WHEN p_channels[v_i] = 'custom' THEN NULL ELSE p_templates[v_i] END,
            openid = v_openid, next_channel = v_i, cap_date = v_cap_date, reasons = v_reasons, updated_at = p_now
          WHERE id = p_id;
        RETURN QUERY SELECT 'sending'::text, v_i - 1, v_openid, v_inter, NULL::text, v_reasons;
        RETURN;
      END IF;
      v_reasons := v_reasons || to_jsonb(v_skip);
      INSERT INTO message_attempts (message_id, channel, template_id, outcome, reason, at)
        VALUES (p_id, p_channels[v_i], p_templates[v_i], 'skipped', v_skip, p_now);
    END LOOP;
    v_reason := COALESCE(v_reasons->>0, 'no_credit');
  END IF;
  IF v_cap_date IS NOT NULL THEN
    UPDATE daily_caps SET used = GREATEST(used - 1, 0) WHERE member_no = m.member_no AND local_date = v_cap_date;
  END IF;
  UPDATE messages SET status = 'undeliverable', reason = v_reason, reasons = v_reasons, cap_date = NULL,
      updated_at = p_now
    WHERE id = p_id;
  v_env := jsonb_set(jsonb_set(jsonb_set(p_event->'envelope', '{data,message_id}', to_jsonb(p_id)),
                               '{data,reason}', to_jsonb(v_reason)), '{data,reasons}', v_reasons);
  INSERT INTO outbox (event_id, topic, key, type, envelope)
    VALUES ((p_event->>'event_id')::uuid, p_event->>'topic', p_event->>'key', p_event->>'type', v_env);
  RETURN QUERY SELECT 'undeliverable'::text, NULL::int, NULL::text, NULL::text, v_reason, v_reasons;
END
$fn$;
"""

SEND = r"""
CREATE OR REPLACE FUNCTION messaging_send(
  p_source text, p_key text, p_hash text, p_member bigint, p_purpose text, p_class text, p_data jsonb,
  p_now timestamptz, p_requested jsonb,
  p_cap_day date, p_cap int, p_channels text[], p_templates text[], p_usable boolean[], p_event jsonb)
RETURNS TABLE (r_id bigint, r_status text, r_index int, r_openid text, r_interaction text, r_reason text,
               r_reasons jsonb)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_id bigint;
BEGIN
  INSERT INTO messages (member_no, purpose, message_class, data, status, source, idempotency_key, request_hash,
                        requested_at, reasons, next_channel, quiet_deferred, updated_at)
    VALUES (p_member, p_purpose, p_class, p_data, 'queued', p_source, p_key, p_hash, p_now, '[]'::jsonb, 0, false,
            p_now)
    ON CONFLICT (source, idempotency_key) DO NOTHING
    RETURNING id INTO v_id;
  IF v_id IS NULL THEN
    RETURN QUERY SELECT NULL::bigint, 'exists'::text, NULL::int, NULL::text, NULL::text, NULL::text, NULL::jsonb;
    RETURN;
  END IF;
  INSERT INTO outbox (event_id, topic, key, type, envelope)
    VALUES ((p_requested->>'event_id')::uuid, p_requested->>'topic', p_requested->>'key', p_requested->>'type',
            jsonb_set(p_requested->'envelope', '{data,message_id}', to_jsonb(v_id)));
  RETURN QUERY SELECT v_id, r.* FROM messaging_route(v_id, p_now, p_cap_day, p_cap, p_channels, p_templates,
                                                     p_usable, p_event) r;
END
$fn$;
"""


def upgrade() -> None:
    op.execute(ROUTE)
    op.execute(SEND)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS messaging_send(text, text, text, bigint, text, text, jsonb, timestamptz, "
               "jsonb, date, int, text[], text[], boolean[], jsonb)")
    op.execute("DROP FUNCTION IF EXISTS messaging_route(bigint, timestamptz, date, int, text[], text[], boolean[], "
               "jsonb)")
