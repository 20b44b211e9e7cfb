"""Create the database (and PostGIS in it) and the app's role when they do not exist yet.

Connects as the owner role (DATABASE_OWNER_URL; DATABASE_URL when that is unset), which here
must be allowed to create databases and roles: locally, the `postgres` superuser. The app's
role (DATABASE_URL's user) is made with LOGIN and nothing else; `migrate` grants it the rest.
"""

import sys
from pathlib import Path

import environ
import psycopg
from psycopg import sql

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
from portal.dbroles import AUDIT_TABLE, CHECKPOINT_TABLE, app_role_grants  # noqa: E402 - needs the repo on the path

env_file = root / ".env"
if env_file.is_file():
    environ.Env.read_env(env_file)
env = environ.Env()
# The same defaults as portal/settings.py.
app = env.db_url("DATABASE_URL", default="postgis://canvass_app@127.0.0.1:5432/canvass")
owner = env.db_url(
    "DATABASE_OWNER_URL",
    default=env.str("DATABASE_URL", default="postgis://postgres@127.0.0.1:5432/canvass"),
)
params = {
    "host": owner["HOST"] or "127.0.0.1",
    "port": owner["PORT"] or 5432,
    "user": owner["USER"] or "postgres",
    "password": owner["PASSWORD"] or None,
}
name = owner["NAME"]
if app["NAME"] != name:
    sys.exit(
        f"DATABASE_URL names database {app['NAME']!r}, DATABASE_OWNER_URL {name!r}: one, please."
    )
try:
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"==> Created database {name}")
        role = app["USER"]
        missing = not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
        if role and role != params["user"] and missing:
            create = sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role))
            if app["PASSWORD"]:
                create += sql.SQL(" PASSWORD {}").format(sql.Literal(app["PASSWORD"]))
            conn.execute(create)
            print(f"==> Created the app's database role {role}")
    with psycopg.connect(dbname=name, autocommit=True, **params) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        # A database an older Canvass migrated, as one role: the app role may read it at once
        # (`makemigrations --check` does), as `migrate` would have let it.
        if role and role != params["user"]:
            schema = conn.execute("SELECT current_schema()").fetchone()[0]
            has_audit = conn.execute("SELECT to_regclass(%s)", [AUDIT_TABLE]).fetchone()[0]
            has_checkpoints = conn.execute("SELECT to_regclass(%s)", [CHECKPOINT_TABLE]).fetchone()[
                0
            ]
            for statement in app_role_grants(
                role=sql.Identifier(role).as_string(conn),
                schema=sql.Identifier(schema).as_string(conn),
                audit_table=has_audit is not None,
                checkpoint_table=has_checkpoints is not None,
            ):
                conn.execute(statement.encode())
except psycopg.Error as exc:
    sys.exit(f"Cannot prepare database {name!r} at {params['host']}:{params['port']}: {exc}")
