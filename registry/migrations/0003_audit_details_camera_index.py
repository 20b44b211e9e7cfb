"""Index the audit log's details for "who looked at my cameras" (details @> {"camera_ids": [..]}).

The index is on portal's table but only the registry asks this question, so the registry owns it.
jsonb_path_ops answers @> containment and is smaller than the default jsonb_ops. fastupdate
stays on: a search names up to 500 cameras, and the pending list keeps that many index entries
off the search's own commit; autovacuum merges the list.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_audit_log_append_only"),
        ("registry", "0002_footage_requests"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX IF NOT EXISTS registry_audit_details_path_gin "
                "ON portal_auditevent USING gin (details jsonb_path_ops)"
            ),
            reverse_sql="DROP INDEX IF EXISTS registry_audit_details_path_gin",
        ),
    ]
