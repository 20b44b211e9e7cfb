import pytest
from django.core.management import CommandError, call_command

from evidence.models import Case, EvidenceItem

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_real_processed_evidence_once():
    call_command("seed_demo")
    # Other apps' seeders add evidence of their own (a footage answer, a tip's file).
    seeded = EvidenceItem.objects.count()
    items = {i.original_filename: i for i in EvidenceItem.objects.all()}
    assert items["IMG_0412.MOV"].state == "ready"
    assert items["IMG_0412.MOV"].metadata["height"] == 1080
    assert items["IMG_0412.MOV"].location is not None
    assert items["IMG_0412.MOV"].derivatives.filter(kind="hls_playlist").exists()
    assert items["IMG_0413.JPG"].state == "ready" and items["IMG_0413.JPG"].location is not None
    assert items["doorbell-export.mp4"].state == "unplayable"
    assert all(len(i.sha256) == 64 for i in items.values())
    case = Case.objects.get(number="2026-000417")
    assert case.case_items.count() == 3
    share = case.shares.get()
    assert [u.email for u in share.recipients.all()] == ["prosecutor@riverton-da.example"]
    # The unplayable item is still evidence and is shared with the rest.
    assert share.share_items.count() == 3 and share.level == "download"
    call_command("seed_demo")
    assert EvidenceItem.objects.count() == seeded  # once: a second run adds nothing
    assert Case.objects.count() == 1 and case.shares.count() == 1


def test_seed_demo_on_a_database_seeded_under_another_secret_key_says_what_to_do(settings, police):
    from evidence.disclosure.signing import signing_key_for
    from evidence.models import SigningKey

    settings.SECRET_KEY = "the-other-checkout's-secret-key-" + "x" * 32
    signing_key_for(agency=police)
    settings.SECRET_KEY = "this-checkout's-secret-key-" + "y" * 32
    with pytest.raises(CommandError, match="sealed under a different SECRET_KEY") as refused:
        call_command("seed_demo")
    assert police.slug in str(refused.value) and "DROP DATABASE canvass" in str(refused.value)
    # Refused before seeding anything.
    assert not EvidenceItem.objects.exists() and SigningKey.objects.count() == 1
