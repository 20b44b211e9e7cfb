"""portal.storage against a real S3 protocol server (moto_server) and against the filesystem.

The S3 configuration mirrors what portal/settings.py builds when S3_BUCKET is set.
"""

import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.test import override_settings
from django.utils.functional import empty
from storages.backends.s3 import S3Storage

from portal import storage
from portal.storage import ObjectExists
from tests.s3server import BUCKET, s3_client, s3_storages

KEY_PATTERN = re.compile(r"^evidence/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}$")


@pytest.fixture
def s3_storage(s3_endpoint):
    """Django's default storage switched to the moto bucket for the test."""
    with override_settings(STORAGES=s3_storages(s3_endpoint)):
        # Django's setting_changed receiver resets `storages` and the lazy `default_storage`
        # (which portal.storage imported), so its next use builds the S3 backend.
        assert default_storage._wrapped is empty
        assert default_storage.bucket_name == BUCKET
        assert isinstance(default_storage._wrapped, S3Storage)
        yield s3_client(s3_endpoint)
    # And back to the filesystem afterwards.
    assert not isinstance(default_storage._wrapped, S3Storage)


def _object_bytes(client, key: str) -> bytes:
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_save_once_stores_bytes_that_read_back_unchanged(s3_storage):
    key = storage.new_object_key("evidence")
    data = b"\x00\x01original evidence bytes\xff" * 1000

    assert storage.save_once(key, ContentFile(data)) == key

    with storage.open_object(key) as handle:
        assert handle.read() == data
    assert storage.object_size(key) == len(data)
    # The bucket holds it under exactly that key (no renaming by the backend).
    assert _object_bytes(s3_storage, key) == data


def test_save_once_refuses_an_existing_key_and_keeps_the_original(s3_storage):
    key = storage.new_object_key("evidence")
    original = b"first writer wins"
    storage.save_once(key, ContentFile(original))

    with pytest.raises(ObjectExists):
        storage.save_once(key, ContentFile(b"second writer must not replace it"))

    assert _object_bytes(s3_storage, key) == original
    with storage.open_object(key) as handle:
        assert handle.read() == original
    # No stray copy was left under another name.
    prefix = key.rsplit("/", 1)[0] + "/"
    listed = s3_storage.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    assert [o["Key"] for o in listed if o["Key"].startswith(key)] == [key]


def test_new_object_key_is_dated_and_random():
    first = storage.new_object_key("evidence")
    second = storage.new_object_key("/evidence/")
    assert KEY_PATTERN.match(first), first
    assert KEY_PATTERN.match(second), second
    assert first != second


def test_signed_download_url_downloads_as_attachment_and_unsigned_is_refused(s3_storage):
    key = storage.new_object_key("evidence")
    data = b"bytes for download via a signed URL"
    storage.save_once(key, ContentFile(data))

    url = storage.signed_download_url(key, filename="clip <1>.mp4", seconds=60)

    assert url is not None
    assert url.startswith("http://127.0.0.1:")
    assert f"/{BUCKET}/{key}?" in url  # path-style addressing
    assert "X-Amz-Signature=" in url  # SigV4 query-string auth
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our test server
        assert response.status == 200
        assert response.read() == data
        disposition = response.headers["Content-Disposition"]
        content_type = response.headers["Content-Type"]
    assert disposition == "attachment; filename=\"clip_1.mp4\"; filename*=UTF-8''clip%20%3C1%3E.mp4"
    assert content_type == "application/octet-stream"

    parts = urlsplit(url)
    unsigned = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=10)  # noqa: S310
    assert refused.value.code == 403
    refused.value.close()


def test_saved_objects_have_no_public_grant(s3_storage):
    key = storage.new_object_key("evidence")
    storage.save_once(key, ContentFile(b"private"))

    grants = s3_storage.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]

    assert grants, "expected at least the owner's grant"
    grantee_uris = [g["Grantee"].get("URI", "") for g in grants]
    assert not any("AllUsers" in uri for uri in grantee_uris), grants
    assert not any("AuthenticatedUsers" in uri for uri in grantee_uris), grants


def test_filesystem_storage_has_no_signed_url_and_refuses_an_existing_key(tmp_path):
    storages = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "base_url": None},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        assert default_storage._wrapped is empty
        assert Path(default_storage.location) == tmp_path
        assert isinstance(default_storage._wrapped, FileSystemStorage)

        key = storage.new_object_key("evidence")
        storage.save_once(key, ContentFile(b"local original"))
        assert (tmp_path / key).read_bytes() == b"local original"
        assert storage.object_size(key) == len(b"local original")

        assert storage.signed_download_url(key, filename="clip.mp4") is None

        with pytest.raises(ObjectExists):
            storage.save_once(key, ContentFile(b"replacement"))
        assert (tmp_path / key).read_bytes() == b"local original"
        assert sorted(p.name for p in (tmp_path / key).parent.iterdir()) == [Path(key).name]
