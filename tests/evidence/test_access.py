import pytest
from django.test import Client
from django.urls import reverse

from evidence.models import EvidenceItem
from portal.models import AuditEvent
from portal.roles import Role
from tests.factories import AgencyFactory, stored_item

pytestmark = pytest.mark.django_db

CONTENT = b"\x00\x00\x00\x18ftypmp42 some original evidence bytes"


@pytest.fixture
def item(police):
    return stored_item(agency=police, content=CONTENT)


def custody_actions(item):
    return list(
        AuditEvent.objects.filter(target_type="evidence.evidenceitem", target_id=str(item.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_investigator_of_the_agency_sees_the_item_and_the_view_is_custody(
    item, make_staff, signed_in
):
    user = make_staff()
    client = signed_in(user)
    assert client.get(reverse("evidence:detail", args=[item.pk])).status_code == 200
    assert (
        client.get(reverse("api-evidence-detail", args=[item.pk])).json()["sha256"] == item.sha256
    )
    assert custody_actions(item).count("evidence.viewed") == 2
    viewed = AuditEvent.objects.filter(action="evidence.viewed").latest("seq")
    assert viewed.actor_id == user.pk and viewed.details == {"via": "api"}


def test_investigator_of_another_agency_gets_404_everywhere(
    item, make_staff, other_police, signed_in
):
    client = signed_in(make_staff(agency=other_police))
    assert client.get(reverse("evidence:detail", args=[item.pk])).status_code == 404
    assert client.get(reverse("evidence:custody_report", args=[item.pk])).status_code == 404
    assert client.post(reverse("evidence:download_issue", args=[item.pk])).status_code == 404
    assert client.get(reverse("api-evidence-detail", args=[item.pk])).status_code == 404
    assert client.get(reverse("api-evidence-custody", args=[item.pk])).status_code == 404
    assert client.post(reverse("api-evidence-download-url", args=[item.pk])).status_code == 404
    assert client.get(reverse("api-evidence-list")).json()["count"] == 0
    assert "evidence.downloaded" not in custody_actions(item)


def test_roles_without_evidence_access_are_refused(
    item, make_staff, prosecution, resident, signed_in
):
    for user in (
        make_staff(role=Role.AUDITOR),
        make_staff(role=Role.PROSECUTOR, agency=prosecution),
        resident,
    ):
        client = signed_in(user)
        assert client.get(reverse("evidence:detail", args=[item.pk])).status_code == 403
        assert client.get(reverse("api-evidence-detail", args=[item.pk])).status_code == 403


def test_malformed_ids_are_404_not_500(make_staff, signed_in):
    client = signed_in(make_staff())
    assert client.get("/staff/evidence/not-a-uuid/").status_code == 404
    assert client.get("/api/evidence/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_download_url_returns_the_exact_bytes_and_is_custody(item, make_staff, signed_in):
    client = signed_in(make_staff())
    body = client.post(reverse("api-evidence-download-url", args=[item.pk])).json()
    assert body["expires_in"] == 300
    response = client.get(body["url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"
    downloaded = AuditEvent.objects.get(action="evidence.downloaded")
    assert downloaded.details["what"] == "original" and downloaded.details["sha256"] == item.sha256


def test_a_download_link_works_only_for_the_user_it_was_issued_to(item, make_staff, signed_in):
    url = (
        signed_in(make_staff())
        .post(reverse("api-evidence-download-url", args=[item.pk]))
        .json()["url"]
    )
    colleague = signed_in(make_staff())
    assert colleague.get(url).status_code == 404
    assert Client().get(url).status_code == 302  # not signed in


def test_unknown_derivative_is_404(item, make_staff, signed_in):
    client = signed_in(make_staff())
    response = client.post(
        reverse("api-evidence-download-url", args=[item.pk]), {"derivative": "../../etc/passwd"}
    )
    assert response.status_code == 404


def test_custody_api_lists_events_oldest_first(item, make_staff, signed_in):
    client = signed_in(make_staff())
    client.get(reverse("evidence:detail", args=[item.pk]))
    events = client.get(reverse("api-evidence-custody", args=[item.pk])).json()["results"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and events[0]["action"] == "evidence.viewed"
    assert {"hash", "prev_hash", "actor_label", "at"} <= set(events[0])


def test_custody_report_lists_every_event_and_hash(item, make_staff, signed_in):
    client = signed_in(make_staff())
    client.get(reverse("evidence:detail", args=[item.pk]))
    page = client.get(reverse("evidence:custody_report", args=[item.pk])).content.decode()
    assert item.sha256 in page
    for event in AuditEvent.objects.filter(target_id=str(item.pk)):
        assert event.hash in page or event.action == "evidence.custody_viewed"


def test_list_filters_and_is_audited(police, make_staff, signed_in):
    stored_item(agency=police, state=EvidenceItem.State.READY)
    stored_item(agency=police, state=EvidenceItem.State.UNPLAYABLE, content=b"broken")
    client = signed_in(make_staff())
    assert client.get(reverse("api-evidence-list"), {"state": "unplayable"}).json()["count"] == 1
    page = client.get(reverse("evidence:list"), {"state": "ready"})
    assert page.context["page"].paginator.count == 1
    assert AuditEvent.objects.filter(action="evidence.listed").count() == 2
    assert client.get(reverse("api-evidence-list"), {"state": "bogus"}).status_code == 400


def test_correcting_capture_time_records_old_and_new_values(item, make_staff, signed_in):
    client = signed_in(make_staff())
    response = client.post(
        reverse("evidence:metadata", args=[item.pk]),
        {
            "capture_time": "2026-03-14T10:00",
            "lat": "40.75",
            "lon": "-73.99",
            "reason": "Camera clock was an hour fast",
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    # Typed on the agency's clock: America/New_York is on EDT (UTC-4) after March 8.
    assert item.capture_time.isoformat() == "2026-03-14T14:00:00+00:00"
    assert item.capture_time_source == "uploader_claim" and item.capture_time_confidence == "low"
    changes = AuditEvent.objects.filter(action="evidence.metadata_changed").order_by("seq")
    assert [c.details["field"] for c in changes] == ["capture_time", "location"]
    assert (
        changes[0].details["old"] is None
        and changes[0].details["new"] == "2026-03-14T14:00:00+00:00"
    )
    assert changes[0].reason == "Camera clock was an hour fast"
    with storage_open(item) as f:
        assert f.read() == CONTENT  # the original is untouched


def test_metadata_change_needs_a_reason_and_write_rights(item, make_staff, signed_in):
    client = signed_in(make_staff())
    client.post(
        reverse("evidence:metadata", args=[item.pk]),
        {"lat": "40.75", "lon": "-73.99", "reason": ""},
    )
    dispatcher = signed_in(make_staff(role=Role.DISPATCHER))
    assert (
        dispatcher.post(
            reverse("evidence:metadata", args=[item.pk]), {"lat": "1", "lon": "1", "reason": "x"}
        ).status_code
        == 403
    )
    item.refresh_from_db()
    assert item.location is None
    assert not AuditEvent.objects.filter(action="evidence.metadata_changed").exists()


def test_other_agency_cannot_change_metadata(item, make_staff, other_police, signed_in):
    client = signed_in(make_staff(agency=other_police))
    response = client.post(
        reverse("evidence:metadata", args=[item.pk]), {"lat": "1", "lon": "1", "reason": "x"}
    )
    assert response.status_code == 404


def storage_open(item):
    from portal import storage

    return storage.open_object(item.original_key)


def test_a_download_link_works_once(item, make_staff, signed_in):
    client = signed_in(make_staff())
    url = client.post(reverse("api-evidence-download-url", args=[item.pk])).json()["url"]
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 404


def test_download_url_api_refuses_a_non_object_body(item, make_staff, signed_in):
    client = signed_in(make_staff())
    url = reverse("api-evidence-download-url", args=[item.pk])
    response = client.post(url, "[1]", content_type="application/json")
    assert response.status_code == 400 and "detail" in response.json()
    response = client.post(url, {"derivative": "x" * 500}, content_type="application/json")
    assert response.status_code == 400


def test_every_media_fetch_is_custody_and_segments_need_a_played_playlist(
    police, make_staff, signed_in
):
    from django.core.files.base import ContentFile

    from evidence.models import Derivative
    from portal import storage

    item = stored_item(agency=police, content=CONTENT)
    files = {
        "index.m3u8": (Derivative.Kind.HLS_PLAYLIST, b"#EXTM3U\nseg_00001.ts\n"),
        "seg_00001.ts": (Derivative.Kind.HLS_SEGMENT, b"G" * 188),
        "proxy.mp4": (Derivative.Kind.PROXY_MP4, b"mp4"),
        "poster.jpg": (Derivative.Kind.POSTER, b"jpg"),
    }
    for name, (kind, body) in files.items():
        key = storage.new_object_key("test/derivatives")
        storage.save_once(key, ContentFile(body))
        Derivative.objects.create(
            item=item,
            kind=kind,
            name=name,
            key=key,
            size=len(body),
            sha256="0" * 64,
            media_type="application/octet-stream",
        )
    client = signed_in(make_staff())
    media = lambda name, **h: client.get(reverse("evidence:media", args=[item.pk, name]), **h)  # noqa: E731
    assert media("seg_00001.ts").status_code == 404  # no playlist played yet
    assert media("proxy.mp4", HTTP_RANGE="bytes=1-").status_code == 200
    assert media("poster.jpg").status_code == 200
    assert media("index.m3u8").status_code == 200
    segment = media("seg_00001.ts")
    assert segment.status_code == 200 and segment["Content-Security-Policy"].startswith(
        "default-src 'none'"
    )
    actions = custody_actions(item)
    assert actions.count("evidence.played") == 2 and actions.count("evidence.viewed") == 1
    stranger = signed_in(make_staff(agency=AgencyFactory()))
    assert stranger.get(reverse("evidence:media", args=[item.pk, "proxy.mp4"])).status_code == 404
