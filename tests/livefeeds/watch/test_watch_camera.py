"""Watching a resident's camera live, without the relay: the owner's policy refuses in words
(never, another agency, no feed, paused), the view is audited and asks the relay manager for
the stream, the HLS check re-reads the owner's decision (≤ 1 s) and marks the viewer seen,
on_publish for `cam` needs a known camera with a feed, and the owner's "who looked" page."""

import datetime as dt
import time

import pytest
from django.urls import reverse

from livefeeds import relaystate, services, watching
from livefeeds.models import ViewSession
from portal.models import AuditEvent
from portal.roles import Role
from registry import feeds, selectors
from tests.conftest import client_for
from tests.factories import UserFactory, add_totp_device
from tests.livefeeds.helpers import supervisor_of
from tests.livefeeds.watch.helpers import link
from tests.registry.cameras import owner as make_owner

pytestmark = pytest.mark.django_db

WHY = {
    "reason": "Armed robbery in progress",
    "case_ref": "CAD-2026-0099",
    "reason_category": "incident",
}


def _hls(token, stream):
    return f"/hls/{token}/cam/{stream}/index.m3u8"


def _refused(actor, camera):
    with pytest.raises(watching.CameraRefused) as refused:
        watching.watch_camera(actor=actor, camera=camera, **WHY)
    return refused.value


def test_a_supervisor_watches_a_camera_shared_always_and_it_is_audited_and_wanted(
    camera, cam_owner, police, private_sources
):
    link(camera, cam_owner, agency=police)
    sam = supervisor_of(police, full_name="Sam Supervisor")
    session, token = watching.watch_camera(actor=sam, camera=camera, **WHY)
    stream = selectors.live_stream_of(camera)
    assert (session.app, session.stream, session.camera_id, session.device_id) == (
        "cam", stream, camera.pk, None,
    )  # fmt: skip
    started = AuditEvent.objects.get(action="live.view_started")
    assert (started.reason, started.case_ref) == (WHY["reason"], WHY["case_ref"])
    assert started.details["policy"] == "always"
    assert stream in relaystate.wanted()
    # The HLS check lets the token through and tells the relay manager a viewer is there.
    assert services.hls_allowed(_hls(token, stream))
    assert relaystate.last_seen(stream) is not None
    # A wrong token, or this token on another camera's path: refused.
    assert not services.hls_allowed(_hls("A" * 22, stream))
    assert not services.hls_allowed(_hls(token, "b" * 32))
    assert not services.hls_allowed(f"/hls/{token}/live/{stream}/index.m3u8")


@pytest.mark.parametrize(
    ("setup", "code", "words"),
    [
        ("never", "never", "does not share it live"),
        ("other_agency", "other_agency", "with another agency, not yours"),
        ("no_feed", "no_stream", "has not linked a live stream"),
        ("paused", "paused", "paused live sharing"),
        ("ask", "ask_pending", "only when asked"),
        ("incident", "no_incident_near", "only during an incident near it"),
    ],
)
def test_the_owners_policy_refuses_in_words(
    setup, code, words, police, other_police, camera, cam_owner, private_sources
):
    if setup == "never":
        link(camera, cam_owner, mode="never")
    elif setup == "other_agency":
        link(camera, cam_owner, agency=other_police)
    elif setup == "no_feed":
        feeds.live_policy_set(
            actor=cam_owner, camera_id=camera.pk, mode="always", agency_id=police.pk
        )
    elif setup == "paused":
        link(camera, cam_owner, agency=police)
        feeds.live_pause(actor=cam_owner, camera_id=camera.pk)
    else:
        link(camera, cam_owner, mode=setup)
    refusal = _refused(supervisor_of(police), camera)
    assert refusal.code == code
    assert words in str(refusal)
    assert not ViewSession.objects.exists()
    denied = AuditEvent.objects.get(action="live.view_refused")
    assert denied.outcome == AuditEvent.Outcome.DENIED and denied.details["code"] == code


