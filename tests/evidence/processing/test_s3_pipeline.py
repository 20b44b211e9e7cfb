"""Upload to ready with evidence in S3 (a local moto server), and signed downloads over HTTP."""

import hashlib
import urllib.request

import pytest
from django.test import override_settings
from django.urls import reverse

from evidence import samples
from evidence.models import Derivative, EvidenceItem
from tests.evidence.helpers import ingest, sha256_of, wait_for
from tests.s3server import ACCESS_KEY, BUCKET, SECRET_KEY, s3_client, s3_storages


@pytest.fixture
def s3_worker(worker_pool, s3_endpoint):
    """Django in this process and the worker both store evidence in the moto bucket."""
    with override_settings(STORAGES=s3_storages(s3_endpoint)):
        worker_pool.start(
            S3_BUCKET=BUCKET,
            S3_ENDPOINT_URL=s3_endpoint,
            S3_ACCESS_KEY_ID=ACCESS_KEY,
            S3_SECRET_ACCESS_KEY=SECRET_KEY,
        )
        yield s3_client(s3_endpoint)


def test_upload_to_ready_on_s3_and_signed_urls_return_the_exact_bytes(
    s3_worker, police, make_staff, signed_in, tmp_path
):
    clip = samples.phone_clip_mov(tmp_path, seconds=2)
    item = wait_for(ingest(clip, police))
    assert item.state == EvidenceItem.State.READY, item.state_reason

    stored = s3_worker.get_object(Bucket=BUCKET, Key=item.original_key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == item.sha256 == sha256_of(clip)
    proxy = item.derivatives.get(kind=Derivative.Kind.PROXY_MP4)
    assert s3_worker.head_object(Bucket=BUCKET, Key=proxy.key)["ContentLength"] == proxy.size

    client = signed_in(make_staff())
    url = client.post(reverse("api-evidence-download-url", args=[item.pk])).json()["url"]
    assert url.startswith("http://127.0.0.1:") and "X-Amz-Signature" in url
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our local S3 server
        assert hashlib.sha256(response.read()).hexdigest() == item.sha256
        assert response.headers["Content-Disposition"].startswith("attachment;")

    url = client.post(
        reverse("api-evidence-download-url", args=[item.pk]), {"derivative": proxy.name}
    ).json()["url"]
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        assert hashlib.sha256(response.read()).hexdigest() == proxy.sha256
