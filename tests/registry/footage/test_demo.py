import pytest
from django.core.management import call_command

from evidence.models import EvidenceItem
from registry.models import FootageRequest, FootageRequestCamera
from transparency.demo import PREFIX as HISTORY

pytestmark = pytest.mark.django_db(transaction=True)


def test_seed_demo_adds_one_footage_request_with_one_answered_camera_once():
    call_command("seed_demo")
    request = FootageRequest.objects.get(case_number="RPD-DEMO-0007")
    statuses = sorted(request.cameras.values_list("status", flat=True))
    assert statuses == [FootageRequestCamera.Status.SENT, FootageRequestCamera.Status.UPLOADED]
    answered = request.cameras.get(status=FootageRequestCamera.Status.UPLOADED)
    item = EvidenceItem.objects.get(source="footage_request", source_ref=str(answered.pk))
    assert item.state == "ready" and len(item.sha256) == 64
    call_command("seed_demo")
    # The goals' year of history (transparency.demo) brings answered requests of its own.
    assert FootageRequest.objects.exclude(case_number__startswith=HISTORY).count() == 1
