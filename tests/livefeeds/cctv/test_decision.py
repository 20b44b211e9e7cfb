"""cctv_live_decision: the owner's policy, the pause, "ask me each time" and incidents near."""

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from devices.models import CadIncident
from livefeeds.cctv import cctv_live_ask, cctv_live_decision
from portal.models import AuditEvent
from registry import feeds
from registry.models import LiveAsk
from tests.registry.cameras import INCIDENT, agency_elsewhere, investigator, offset

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(camera, cam_owner, private_sources):
    feeds.feed_set(
        actor=cam_owner,
        camera_id=camera.pk,
        address="rtsp://127.0.0.1:8554/s",
        username="u",
        password="p",
    )
    return camera


def _policy(camera, owner, mode, **kwargs):
    return feeds.live_policy_set(actor=owner, camera_id=camera.pk, mode=mode, **kwargs)


def _incident(agency, north_m, *, cleared=False, ident="INC-1"):
    lat, lon = offset(*INCIDENT, north_m=north_m, east_m=0)
    now = timezone.now()
    return CadIncident.objects.create(
        agency=agency,
        incident_id=ident,
        point=Point(lon, lat, srid=4326),
        dispatched_at=now - dt.timedelta(minutes=5),
        cleared_at=now if cleared else None,
        received_at=now,
    )


def test_never_is_the_default(camera, police):
    decision = cctv_live_decision(camera, police)
    assert (decision.allowed, decision.code) == (False, "never")


def test_no_stream_linked_is_refused_whatever_the_policy(camera, cam_owner, police):
    _policy(camera, cam_owner, "always", agency_id=police.pk)
    assert cctv_live_decision(camera, police).code == "no_stream"


def test_always_allows_the_named_agency_only(linked, cam_owner, police):
    _policy(linked, cam_owner, "always", agency_id=police.pk)
    decision = cctv_live_decision(linked, police)
    assert (decision.allowed, decision.code) == (True, "always")
    elsewhere = agency_elsewhere()
    assert cctv_live_decision(linked, elsewhere).code == "other_agency"


def test_always_cannot_name_an_agency_that_does_not_cover_the_camera(linked, cam_owner):
    elsewhere = agency_elsewhere()
    with pytest.raises(ValidationError):
        _policy(linked, cam_owner, "always", agency_id=elsewhere.pk)


