import importlib

from django.db import migrations

# The append's `at` is taken under the append lock, as it was before portal/0006: the time
# Python sends (its clock, so a test's travelled clock still holds) plus however long the
# call waited for the lock. A writer that queued behind a long transaction no longer gets a
# time from before the rows ahead of it: `at` keeps to seq order, which the checkpoints'
# head_at, the transparency months and the audit pages and exports take for granted.
# The row's canonical JSON comes in three parts, around the time and around the seq; the time
# is formatted as the verifier formats the stored column (portal.audit._VERIFY_COLUMNS).
APPEND = """
CREATE OR REPLACE FUNCTION canvass_audit_append(
    p_lock_key bigint, p_head text, p_mid text, p_tail text,
    p_at timestamptz, p_actor_id bigint, p_actor_label text, p_actor_role text,
    p_actor_agency text, p_agency_id bigint, p_action text, p_target_type text,
    p_target_id text, p_reason text, p_case_ref text, p_request_id text, p_outcome text,
    p_details jsonb,
    OUT o_id bigint, OUT o_seq bigint, OUT o_prev_hash text, OUT o_hash text,
    OUT o_at timestamptz
) RETURNS record
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_entered timestamptz := clock_timestamp();
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock_key);
    o_at := p_at + (clock_timestamp() - v_entered);
    SELECT e.seq, e.hash INTO o_seq, o_prev_hash
        FROM portal_auditevent e ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        o_seq := 0;
        o_prev_hash := repeat('0', 64);
    END IF;
    o_seq := o_seq + 1;
    o_hash := encode(
        sha256(convert_to(
            p_head || to_char(o_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
            || p_mid || o_seq::text || p_tail || '|' || o_prev_hash,
            'UTF8'
        )),
        'hex'
    );
    INSERT INTO portal_auditevent (
        seq, at, actor_id, actor_label, actor_role, actor_agency, agency_id, action,
        target_type, target_id, reason, case_ref, request_id, outcome, details, prev_hash, hash
    ) VALUES (
        o_seq, o_at, p_actor_id, p_actor_label, p_actor_role, p_actor_agency, p_agency_id,
        p_action, p_target_type, p_target_id, p_reason, p_case_ref, p_request_id, p_outcome,
        p_details, o_prev_hash, o_hash
    ) RETURNING id INTO o_id;
END;
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS canvass_audit_append(
    bigint, text, text, text, timestamptz, bigint, text, text, text, bigint, text, text, text,
    text, text, text, text, jsonb
);
"""

_previous = importlib.import_module("portal.migrations.0006_audit_append_function")


class Migration(migrations.Migration):
    dependencies = [("portal", "0006_audit_append_function")]

    operations = [
        migrations.RunSQL(_previous.DROP, _previous.APPEND),
        migrations.RunSQL(APPEND, DROP),
    ]
