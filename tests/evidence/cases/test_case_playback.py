"""Synchronized playback's data: the case's playable videos on one clock by capture time,
with their confidence, GPS tracks and cameras, and clock shifts audited as capture-time
corrections; only those who see the case get it."""

import datetime as dt

import pytest
from django.urls import reverse

from evidence.cases import services as case_services
from evidence.models import Derivative, EvidenceItem
from portal.models import AuditEvent
from portal.roles import Role
from tests.devices.helpers import recorded_item
from tests.evidence.cases_helpers import make_case, verified
from tests.factories import stored_item

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 3, 14, 0, tzinfo=dt.UTC)


def _playable(item: EvidenceItem, *, duration: float = 8.0) -> EvidenceItem:
    """Give a stored item what processing leaves on a video: its length and an HLS playlist."""
    item.metadata = {**item.metadata, "duration": duration}
    item.save(update_fields=["metadata"])
    Derivative.objects.create(
        item=item, kind=Derivative.Kind.HLS_PLAYLIST, name="index.m3u8",
        key=f"test/{item.pk}/index.m3u8", size=1, sha256="0" * 64,
        media_type="application/vnd.apple.mpegurl",
    )  # fmt: skip
    return item


def _video(police, name, capture_time, confidence="high", **fields):
    return _playable(
        stored_item(
            agency=police,
            original_filename=name,
            content=name.encode() * 20,
            capture_time=capture_time,
            capture_time_source="file_metadata" if capture_time else "",
            capture_time_confidence=confidence if capture_time else "",
            **fields,
        )
    )


@pytest.fixture
def lead(make_staff):
    return verified(make_staff())


@pytest.fixture
def case_videos(lead, police):
    later = _video(police, "doorbell.mp4", T0 + dt.timedelta(seconds=20), "medium")
    undated = _video(police, "undated.mp4", None)
    earlier = _video(police, "phone.mp4", T0, "low")
    unprocessed = stored_item(agency=police, original_filename="raw.mp4", content=b"raw" * 9)
    photo = stored_item(
        agency=police, original_filename="photo.jpg", media_kind="image", content=b"jpg" * 9,
        capture_time=T0,
    )  # fmt: skip
    case = make_case(lead=lead, items=[later, undated, earlier, unprocessed, photo])
    return case, earlier, later, undated


def _playback(client, case):
    response = client.get(reverse("evidence:case_playback", args=[case.pk]))
    assert response.status_code == 200
    return response.json()["videos"]


def test_videos_come_by_capture_time_unknown_last_with_confidence(case_videos, lead, signed_in):
    case, earlier, later, undated = case_videos
    videos = _playback(signed_in(lead), case)
    # Only processed videos (no photo, nothing without a playlist); earliest first.
    assert [v["label"] for v in videos] == ["phone.mp4", "doorbell.mp4", "undated.mp4"]
    assert [v["confidence"] for v in videos] == ["low", "medium", ""]
    assert videos[0]["start"] == "2026-11-03T14:00:00Z"
    assert videos[1]["start"] == "2026-11-03T14:00:20Z"
    assert videos[2]["start"] is None
    assert videos[0]["time_source"] == "File metadata"
    assert videos[0]["duration"] == 8.0
    assert videos[0]["hls"] == f"/staff/evidence/{earlier.pk}/media/index.m3u8"
    assert all(v["track"] is None and v["camera"] is None for v in videos)
    assert AuditEvent.objects.filter(
        action="case.viewed", target_id=str(case.pk), details__via="playback"
    ).exists()


def test_case_page_lists_each_video_on_the_shared_clock(case_videos, lead, signed_in):
    case, *_ = case_videos
    body = signed_in(lead).get(reverse("evidence:case_detail", args=[case.pk])).content.decode()
    sync = body.split('id="sync"')[1].split('id="case-map"')[0]
    assert sync.index("phone.mp4") < sync.index("doorbell.mp4") < sync.index("undated.mp4")
    assert "from file metadata, low confidence" in sync
    assert "Capture time unknown: not on the shared clock." in sync
    assert 'id="case-playback"' in sync and "dist/syncplay.js" in sync
    assert sync.count("Shift this video's clock") == 2  # not for the undated one


def test_a_clock_shift_moves_the_video_and_is_audited_as_a_capture_time_correction(
    case_videos, lead, signed_in
):
    case, earlier, later, _ = case_videos
    client = signed_in(lead)
    url = reverse("evidence:case_item_clock", args=[case.pk, earlier.pk])
    response = client.post(url, {"seconds": "25.5", "reason": "Phone clock was slow"})
    assert response.status_code == 302 and response.url.endswith("#sync")
    earlier.refresh_from_db()
    assert earlier.capture_time == T0 + dt.timedelta(seconds=25.5)
    # A person's statement now, like any hand correction of the capture time.
    assert (earlier.capture_time_source, earlier.capture_time_confidence) == (
        "uploader_claim",
        "low",
    )
    row = AuditEvent.objects.get(action="evidence.metadata_changed", target_id=str(earlier.pk))
    assert row.reason == "Phone clock was slow"
    assert row.details["field"] == "capture_time"
    assert row.details["old"] == "2026-11-03T14:00:00+00:00"
    assert row.details["new"] == "2026-11-03T14:00:25.500000+00:00"
    assert row.actor_id == lead.pk
    # Now after the doorbell video, and shown with its correction.
    videos = _playback(client, case)
    assert [v["label"] for v in videos[:2]] == ["doorbell.mp4", "phone.mp4"]
    shifted = videos[1]
    assert shifted["corrected_seconds"] == 25.5
    assert [(c["seconds"], c["reason"]) for c in shifted["corrections"]] == [
        (25.5, "Phone clock was slow")
    ]
    client.post(url, {"seconds": "-0.5", "reason": "Fine tuning"})
    assert _playback(client, case)[1]["corrected_seconds"] == 25.0
    body = client.get(reverse("evidence:case_detail", args=[case.pk])).content.decode()
    assert "Capture time corrected by hand: 25.0 s in all" in body and "Fine tuning" in body


