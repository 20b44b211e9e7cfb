"""The database itself refuses to change an original's SHA-256, size or storage key once set.

Application code already never does; this makes it true for a raw SQL session, a bad migration
or a future bug too. An unset SHA-256 ('' or NULL, before the pipeline hashes the original)
may be set once; size and storage key are set when the item is created.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION evidence_original_immutable() RETURNS trigger AS $$
BEGIN
    IF COALESCE(OLD.sha256, '') <> '' AND NEW.sha256 IS DISTINCT FROM OLD.sha256 THEN
        RAISE EXCEPTION 'evidence item %: sha256 of an original cannot change once set', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.size IS NOT NULL AND NEW.size IS DISTINCT FROM OLD.size THEN
        RAISE EXCEPTION 'evidence item %: size of an original cannot change once set', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF COALESCE(OLD.original_key, '') <> ''
            AND NEW.original_key IS DISTINCT FROM OLD.original_key THEN
        RAISE EXCEPTION 'evidence item %: storage key of an original cannot change once set',
            OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER evidence_original_immutable
    BEFORE UPDATE OF sha256, size, original_key ON evidence_evidenceitem
    FOR EACH ROW EXECUTE FUNCTION evidence_original_immutable();
"""

REVERSE = """
DROP TRIGGER IF EXISTS evidence_original_immutable ON evidence_evidenceitem;
DROP FUNCTION IF EXISTS evidence_original_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0004_evidence_item_c2pa_provenance"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
