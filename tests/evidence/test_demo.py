import pytest
from django.core.management import call_command

from evidence.models import EvidenceItem

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_real_processed_evidence_once():
    call_command("seed_demo")
    items = {i.original_filename: i for i in EvidenceItem.objects.all()}
    assert items["IMG_0412.MOV"].state == "ready"
    assert items["IMG_0412.MOV"].metadata["height"] == 1080
    assert items["IMG_0412.MOV"].location is not None
    assert items["IMG_0412.MOV"].derivatives.filter(kind="hls_playlist").exists()
    assert items["IMG_0413.JPG"].state == "ready" and items["IMG_0413.JPG"].location is not None
    assert items["doorbell-export.mp4"].state == "unplayable"
    assert all(len(i.sha256) == 64 for i in items.values())
    call_command("seed_demo")
    assert EvidenceItem.objects.count() == 3
