"""The store tells a source when an item's SHA-256 is known, and keeps what the source said
about the item (its metadata's `source_details`) when the pipeline writes what the file says."""

import datetime as dt
import hashlib

import pytest
from django.utils import timezone

from evidence import services
from evidence.models import EvidenceItem, Source, UploadGrant
from tests.evidence.helpers import upload_bytes

pytestmark = pytest.mark.django_db

DATA = b"not a video, but evidence all the same"


def _grant(agency):
    return services.upload_grant_issue(
        agency=agency,
        flow=UploadGrant.Flow.TIP,
        source_ref="hook-test",
        max_files=1,
        max_file_bytes=1 << 20,
        media_types=["video/"],
        expires_at=timezone.now() + dt.timedelta(hours=1),
        actor_label="test",
    ).grant


def test_the_source_hears_the_hash_and_its_details_are_kept(police, source_hooks):
    heard = []

    def received(item):
        services.item_source_details_set(item=item, details={"said": "by the source"})

    source_hooks(Source.TIP, item_received=received, item_hashed=lambda i: heard.append(i.sha256))
    item = upload_bytes(_grant(police), DATA, filename="x.mp4")
    assert heard == []  # not yet: the pipeline hashes it
    assert services.item_process_now(item_id=item.pk) == EvidenceItem.State.REJECTED
    assert heard == [hashlib.sha256(DATA).hexdigest()]
    item.refresh_from_db()
    assert item.metadata["source_details"] == {"said": "by the source"}


def test_a_failing_hashed_hook_costs_nothing(police, source_hooks):
    def broken(item):
        raise RuntimeError("the source's bug")

    source_hooks(Source.TIP, item_hashed=broken)
    item = upload_bytes(_grant(police), DATA, filename="x.mp4")
    services.item_process_now(item_id=item.pk)
    item.refresh_from_db()
    assert item.sha256 == hashlib.sha256(DATA).hexdigest()
    assert item.state == EvidenceItem.State.REJECTED
    assert "source_details" not in item.metadata
