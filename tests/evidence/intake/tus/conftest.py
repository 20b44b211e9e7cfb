"""Fixtures of the tus tests: a staging directory per test, queued items, grants."""

import os
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from evidence import queue
from evidence.intake import grants
from evidence.models import UploadGrant
from tests.conftest import sign_in
from tests.evidence.intake.tus.helpers import (
    MiB,
    sha256_file,
)


@pytest.fixture(autouse=True)
def staging(settings, tmp_path):
    """A staging directory of this test's own (live_server runs in-process, so it sees it too)."""
    settings.UPLOAD_STAGING_DIR = tmp_path / "staging"
    return settings.UPLOAD_STAGING_DIR


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """Item ids whose processing was queued; the pipeline itself is not the subject here."""
    ids = []
    monkeypatch.setattr(queue, "item_processing_queue", ids.append)
    return ids


@pytest.fixture
def secret_grant(police):
    """secret_grant(**overrides) -> (grant, header value) for a tip-style grant."""

    def make(**overrides):
        kwargs = {
            "agency": police,
            "flow": UploadGrant.Flow.TIP,
            "source_ref": "tip-1",
            "max_files": 5,
            "max_file_bytes": 100 * MiB,
            "media_types": ["video/", "image/"],
            "expires_at": timezone.now() + timedelta(days=7),
            "actor_label": "tip form",
            **overrides,
        }
        grant, secret = grants.grant_create_with_secret(**kwargs)
        return grant, grants.grant_header_value(grant, secret)

    return make


@pytest.fixture
def staff_grant(make_staff):
    """staff_grant(user=None, **asked) -> (signed-in client, header value) via the grant API."""

    def make(user=None, **asked):
        client = sign_in(Client(), user or make_staff())
        response = client.post(reverse("uploads:grants"), asked, content_type="application/json")
        assert response.status_code == 201, response.content
        return client, response.json()["value"]

    return make


@pytest.fixture(scope="session")
def file_50mb(tmp_path_factory):
    path = tmp_path_factory.mktemp("tus") / "random-50mb.bin"
    with open(path, "wb") as file:
        for _ in range(50):
            file.write(os.urandom(MiB))
    return path, sha256_file(path)
