"""routing in batches: messaging_send_many (PL/pgSQL)

Concurrent plain sends routed by one statement over arrays: one round trip and
one commit for many sends instead of one each. The rules are those of
``messaging_route`` (migration a3f9e6c2d1b7): the marketing gate, then each
channel judged in order, every reserve the same conditional UPDATE, so the
ledger stays exact under any concurrency. A new message's row is written once,
in the state routing left it (``sending`` or ``undeliverable``), not inserted
``queued`` and updated (one row version and one set of index entries fewer per
send). A key already recorded answers ``exists``; one recorded by a concurrent
transaction fails the statement (unique violation), and the caller retries the
batch one send at a time through ``messaging_send``.

A send's channels are one of the batch's plans (``p_plan``): rows of the
rectangular ``p_channels`` / ``p_templates`` / ``p_usable`` arrays, ``p_lens``
long, so sends of the same purpose and data share one.

Revision ID: b7e2d4c8f1a3
Revises: a3f9e6c2d1b7
Create Date: 2026-12-01 23:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'b7e2d4c8f1a3'
down_revision: str | None = 'a3f9e6c2d1b7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEND_MANY = r"""
CREATE OR REPLACE FUNCTION messaging_send_many(
  p_source text[], p_key text[], p_hash text[], p_member bigint[], p_purpose text[], p_class text[],
  p_data jsonb[], p_now timestamptz[], p_requested jsonb[], p_cap_day date[], p_cap int[],
  p_plan int[], p_lens int[], p_channels text[], p_templates text[], p_usable boolean[], p_event jsonb[])
RETURNS TABLE (r_n int, r_id bigint, r_status text, r_index int, r_openid text, r_interaction text,
               r_reason text, r_reasons jsonb)
LANGUAGE plpgsql AS $fn$
DECLARE
  w record;
  n int; k int; v_id bigint; v_member bigint; v_now timestamptz;
  v_mp text; v_oa text; v_following boolean; v_blocked boolean;
  v_reasons jsonb; v_skipped text[];
  v_i int; v_ok boolean; v_inter text; v_cap_date date; v_reason text; v_skip text; v_openid text;
  v_chosen int; v_channel text;
