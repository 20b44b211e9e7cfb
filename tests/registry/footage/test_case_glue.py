"""Footage requests and cases: answers are filed into the case with the same number, the
case page lists the request and maps its cameras, and a failing listener never loses a file."""

import pytest

from evidence.cases import services as case_services
from evidence.models import CaseItem, EvidenceItem, Source
from evidence.sources import case_links_for
from registry.footage import services as rs
from registry.models import FootageRequestCamera
from tests.evidence.helpers import upload_bytes
from tests.registry.cameras import investigator, owner
from tests.registry.requests_helpers import ask, camera_facing_incident, search

pytestmark = pytest.mark.django_db(transaction=True)
CASE_NUMBER = "RPD-2026-0042"  # the number the helpers file their requests under


def _owner_uploads(request, data=b"clip") -> EvidenceItem:
    recipient = request.recipients.get()
    rc = recipient.cameras.get()
    grant = rs.footage_upload_grant(recipient=recipient, request_camera_id=rc.pk).grant
    return upload_bytes(grant, data, filename="clip.mp4")


def _request(officer, **camera_fields):
    camera = camera_facing_incident(owner(role="business"), **camera_fields)
    return ask(officer, search(officer), [camera])


def _open_case(officer, number=CASE_NUMBER):
    return case_services.case_create(actor=officer, number=number, title="Burglary")


def test_an_answer_joins_the_open_case_and_marks_the_camera_uploaded_at_once(police):
    officer = investigator(police)
    case = _open_case(officer)
    request = _request(officer)

    item = _owner_uploads(request)

    assert CaseItem.objects.filter(case=case, item=item).exists()
    rc = request.cameras.get()
    assert rc.status == FootageRequestCamera.Status.UPLOADED
    assert item.source == Source.FOOTAGE_REQUEST


def test_answers_that_came_before_the_case_join_it_when_it_opens(police):
    officer = investigator(police)
    request = _request(officer)
    item = _owner_uploads(request)
    assert not CaseItem.objects.filter(item=item).exists()

    case = _open_case(officer)

    assert list(case.items.all()) == [item]


def test_a_case_with_another_number_gets_nothing(police):
    officer = investigator(police)
    request = _request(officer)
    _owner_uploads(request)

    case = _open_case(officer, number="RPD-2026-9999")

    assert not case.items.exists()
    assert case_links_for(actor=officer, case=case) == []


def test_another_agencys_case_with_the_same_number_gets_nothing(police, other_police):
    officer = investigator(police)
    request = _request(officer)
    _owner_uploads(request)

    elsewhere = _open_case(investigator(other_police))

    assert not elsewhere.items.exists()
    assert case_links_for(actor=investigator(other_police), case=elsewhere) == []


def test_the_case_page_counts_the_answers_and_maps_only_answered_cameras(police):
    officer = investigator(police)
    request = _request(officer, name="Corner shop")
    rc = request.cameras.get()
    camera = rc.camera
    case = _open_case(officer)

    # Not answered yet: the request with its counts, and no camera named.
    [req_link] = case_links_for(actor=officer, case=case)
    assert req_link.kind == "footage_request" and str(request.pk) in req_link.url
    assert "1 asked, 0 uploaded, 0 no footage, 0 declined, 1 no answer" in req_link.status

    rs.footage_answer(
        recipient=request.recipients.get(), request_camera_id=rc.pk, answer="no_footage"
    )
    links = case_links_for(actor=officer, case=case)
    assert [link.kind for link in links] == ["footage_request", "camera"]
    assert "1 no footage" in links[0].status and "0 no answer" in links[0].status
    cam_link = links[1]
    assert "Corner shop" in cam_link.label and cam_link.status == "No footage"
    assert (cam_link.lat, cam_link.lon) == pytest.approx((camera.location.y, camera.location.x))


def test_a_failing_listener_never_loses_the_file(police, source_hooks):
    officer = investigator(police)
    request = _request(officer)

    def broken(item):
        raise RuntimeError("listener bug")

    source_hooks(Source.FOOTAGE_REQUEST, item_received=broken)
    item = _owner_uploads(request, data=b"still kept")

    assert item.size == len(b"still kept")
    assert item.state == EvidenceItem.State.RECEIVED
