import importlib

from django.db import migrations

# As portal/0007, except that an append which gets the lock at once keeps exactly the time
# Python sent (0007 added the few microseconds the lock call itself took, so a test's frozen
# clock no longer gave the frozen time); only a writer that really queued behind another
# transaction is stamped with the time it waited on top.
_previous = importlib.import_module("portal.migrations.0007_audit_append_at_under_the_lock")

APPEND = _previous.APPEND.replace(
    """    PERFORM pg_advisory_xact_lock(p_lock_key);
    o_at := p_at + (clock_timestamp() - v_entered);""",
    """    IF pg_try_advisory_xact_lock(p_lock_key) THEN
        o_at := p_at;
    ELSE
        PERFORM pg_advisory_xact_lock(p_lock_key);
        o_at := p_at + (clock_timestamp() - v_entered);
    END IF;""",
)
assert APPEND != _previous.APPEND


class Migration(migrations.Migration):
    dependencies = [("portal", "0007_audit_append_at_under_the_lock")]

    operations = [migrations.RunSQL(APPEND, _previous.APPEND)]
