from django.db import migrations

# The audit append in one round trip (portal.audit.audit_record): take the append lock, read
# the chain's last row, hash and insert the next one. The caller sends the row's canonical JSON
# as the text before and after its seq (the only field it cannot know), so the hash covers
# exactly the bytes portal.audit.canonical_json gives. A VOLATILE function takes a fresh
# snapshot for each statement, so the last row is read after the lock is held: the previous
# holder's row is committed and visible by then. The lock is held until the caller's
# transaction ends, as before.
APPEND = """
CREATE OR REPLACE FUNCTION canvass_audit_append(
    p_lock_key bigint, p_head text, p_tail text,
    p_at timestamptz, p_actor_id bigint, p_actor_label text, p_actor_role text,
    p_actor_agency text, p_agency_id bigint, p_action text, p_target_type text,
    p_target_id text, p_reason text, p_case_ref text, p_request_id text, p_outcome text,
    p_details jsonb,
    OUT o_id bigint, OUT o_seq bigint, OUT o_prev_hash text, OUT o_hash text
) RETURNS record
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock_key);
    SELECT e.seq, e.hash INTO o_seq, o_prev_hash
        FROM portal_auditevent e ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        o_seq := 0;
        o_prev_hash := repeat('0', 64);
    END IF;
    o_seq := o_seq + 1;
    o_hash := encode(
        sha256(convert_to(p_head || o_seq::text || p_tail || '|' || o_prev_hash, 'UTF8')), 'hex'
    );
    INSERT INTO portal_auditevent (
        seq, at, actor_id, actor_label, actor_role, actor_agency, agency_id, action,
        target_type, target_id, reason, case_ref, request_id, outcome, details, prev_hash, hash
    ) VALUES (
        o_seq, p_at, p_actor_id, p_actor_label, p_actor_role, p_actor_agency, p_agency_id,
        p_action, p_target_type, p_target_id, p_reason, p_case_ref, p_request_id, p_outcome,
        p_details, o_prev_hash, o_hash
    ) RETURNING id INTO o_id;
END;
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS canvass_audit_append(
    bigint, text, text, timestamptz, bigint, text, text, text, bigint, text, text, text, text,
    text, text, text, jsonb
);
"""


class Migration(migrations.Migration):
    dependencies = [("portal", "0005_role_community_reviewer")]

    operations = [migrations.RunSQL(APPEND, DROP)]
