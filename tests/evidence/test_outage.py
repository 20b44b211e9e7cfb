"""Redis unreachable: a tipster's tus upload is still accepted, and processed once Redis is back.

The upload's processing cannot be queued while the broker is down; the item waits `received`
and the sweep (the beat job, run here) queues it once Redis answers again.
"""

import datetime as dt

from django.test import Client
from django.utils import timezone

from evidence import samples
from evidence.intake import grants
from evidence.models import EvidenceItem, Upload, UploadGrant
from evidence.tasks import requeue_stalled_items
from tests.evidence.helpers import sha256_of, wait_for
from tests.outage import redis_unreachable

State = EvidenceItem.State


def _tip_grant_header(agency) -> str:
    grant, secret = grants.grant_create_with_secret(
        agency=agency, flow=UploadGrant.Flow.TIP, source_ref="tip-outage", max_files=1,
        max_file_bytes=1 << 30, media_types=["video/"],
        expires_at=timezone.now() + dt.timedelta(hours=1), actor_label="tip form",
    )  # fmt: skip
    return grants.grant_header_value(grant, secret)


def _tus_upload(client: Client, grant: str, data: bytes):
    """tus creation-with-upload: the whole file in the POST, as tus-js-client can send it."""
    return client.generic(
        "POST",
        "/api/uploads/",
        data,
        content_type="application/offset+octet-stream",
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(data)),
            "Canvass-Upload-Grant": grant,
        },
    )


def test_an_upload_during_a_redis_outage_is_accepted_and_processed_after(
    celery_worker, police, settings, tmp_path
):
    clip = samples.phone_clip_mov(tmp_path, seconds=1)
    grant = _tip_grant_header(police)
    with redis_unreachable(settings):
        response = _tus_upload(Client(), grant, clip.read_bytes())
    assert response.status_code == 201, response.content
    assert response["Upload-Offset"] == str(clip.stat().st_size)
    item = EvidenceItem.objects.get(upload=Upload.objects.get())
    assert item.state == State.RECEIVED

    settings.MEDIA_REQUEUE_RECEIVED_AFTER_SECONDS = 0
    assert requeue_stalled_items() == 1
    item = wait_for(item)
    assert item.state == State.READY, item.state_reason
    assert item.sha256 == sha256_of(clip)
