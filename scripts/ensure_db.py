"""Create the database named in DATABASE_URL (and PostGIS in it) when it does not exist yet."""

import sys
from pathlib import Path

import environ
import psycopg
from psycopg import sql

root = Path(__file__).resolve().parent.parent
env_file = root / ".env"
if env_file.is_file():
    environ.Env.read_env(env_file)
url = environ.Env().db_url("DATABASE_URL", default="postgis://postgres@127.0.0.1:5432/canvass")
params = {
    "host": url["HOST"] or "127.0.0.1",
    "port": url["PORT"] or 5432,
    "user": url["USER"] or "postgres",
    "password": url["PASSWORD"] or None,
}
name = url["NAME"]
try:
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"==> Created database {name}")
    with psycopg.connect(dbname=name, autocommit=True, **params) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
except psycopg.Error as exc:
    sys.exit(f"Cannot prepare database {name!r} at {params['host']}:{params['port']}: {exc}")
