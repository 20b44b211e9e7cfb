from django.db import migrations

# The database itself refuses to change or remove audit rows, whatever the application does.
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION canvass_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'portal_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_append_only
    BEFORE UPDATE OR DELETE ON portal_auditevent
    FOR EACH ROW EXECUTE FUNCTION canvass_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_append_only ON portal_auditevent;
DROP FUNCTION IF EXISTS canvass_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_platform_agencies_users_audit")]

    operations = [migrations.RunSQL(APPEND_ONLY, DROP)]