def test_a_clock_shift_needs_a_reason_a_number_and_a_capture_time(case_videos, lead, signed_in):
    case, earlier, _, undated = case_videos
    client = signed_in(lead)
    url = reverse("evidence:case_item_clock", args=[case.pk, earlier.pk])
    for body in (
        {"seconds": "3"},
        {"seconds": "0", "reason": "x"},
        {"seconds": "90000", "reason": "x"},
    ):
        client.post(url, body)
    client.post(
        reverse("evidence:case_item_clock", args=[case.pk, undated.pk]),
        {"seconds": "3", "reason": "x"},
    )
    assert not AuditEvent.objects.filter(action="evidence.metadata_changed").exists()
    earlier.refresh_from_db()
    assert earlier.capture_time == T0


def test_only_who_sees_the_case_gets_its_playback_and_only_editors_shift(
    case_videos, lead, make_staff, other_police, signed_in
):
    case, earlier, *_ = case_videos
    playback = reverse("evidence:case_playback", args=[case.pk])
    clock = reverse("evidence:case_item_clock", args=[case.pk, earlier.pk])
    shift = {"seconds": "2", "reason": "Clock"}
    for outsider in (
        make_staff(role=Role.SUPERVISOR, agency=other_police),  # another agency
        make_staff(),  # a colleague not on the case
    ):
        client = signed_in(outsider)
        assert client.get(playback).status_code == 404
        assert client.post(clock, shift).status_code == 404
    member = make_staff(role=Role.DISPATCHER)
    case_services.case_member_add(actor=lead, case=case, user=member)
    client = signed_in(member)
    assert client.get(playback).status_code == 200  # a read-only member watches
    assert client.post(clock, shift).status_code == 403  # but may not shift a clock
    # An item that is not in this case is not found through it.
    elsewhere = _video(lead.agency, "other.mp4", T0)
    other_clock = reverse("evidence:case_item_clock", args=[case.pk, elsewhere.pk])
    assert signed_in(lead).post(other_clock, shift).status_code == 404
    assert not AuditEvent.objects.filter(action="evidence.metadata_changed").exists()


def test_a_body_cameras_track_comes_with_its_video(lead, police, signed_in):
    bodycam = _playable(
        recorded_item(
            police, started_at=T0, fixes=[(0, 40.71, -74.0, 4.0), (8, 40.72, -74.0, 4.0)],
            capture_time=T0, capture_time_source="device_metadata",
            capture_time_confidence="high",
        )
    )  # fmt: skip
    case = make_case(lead=lead, items=[bodycam])
    (video,) = _playback(signed_in(lead), case)
    assert video["confidence"] == "high"
    props = video["track"]["features"][0]["properties"]
    assert props["video_seconds"][-1] > props["video_seconds"][0]


def test_a_cctv_cameras_cone_comes_with_its_footage(
    lead, police, other_police, signed_in, make_staff
):
    from evidence.models import Source
    from registry.models import FootageRequestCamera
    from tests.registry.cameras import investigator, owner
    from tests.registry.requests_helpers import ask, camera_facing_incident, search

    officer = investigator(police)
    front = camera_facing_incident(owner(role="business"), name="Shop front")
    request = ask(officer, search(officer), [front])
    rc = FootageRequestCamera.objects.get(request=request, camera=front)
    footage = _video(police, "shop.mp4", T0, source=Source.FOOTAGE_REQUEST, source_ref=str(rc.pk))
    stray = _video(other_police, "stray.mp4", T0, source=Source.FOOTAGE_REQUEST)
    stray.source_ref = str(rc.pk)  # another agency's item naming this request's camera
    stray.save(update_fields=["source_ref"])
    case = make_case(lead=lead, items=[footage])
    (video,) = _playback(signed_in(lead), case)
    camera = video["camera"]
    assert camera["label"].startswith("Shop front (")
    assert (camera["lat"], camera["lon"]) == pytest.approx((front.location.y, front.location.x))
    assert camera["cone"]["type"] == "Polygon"
    from evidence.sources import item_camera

    assert item_camera(officer, stray) is None
    # A case member the registry does not show cameras to (a dispatcher) gets the video
    # without its camera: the owner's camera and where it stands are the registry's to show.
    dispatcher = make_staff(agency=police, role=Role.DISPATCHER)
    case_services.case_member_add(actor=lead, case=case, user=dispatcher)
    (seen,) = _playback(signed_in(dispatcher), case)
    assert seen["camera"] is None