BEGIN
  FOR n IN 1 .. COALESCE(array_length(p_member, 1), 0) LOOP
    PERFORM 1 FROM messages WHERE source = p_source[n] AND idempotency_key = p_key[n];
    IF FOUND THEN
      RETURN QUERY SELECT n, NULL::bigint, 'exists'::text, NULL::int, NULL::text, NULL::text, NULL::text,
                          NULL::jsonb;
      CONTINUE;
    END IF;
    v_id := nextval('messages_id_seq');
    v_member := p_member[n];
    v_now := p_now[n];
    k := p_plan[n];
    v_reasons := '[]'::jsonb; v_skipped := '{}'::text[]; v_reason := NULL; v_cap_date := NULL;
    v_chosen := NULL; v_inter := NULL; v_openid := NULL; v_channel := NULL;
    SELECT (SELECT openid FROM openids WHERE member_no = v_member AND app = 'mp' ORDER BY updated_at DESC LIMIT 1),
           (SELECT openid FROM openids WHERE member_no = v_member AND app = 'oa'
            ORDER BY following DESC, updated_at DESC LIMIT 1),
           COALESCE((SELECT bool_or(following) FROM openids WHERE member_no = v_member AND app = 'oa'), false),
           EXISTS (SELECT 1 FROM blocked_members WHERE member_no = v_member)
      INTO v_mp, v_oa, v_following, v_blocked;
    IF p_class[n] = 'marketing' THEN
      IF v_blocked THEN
        v_reason := 'blocked';
      ELSIF p_cap[n] IS NULL OR p_cap[n] <= 0 THEN
        v_reason := 'frequency_capped';
      ELSE
        INSERT INTO daily_caps (member_no, local_date, used) VALUES (v_member, p_cap_day[n], 1)
          ON CONFLICT (member_no, local_date) DO UPDATE SET used = daily_caps.used + 1
          WHERE daily_caps.used < p_cap[n];
        IF FOUND THEN v_cap_date := p_cap_day[n]; ELSE v_reason := 'frequency_capped'; END IF;
      END IF;
    END IF;
    IF v_reason IS NULL THEN
      FOR v_i IN 1 .. p_lens[k] LOOP
        v_ok := false; v_inter := NULL; v_openid := v_oa; v_channel := p_channels[k][v_i];
        IF NOT p_usable[k][v_i] THEN
          v_skip := 'invalid_data';
        ELSIF v_channel = 'subscribe' THEN
          v_skip := 'no_credit'; v_openid := v_mp;
          IF v_mp IS NOT NULL THEN
            UPDATE subscribe_credits SET credits = credits - CASE WHEN long_term THEN 0 ELSE 1 END,
                updated_at = now()
              WHERE openid = v_mp AND template_id = p_templates[k][v_i] AND (long_term OR credits > 0);
            v_ok := FOUND;
          END IF;
        ELSIF v_oa IS NULL OR NOT v_following THEN
          v_skip := 'not_following';
        ELSIF v_channel = 'template' THEN
          v_ok := true;
        ELSE
          v_skip := 'window_closed';
          FOR w IN SELECT interaction FROM cs_windows WHERE openid = v_oa AND app = 'oa' AND expires_at > v_now
                     AND (lim IS NULL OR used < lim) ORDER BY (lim IS NOT NULL), expires_at LOOP
            UPDATE cs_windows SET used = used + 1
              WHERE openid = v_oa AND app = 'oa' AND interaction = w.interaction AND expires_at > v_now
                AND (lim IS NULL OR used < lim);
            IF FOUND THEN v_inter := w.interaction; v_ok := true; EXIT; END IF;
          END LOOP;
        END IF;
        IF v_ok THEN v_chosen := v_i; EXIT; END IF;
        v_reasons := v_reasons || to_jsonb(v_skip);
        v_skipped := v_skipped || v_skip;
      END LOOP;
      IF v_chosen IS NULL THEN v_reason := COALESCE(v_reasons->>0, 'no_credit'); END IF;
    END IF;
    IF v_chosen IS NULL AND v_cap_date IS NOT NULL THEN  -- nothing sent: the cap is given back
      UPDATE daily_caps SET used = GREATEST(used - 1, 0) WHERE member_no = v_member AND local_date = v_cap_date;
      v_cap_date := NULL;
    END IF;
    IF v_chosen IS NOT NULL THEN
      INSERT INTO messages (id, member_no, purpose, message_class, data, status, channel, template_id, openid,
                            source, idempotency_key, request_hash, requested_at, reasons, next_channel, cap_date,
                            quiet_deferred, updated_at)
        VALUES (v_id, v_member, p_purpose[n], p_class[n], p_data[n], 'sending', v_channel,
                CASE WHEN v_channel = 'custom' THEN NULL ELSE p_templates[k][v_chosen] END, v_openid,
                p_source[n], p_key[n], p_hash[n], v_now, v_reasons, v_chosen, v_cap_date, false, v_now);
    ELSE
      INSERT INTO messages (id, member_no, purpose, message_class, data, status, reason, source, idempotency_key,
                            request_hash, requested_at, reasons, next_channel, quiet_deferred, updated_at)
        VALUES (v_id, v_member, p_purpose[n], p_class[n], p_data[n], 'undeliverable', v_reason, p_source[n],
                p_key[n], p_hash[n], v_now, v_reasons, 0, false, v_now);
    END IF;
    INSERT INTO outbox (event_id, topic, key, type, envelope)
      VALUES ((p_requested[n]->>'event_id')::uuid, p_requested[n]->>'topic', p_requested[n]->>'key',
              p_requested[n]->>'type', jsonb_set(p_requested[n]->'envelope', '{data,message_id}', to_jsonb(v_id)));
    IF cardinality(v_skipped) > 0 THEN
      INSERT INTO message_attempts (message_id, channel, template_id, outcome, reason, at)
        SELECT v_id, p_channels[k][j], p_templates[k][j], 'skipped', v_skipped[j], v_now
        FROM generate_subscripts(v_skipped, 1) AS j;
    END IF;
    IF v_chosen IS NOT NULL THEN
      RETURN QUERY SELECT n, v_id, 'sending'::text, v_chosen - 1, v_openid, v_inter, NULL::text, v_reasons;
    ELSE
      INSERT INTO outbox (event_id, topic, key, type, envelope)
        VALUES ((p_event[n]->>'event_id')::uuid, p_event[n]->>'topic', p_event[n]->>'key', p_event[n]->>'type',
                jsonb_set(jsonb_set(jsonb_set(p_event[n]->'envelope', '{data,message_id}', to_jsonb(v_id)),
                                    '{data,reason}', to_jsonb(v_reason)), '{data,reasons}', v_reasons));
      RETURN QUERY SELECT n, v_id, 'undeliverable'::text, NULL::int, NULL::text, NULL::text, v_reason, v_reasons;
    END IF;
  END LOOP;
END
$fn$;
"""


def upgrade() -> None:
    op.execute(SEND_MANY)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS messaging_send_many(text[], text[], text[], bigint[], text[], text[], "
               "jsonb[], timestamptz[], jsonb[], date[], int[], int[], int[], text[], text[], boolean[], jsonb[])")