def test_the_watch_page_shows_the_refusal_and_refuses_with_409(
    camera, cam_owner, police, private_sources
):
    link(camera, cam_owner, mode="never")
    client = client_for(supervisor_of(police))
    url = reverse("livefeeds:watch_camera", args=[camera.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b"does not share it live" in page.content
    response = client.post(url, WHY)
    assert response.status_code == 409
    assert b"does not share it live" in response.content


def test_a_camera_outside_the_agencys_reach_is_404_and_investigators_may_not_watch(
    camera, cam_owner, police, private_sources
):
    from tests.registry.cameras import agency_elsewhere

    link(camera, cam_owner, agency=police)
    far = supervisor_of(agency_elsewhere(name="Far PD", slug="far-pd"))
    url = reverse("livefeeds:watch_camera", args=[camera.pk])
    assert client_for(far).get(url).status_code == 404
    investigator = UserFactory(agency=police, role=Role.INVESTIGATOR)
    add_totp_device(investigator)
    assert client_for(investigator).get(url).status_code == 403


def test_a_pause_refuses_the_next_hls_request_within_a_second(
    camera, cam_owner, police, private_sources
):
    link(camera, cam_owner, agency=police)
    session, token = watching.watch_camera(actor=supervisor_of(police), camera=camera, **WHY)
    uri = _hls(token, session.stream)
    assert services.hls_allowed(uri)
    feeds.live_pause(actor=cam_owner, camera_id=camera.pk)
    time.sleep(watching.DECISION_CACHE_SECONDS + 0.1)
    assert not services.hls_allowed(uri)
    status = watching.cam_status(session)
    assert status == {
        "state": "refused",
        "detail": "The owner has paused live sharing.",
        "code": "paused",
    }


def test_the_viewer_page_shows_the_relay_managers_status(
    camera, cam_owner, police, private_sources
):
    link(camera, cam_owner, agency=police)
    sam = supervisor_of(police)
    session, _ = watching.watch_camera(actor=sam, camera=camera, **WHY)
    client = client_for(sam)
    url = reverse("livefeeds:view_status", args=[session.pk])
    assert client.get(url).json()["state"] == "connecting"
    for state, words in [
        ("live", "streaming"),
        ("unreachable", "unreachable"),
        ("not_h264", "H.264"),
        ("wrong_credentials", "user name or password"),
    ]:
        relaystate.set_status(session.stream, state, "")
        answer = client.get(url).json()
        assert answer["state"] == state and words in answer["detail"]


def test_on_publish_for_cam_needs_a_known_camera_with_a_feed(
    client, settings, camera, cam_owner, police, private_sources
):
    url = f"{reverse('relay:on_publish')}?secret={settings.RELAY_SECRET}"
    form = {"app": "cam", "addr": "127.0.0.1"}
    stream = selectors.live_stream_of(camera)

    def publish(name, key=None):
        key = relaystate.publish_key_issue(name) if key is None else key
        return client.post(url, {**form, "name": name, "relay": key}).status_code

    assert publish("a" * 32) == 403
    assert publish(stream) == 403  # no feed yet
    link(camera, cam_owner, agency=police)
    assert publish(stream, settings.RELAY_SECRET) == 403  # the lasting secret is no key
    key = relaystate.publish_key_issue(stream)
    assert publish(stream, key) == 200
    assert publish(stream, key) == 403  # one publish per key
    whys = set(
        AuditEvent.objects.filter(action="live.publish_refused").values_list(
            "details__why", flat=True
        )
    )
    assert whys == {"unknown camera", "no stream linked", "wrong relay key"}


def test_the_owner_sees_who_watched_when_how_long_and_why(
    camera, cam_owner, police, private_sources
):
    link(camera, cam_owner, agency=police)
    sam = supervisor_of(police, full_name="Sam Supervisor")
    session, _ = watching.watch_camera(actor=sam, camera=camera, **WHY)
    services.view_end(actor=sam, session=session)
    page = client_for(cam_owner).get(reverse("live_owner:who_looked", args=[camera.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    for fact in ("Sam Supervisor", "Riverton PD", WHY["reason"], WHY["case_ref"], " s ("):
        assert fact in text
    # When, on the owner's own clock (local-time.js), with the UTC instant behind it.
    started = session.started_at.astimezone(dt.UTC).isoformat(timespec="seconds")
    assert f'<time datetime="{started.replace("+00:00", "Z")}" data-local-time>' in text
    # Another owner may not see it.
    other = make_owner()
    assert (
        client_for(other).get(reverse("live_owner:who_looked", args=[camera.pk])).status_code == 404
    )
    # The camera's live page links to it.
    live = client_for(cam_owner).get(reverse("cameras:live", args=[camera.pk]))
    assert b"who-looked-link" in live.content