def test_a_pause_refuses_at_once_and_resuming_restores_the_policy(linked, cam_owner, police):
    _policy(linked, cam_owner, "always", agency_id=police.pk)
    feeds.live_pause(actor=cam_owner, camera_id=linked.pk)
    decision = cctv_live_decision(linked, police)
    assert (decision.allowed, decision.code) == (False, "paused")
    feeds.live_pause(actor=cam_owner, camera_id=linked.pk, paused=False)
    assert cctv_live_decision(linked, police).code == "always"
    actions = list(
        AuditEvent.objects.filter(target_id=str(linked.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions[-3:] == [
        "registry.live_policy_changed",
        "registry.live_paused",
        "registry.live_resumed",
    ]


def test_an_incident_near_allows_while_open_and_not_after_it_clears(linked, cam_owner, police):
    _policy(linked, cam_owner, "incident", incident_distance_m=300)
    assert cctv_live_decision(linked, police).code == "no_incident_near"
    far = _incident(police, north_m=900, ident="FAR")
    assert cctv_live_decision(linked, police).code == "no_incident_near"
    near = _incident(police, north_m=150, ident="NEAR")
    decision = cctv_live_decision(linked, police)
    assert (decision.allowed, decision.code) == (True, "incident_near")
    near.cleared_at = timezone.now()
    near.save()
    assert cctv_live_decision(linked, police).code == "no_incident_near"
    far.delete()


def test_another_agencys_incident_does_not_open_the_camera(linked, cam_owner, police):
    _policy(linked, cam_owner, "incident", incident_distance_m=300)
    elsewhere = agency_elsewhere()
    _incident(elsewhere, north_m=50)
    assert cctv_live_decision(linked, police).code == "no_incident_near"
    assert cctv_live_decision(linked, elsewhere).code == "other_agency"


def test_ask_me_each_time_emails_the_owner_once_and_allows_for_the_chosen_time(
    linked, cam_owner, police, django_capture_on_commit_callbacks
):
    _policy(linked, cam_owner, "ask")
    officer = investigator(police)
    assert cctv_live_decision(linked, police).code == "ask_pending"
    with django_capture_on_commit_callbacks(execute=True):
        ask, made = cctv_live_ask(actor=officer, camera=linked, reason="Robbery in progress")
        again, made_again = cctv_live_ask(actor=officer, camera=linked, reason="Still needed")
    assert (made, made_again, again.pk) == (True, False, ask.pk)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [cam_owner.email]
    assert "Robbery in progress" in mail.outbox[0].body
    assert cctv_live_decision(linked, police).code == "ask_pending"

    feeds.live_ask_answer(ask=ask, minutes=15)
    decision = cctv_live_decision(linked, police)
    assert (decision.allowed, decision.code) == (True, "ask_allowed")
    assert decision.until is not None
    assert dt.timedelta(minutes=14) < decision.until - timezone.now() <= dt.timedelta(minutes=15)
    later = timezone.now() + dt.timedelta(minutes=16)
    assert cctv_live_decision(linked, police, at=later).code == "ask_pending"
    with pytest.raises(ValidationError):
        feeds.live_ask_answer(ask=ask, minutes=60)


def test_a_declined_ask_stays_refused(linked, cam_owner, police):
    _policy(linked, cam_owner, "ask")
    ask, _ = cctv_live_ask(actor=investigator(police), camera=linked, reason="Check")
    feeds.live_ask_answer(ask=ask, minutes=None)
    assert LiveAsk.objects.get(pk=ask.pk).status == LiveAsk.Status.DECLINED
    assert cctv_live_decision(linked, police).code == "ask_pending"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"registry.live_asked", "registry.live_ask_declined"} <= actions


def test_an_allowance_ends_when_the_owner_pauses(linked, cam_owner, police):
    _policy(linked, cam_owner, "ask")
    ask, _ = cctv_live_ask(actor=investigator(police), camera=linked, reason="Check")
    feeds.live_ask_answer(ask=ask, minutes=30)
    assert cctv_live_decision(linked, police).allowed
    feeds.live_pause(actor=cam_owner, camera_id=linked.pk)
    assert cctv_live_decision(linked, police).code == "paused"


def test_an_expired_ask_link_cannot_be_answered(linked, cam_owner, police):
    _policy(linked, cam_owner, "ask")
    ask, _ = cctv_live_ask(actor=investigator(police), camera=linked, reason="Check")
    LiveAsk.objects.filter(pk=ask.pk).update(expires_at=timezone.now())
    with pytest.raises(ValidationError):
        feeds.live_ask_answer(ask=ask, minutes=15)


def test_a_paused_camera_is_paused_for_live_too(linked, cam_owner, police):
    from registry import services

    _policy(linked, cam_owner, "always", agency_id=police.pk)
    services.camera_pause(actor=cam_owner, camera_id=linked.pk)
    assert cctv_live_decision(linked, police).code == "paused"


@pytest.mark.parametrize("mode", ["never", "always", "incident"])
def test_owners_who_did_not_choose_ask_me_are_never_emailed(
    linked, cam_owner, police, mode, django_capture_on_commit_callbacks
):
    _policy(linked, cam_owner, mode, agency_id=police.pk if mode == "always" else None)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        cctv_live_ask(actor=investigator(police), camera=linked, reason="Check")
    assert mail.outbox == []
    assert not LiveAsk.objects.exists()


def test_a_paused_owner_is_not_emailed(linked, cam_owner, police):
    _policy(linked, cam_owner, "ask")
    feeds.live_pause(actor=cam_owner, camera_id=linked.pk)
    with pytest.raises(ValidationError):
        cctv_live_ask(actor=investigator(police), camera=linked, reason="Check")
    assert mail.outbox == []
