"""A clip from the relay's ring goes into a case through the evidence intake, as `live_clip`."""

import hashlib
import html

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from evidence import selectors as evidence_selectors
from evidence import services as evidence_services
from evidence.cases import services as evidence_case_services
from evidence.models import EvidenceItem, Source
from livefeeds import clip_intake, clips
from portal.models import AuditEvent
from portal.roles import Role
from tests.conftest import client_for
from tests.evidence.cases_helpers import make_case, verified
from tests.factories import stored_item

pytestmark = pytest.mark.django_db

SUBJECT = {"device": {"id": "d-1", "serial": "BWC-0001", "officer": "Officer Reyes"}}


@pytest.fixture
def investigator(make_staff):
    return verified(make_staff(role=Role.INVESTIGATOR))


@pytest.fixture
def case(investigator):
    return make_case(lead=investigator)


@pytest.fixture
def hooks(source_hooks):
    source_hooks(Source.LIVE_CLIP, item_hashed=clip_intake.live_clip_item_hashed)


def _save(ring, investigator, case, seconds=6, **kwargs):
    return clip_intake.live_clip_save(
        requester=investigator,
        case_id=case.pk,
        app=ring.app,
        stream=ring.stream,
        window=clips.window_last(seconds, now=ring.end),
        session_id="session-7",
        subject=SUBJECT,
        **kwargs,
    )


def test_a_clip_lands_in_the_case_as_a_secondary_live_clip_with_the_manifests_hash(
    ring, investigator, case, hooks
):
    item = _save(ring, investigator, case)

    assert item.source == Source.LIVE_CLIP
    assert item.get_source_display() == "Live relay clip (secondary)"
    assert list(case.items.all()) == [item]
    assert evidence_services.item_process_now(item_id=item.pk) == EvidenceItem.State.READY
    item.refresh_from_db()
    details = item.metadata["source_details"]
    manifest = details["live_clip"]
    assert details["secondary"] is True
    assert item.sha256 == manifest["clip"]["sha256"]
    assert item.size == manifest["clip"]["bytes"]
    assert item.media_type == "video/mp4"
    assert manifest["stream"] == {"app": "live", "name": "bodycam01"}
    assert manifest["device"] == SUBJECT["device"]
    assert manifest["session"] == "session-7"
    assert manifest["requester"] == {"id": investigator.pk, "label": investigator.label}
    assert manifest["case"]["number"] == case.number
    for entry in manifest["segments"]:
        data = (ring.path / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    custody = list(evidence_selectors.custody_of(item=item).values_list("action", flat=True))
    assert custody[:3] == ["evidence.received", "livefeeds.clip_saved", "case.item_added"]
    assert "livefeeds.clip_hash_mismatch" not in custody
    saved = AuditEvent.objects.get(action="livefeeds.clip_saved")
    assert saved.actor_id == investigator.pk
    assert saved.case_ref == case.number
    assert saved.details["manifest"] == manifest


def test_saving_the_same_clip_twice_gives_one_item(ring, investigator, case):
    first = _save(ring, investigator, case, clip_id="c0ffee")
    again = _save(ring, investigator, case, clip_id="c0ffee")
    assert again.pk == first.pk
    assert EvidenceItem.objects.filter(source=Source.LIVE_CLIP).count() == 1


def test_a_refused_clip_leaves_a_custody_row_and_no_item(ring, investigator, case):
    with pytest.raises(clips.ClipError) as refused:
        clip_intake.live_clip_save(
            requester=investigator,
            case_id=case.pk,
            app=ring.app,
            stream=ring.stream,
            window=clips.window_last(10, now=ring.start - 300),
        )
    assert refused.value.code == "not_in_ring"
    row = AuditEvent.objects.get(action="livefeeds.clip_refused")
    assert row.outcome == AuditEvent.Outcome.DENIED
    assert row.reason == refused.value.message
    assert row.case_ref == case.number
    assert not EvidenceItem.objects.exists()


def test_a_case_of_another_agency_is_not_found(ring, case, make_staff, other_police):
    stranger = verified(make_staff(role=Role.SUPERVISOR, agency=other_police))
    with pytest.raises(Http404):
        _save(ring, stranger, case)
    assert not EvidenceItem.objects.exists()


def test_a_colleague_outside_the_case_cannot_file_into_it(ring, case, make_staff):
    # Investigators see only the cases they work on: for another's case it is not there.
    outsider = verified(make_staff(role=Role.INVESTIGATOR))
    with pytest.raises(Http404):
        _save(ring, outsider, case)


def test_a_member_of_the_case_who_may_not_change_it_is_refused(
    ring, investigator, case, make_staff
):
    dispatcher = verified(make_staff(role=Role.DISPATCHER))
    evidence_case_services.case_member_add(actor=investigator, case=case, user=dispatcher)
    with pytest.raises(PermissionDenied):
        _save(ring, dispatcher, case)
    assert not EvidenceItem.objects.exists()


def test_the_task_saves_the_window_fixed_when_the_button_was_pressed(ring, investigator, case):
    window = clips.window_last(4, now=ring.end)
    result = clip_intake.save_live_clip.apply(
        kwargs={
            "clip_id": "feed01",
            "requester_id": investigator.pk,
            "case_id": str(case.pk),
            "app": ring.app,
            "stream": ring.stream,
            "start": window.start,
            "end": window.end,
            "asked": window.asked,
            "session_id": "session-9",
            "subject": SUBJECT,
        }
    ).get()
    item = EvidenceItem.objects.get(pk=result["item"])
    assert item.source_ref == "feed01"
    assert len(item.metadata["source_details"]["live_clip"]["segments"]) == 4


def test_the_task_reports_a_refusal(ring, investigator, case):
    result = clip_intake.save_live_clip.apply(
        kwargs={
            "clip_id": "feed02",
            "requester_id": investigator.pk,
            "case_id": str(case.pk),
            "app": ring.app,
            "stream": ring.stream,
            "start": ring.start - 100,
            "end": ring.start - 90,
            "asked": "last 10 s",
        }
    ).get()
    assert result["error"] == "not_in_ring"
    assert result["message"].startswith("That window has left the relay's ring")


def test_a_stored_hash_that_differs_from_the_manifest_is_flagged(ring, investigator, case, hooks):
    item = _save(ring, investigator, case)
    details = item.metadata["source_details"]
    details["live_clip"]["clip"]["sha256"] = "0" * 64
    evidence_services.item_source_details_set(item=item, details=details)
    evidence_services.item_process_now(item_id=item.pk)
    row = AuditEvent.objects.get(action="livefeeds.clip_hash_mismatch")
    item.refresh_from_db()
    assert row.details == {"manifest_sha256": "0" * 64, "sha256": item.sha256}
    assert item.state == EvidenceItem.State.READY  # the evidence is kept


def test_the_item_page_says_it_is_a_secondary_copy(ring, investigator, case):
    item = _save(ring, investigator, case, seconds=3)
    evidence_services.item_process_now(item_id=item.pk)
    page = client_for(investigator).get(reverse("evidence:detail", args=[item.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="secondary-copy"' in text
    assert html.escape(clip_intake.SECONDARY_NOTE) in text
    assert "Live relay clip (secondary)" in text
    assert "3 relay segments" in text


def test_an_ordinary_item_page_says_nothing_of_a_secondary_copy(make_staff, police):
    investigator = make_staff()
    item = stored_item(agency=police)
    page = client_for(investigator).get(reverse("evidence:detail", args=[item.pk]))
    assert page.status_code == 200
    assert 'id="secondary-copy"' not in page.content.decode()
