"""The two database roles: the owner of the tables, which `migrate` connects as, and the app's
role, which owns nothing and is granted only what the app does.

The app role gets SELECT, INSERT, UPDATE and DELETE on every table and may use the sequences,
but on the audit log (portal_auditevent) only SELECT and INSERT. It owns no table, so it
cannot ALTER one, disable a trigger (the audit log's append-only trigger included) or
TRUNCATE: PostgreSQL keeps those to the owner. The grants are given again after every
`migrate`, so tables that later migrations create are covered too.
"""

import contextlib

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")
AUDIT_TABLE = "portal_auditevent"
# The published checkpoints of the chain: the app writes one a day and never changes one.
CHECKPOINT_TABLE = "portal_auditcheckpoint"


def app_role() -> str:
    """The role the app connects as (DATABASE_URL's user), as configured."""
    return settings.DATABASE_APP_ROLE


def single_role() -> bool:
    """Whether the app runs as the role that owns the tables (DATABASE_OWNER_URL unset)."""
    owner = settings.DATABASE_OWNER
    return (owner.get("USER") or "") == app_role()


@contextlib.contextmanager
def connected_as_owner(alias: str = "default"):
    """Within, the connection `alias` logs in as the owner role (same database name)."""
    connection = connections[alias]
    saved = {field: connection.settings_dict.get(field) for field in _CREDENTIALS}
    wanted = {field: settings.DATABASE_OWNER.get(field) for field in _CREDENTIALS}
    if alias != "default" or saved == wanted:
        yield connection
        return
    connection.close()
    connection.settings_dict.update(wanted)
    try:
        yield connection
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def app_role_grants(
    *, role: str, schema: str, audit_table: bool = True, checkpoint_table: bool = True
) -> list[str]:
    """The statements granting the app role (both names already quoted) what it may do;
    scripts/ensure_db.py gives them too, to a database that an older Canvass migrated."""
    statements = [
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
    ]
    append_only = [AUDIT_TABLE] * audit_table + [CHECKPOINT_TABLE] * checkpoint_table
    statements.extend(
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {table} FROM {role}"
        for table in append_only
    )
    return statements


def app_role_grant(*, using: str = "default") -> bool:
    """Grant the app role its privileges on every table, the audit log append-only; False
    when there is no separate app role (one role runs everything)."""
    connection = connections[using]
    role = app_role()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        if not role or cursor.fetchone()[0] == role:
            return False
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            raise ImproperlyConfigured(
                f"The app's database role {role!r} (DATABASE_URL) does not exist: create it "
                f"(CREATE ROLE {role} LOGIN PASSWORD '...'; scripts/setup.sh does it locally)."
            )
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
        quote = connection.ops.quote_name
        for statement in app_role_grants(role=quote(role), schema=quote(schema)):
            cursor.execute(statement)
    return True


def grant_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate receiver: once per `migrate` (on the portal app's signal), as the owner."""
    if sender.name == "portal":
        app_role_grant(using=using)


def single_role_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """`check --deploy`: warn when the app connects as the owner of the tables."""
    if not single_role():
        return []
    return [
        checks.Warning(
            "The app connects to the database as the role that owns the tables, so it could "
            "disable the audit log's trigger or TRUNCATE it.",
            hint="Set DATABASE_OWNER_URL to the owner role and DATABASE_URL to a role that "
            "owns nothing (README, 'Database roles').",
            id="canvass.W001",
        )
    ]
