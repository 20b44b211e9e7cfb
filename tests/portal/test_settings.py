import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "SECRET_KEY": "k" * 20 + "production-grade-secret-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "canvass.example.org",
    "DEBUG": "off",
    "ENV_FILE": "/nonexistent",
    "PATH": os.environ["PATH"],
}


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_in_production_fails_loudly_at_start():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_a_non_postgis_database_url_is_refused():
    result = manage("check", env={**PRODUCTION, "DATABASE_URL": "sqlite:////tmp/x.db"})
    assert result.returncode != 0 and "postgis://" in result.stderr


@pytest.mark.parametrize("value, expected", [(None, False), ("on", True)])
def test_debug_is_off_unless_set(value, expected):
    env = dict(PRODUCTION) | ({"DEBUG": value} if value else {})
    if value is None:
        env.pop("DEBUG")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; from django.conf import settings; django.setup(); print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == str(expected), result.stderr


def test_s3_settings_never_overwrite_and_keep_objects_private():
    code = (
        "import django; from django.conf import settings; django.setup();"
        "o = settings.STORAGES['default']['OPTIONS'];"
        "print(settings.STORAGES['default']['BACKEND'], o['file_overwrite'], o['default_acl'], o['querystring_auth'], o['endpoint_url'])"
    )
    env = {
        **PRODUCTION,
        "S3_BUCKET": "evidence",
        "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == [
        "storages.backends.s3.S3Storage",
        "False",
        "private",
        "True",
        "http://127.0.0.1:9000",
    ], result.stderr


def test_env_example_documents_every_variable_settings_read():
    import re

    settings_text = (ROOT / "portal" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', settings_text))
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - documented == set()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"UPLOAD_STAGING": "s3"}, "UPLOAD_STAGING=s3 stages uploads in S3_BUCKET"),
        ({"UPLOAD_STAGING": "nfs"}, "UPLOAD_STAGING must be 'local' or 's3'"),
    ],
)
def test_upload_staging_on_s3_needs_a_bucket_and_other_values_are_refused(extra, message):
    result = manage("check", env={**PRODUCTION, **extra})
    assert result.returncode != 0
    assert message in result.stderr


def test_upload_staging_on_s3_with_a_bucket_is_accepted():
    env = {**PRODUCTION, "UPLOAD_STAGING": "s3", "S3_BUCKET": "evidence"}
    result = manage(
        "shell", "-c", "from django.conf import settings; print(settings.UPLOAD_STAGING)", env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "s3"
