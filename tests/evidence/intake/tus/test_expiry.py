"""Ending uploads: termination, expiry, and bytes left behind by a crash."""

from datetime import timedelta

import pytest
import time_machine

from evidence.intake import staging as staged_files
from evidence.intake import uploads
from evidence.models import Upload
from portal.models import AuditEvent
from tests.evidence.intake.tus.helpers import (
    create,
    patch,
    tus_headers,
    upload_of,
    upload_url,
)

pytestmark = pytest.mark.django_db


def test_termination_answers_204_then_404_and_removes_the_bytes(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    patch(client, url, value, b"12345", 0)
    path = staged_files.staged_path(upload_of(url))
    response = client.delete(url, headers=tus_headers(value))
    assert response.status_code == 204 and response["Tus-Resumable"] == "1.0.0"
    assert not path.exists()
    assert upload_of(url).state == Upload.State.TERMINATED
    assert client.head(url, headers=tus_headers(value)).status_code == 404
    assert patch(client, url, value, b"67890", 5).status_code == 404
    assert client.delete(url, headers=tus_headers(value)).status_code == 404
    event = AuditEvent.objects.get(action="upload.terminated")
    assert event.target_id == str(upload_of(url).id) and event.actor_label == "Tip upload grant"


def test_a_complete_upload_cannot_be_terminated(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 2))
    patch(client, url, value, b"ok", 0)
    response = client.delete(url, headers=tus_headers(value))
    assert response.status_code == 403 and b"evidence" in response.content
    assert staged_files.staged_path(upload_of(url)).exists()


def test_expired_upload_is_gone_and_its_bytes_removed(client, secret_grant, settings):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    patch(client, url, value, b"12345", 0)
    upload = upload_of(url)
    path = staged_files.staged_path(upload)
    finished = upload_url(create(client, value, 1))
    patch(client, finished, value, b"x", 0)
    with time_machine.travel(upload.expires_at + timedelta(seconds=1), tick=False):
        # Expired already before the sweep removes anything.
        assert client.head(url, headers=tus_headers(value)).status_code == 410
        assert uploads.uploads_expire() == 1
        assert not path.exists()
        assert upload_of(url).state == Upload.State.EXPIRED
        assert client.head(url, headers=tus_headers(value)).status_code == 410
        assert patch(client, url, value, b"67890", 5).status_code == 410
        # Complete uploads are evidence: they never expire.
        assert upload_of(finished).state == Upload.State.COMPLETE
        assert staged_files.staged_path(upload_of(finished)).exists()
        assert uploads.uploads_expire() == 0
    event = AuditEvent.objects.get(action="upload.expired")
    assert event.details["uploads"] == [str(upload.id)] and event.details["bytes_removed"] == 5


def test_expiry_removes_bytes_left_by_a_crash_after_the_commit(client, secret_grant):
    _, value = secret_grant()
    url = upload_url(create(client, value, 10))
    upload = upload_of(url)
    Upload.objects.filter(pk=upload.pk).update(state=Upload.State.TERMINATED)
    assert staged_files.staged_path(upload).exists()
    uploads.uploads_expire()
    assert not staged_files.staged_path(upload).exists()
