"""The app's database role owns nothing: over a real connection as that role, it cannot
disable the audit log's trigger, alter the table, TRUNCATE it, or change its rows, while it
does everything the app does (the daily checkpoint and the chain's check run as it here)."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from portal import audit_actions as actions
from portal.audit import audit_record
from portal.dbroles import single_role
from tests.factories import AgencyFactory

ROOT = Path(__file__).resolve().parents[2]


def _as_app_role(**kwargs):
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        dbname=db["NAME"],
        user=settings.DATABASE_APP_ROLE,
        autocommit=True,
        **kwargs,
    )


@pytest.fixture
def app_conn(db):
    assert not single_role(), "the tests expect the two roles of a default setup"
    with _as_app_role() as conn:
        yield conn


def test_the_tests_own_connection_is_the_owner_and_the_app_role_another():
    role = settings.DATABASE_APP_ROLE
    assert role and connection.settings_dict["USER"] == settings.DATABASE_OWNER["USER"] != role


def test_the_app_role_owns_nothing_and_is_no_superuser(app_conn):
    role = settings.DATABASE_APP_ROLE
    row = app_conn.execute(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
        "WHERE rolname = %s",
        [role],
    ).fetchone()
    assert row == (False, False, False, False)
    owned = app_conn.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
        "WHERE r.rolname = %s",
        [role],
    ).fetchone()[0]
    assert owned == 0
    assert app_conn.execute(
        "SELECT pg_get_userbyid(datdba) <> %s FROM pg_database WHERE datname = current_database()",
        [role],
    ).fetchone()[0]
    assert app_conn.execute(
        "SELECT pg_get_userbyid(nspowner) <> %s FROM pg_namespace WHERE nspname = 'public'",
        [role],
    ).fetchone()[0]


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE portal_auditevent DISABLE TRIGGER audit_append_only",
        "ALTER TABLE portal_auditevent DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_append_only ON portal_auditevent",
        "ALTER TABLE portal_auditevent ADD COLUMN note text",
        "ALTER TABLE portal_auditevent OWNER TO CURRENT_USER",
        "DROP TABLE portal_auditevent",
        "CREATE OR REPLACE FUNCTION canvass_audit_append_only() RETURNS trigger "
        "AS $$ BEGIN RETURN NULL; END; $$ LANGUAGE plpgsql",
    ],
)
def test_the_app_role_cannot_disable_the_trigger_or_alter_the_audit_table(app_conn, sql):
    with pytest.raises(
        psycopg.errors.InsufficientPrivilege, match="must be owner|permission denied"
    ):
        app_conn.execute(sql)


def test_the_app_role_cannot_truncate_the_audit_table(app_conn):
    with pytest.raises(
        psycopg.errors.InsufficientPrivilege, match="permission denied for table portal_auditevent"
    ):
        app_conn.execute("TRUNCATE portal_auditevent")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        app_conn.execute("TRUNCATE portal_auditevent, portal_agency, portal_user CASCADE")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE portal_auditevent SET reason = 'x'",
        "DELETE FROM portal_auditevent",
        # A published checkpoint cannot be quietly changed or taken back either.
        "UPDATE portal_auditcheckpoint SET head_hash = 'x'",
        "DELETE FROM portal_auditcheckpoint",
        "TRUNCATE portal_auditcheckpoint",
    ],
)
def test_the_app_role_may_not_change_audit_rows_even_past_the_trigger(app_conn, sql):
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        app_conn.execute(sql)


def test_the_app_role_reads_and_writes_the_other_tables(app_conn):
    app_conn.execute(
        "INSERT INTO portal_agency (name, slug, kind, time_zone, created_at) "
        "VALUES ('Role PD', 'role-pd', 'police', 'UTC', now())"
    )
    app_conn.execute("UPDATE portal_agency SET name = 'Role PD 2' WHERE slug = 'role-pd'")
    assert app_conn.execute("SELECT count(*) FROM portal_auditevent").fetchone() == (0,)
    app_conn.execute("DELETE FROM portal_agency WHERE slug = 'role-pd'")


def _manage(*args):
    db = connection.settings_dict
    url = (
        f"postgis://{settings.DATABASE_APP_ROLE}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": url, "DATABASE_OWNER_URL": ""}
    env.pop("DATABASE_OWNER_URL")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db(transaction=True)
def test_the_app_role_takes_the_daily_checkpoint_and_verifies_the_chain(tmp_path):
    AgencyFactory(slug="riverton-pd")
    for i in range(3):
        audit_record(action=actions.LOGOUT.name, actor_label="system", details={"i": i})
    taken = _manage("audit_checkpoint")
    assert taken.returncode == 0, taken.stderr
    assert "riverton-pd: seq 3 head" in taken.stdout
    checked = _manage("audit_verify")
    assert checked.returncode == 0, checked.stderr
    assert "OK: 4 audit events, chain intact" in checked.stdout
