"""Owners, tipsters and the public read times on their own clock: each of their pages gives
the instant as <time datetime="…Z" data-local-time> (static/js/local-time.js rewrites it in
the reader's zone and language; without JavaScript the UTC text stays)."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse

from evidence.models import ShareLink, SigningKey
from registry.models import Camera, FootageRequest, LiveAsk
from tests.conftest import client_for
from tests.portal.public_pages import public_world

pytestmark = pytest.mark.django_db

# A known instant, in the future so that no link or request it is put on has expired.
AT = dt.datetime(2031, 7, 4, 18, 30, 15, tzinfo=dt.UTC)
TIME = '<time datetime="2031-07-04T18:30:15Z" data-local-time>2031-07-04 18:30 UTC</time>'


def _time_of(instant: dt.datetime) -> str:
    utc = instant.astimezone(dt.UTC)
    return (
        f'<time datetime="{utc.isoformat(timespec="seconds").replace("+00:00", "Z")}" '
        f"data-local-time>{utc:%Y-%m-%d %H:%M} UTC</time>"
    )


@pytest.fixture
def world():
    return public_world()


def _body(response, status: int = 200) -> str:
    assert response.status_code == status, response.status_code
    return response.content.decode()


def test_the_defence_download_page_gives_the_expiry_as_a_local_time(world):
    ShareLink.objects.update(expires_at=AT)
    body = _body(Client().get(reverse("evidence_public:link") + f"?t={world['defence_token']}"))
    assert TIME in body
    assert "UTC. Each download" not in body


def test_the_live_ask_page_gives_the_asked_time_as_a_local_time(world):
    LiveAsk.objects.filter(pk=world["live_ask"].pk).update(created_at=AT)
    url = reverse("cameras:live_ask", args=[world["live_ask"].pk]) + f"?t={world['live_token']}"
    body = _body(Client().get(url))
    assert f'<dd id="ask-created">{TIME}</dd>' in body


def test_the_live_ask_page_gives_the_allowed_until_as_a_local_time(world):
    LiveAsk.objects.filter(pk=world["live_ask"].pk).update(
        status=LiveAsk.Status.ALLOWED, allowed_until=AT, decided_at=AT - dt.timedelta(hours=1)
    )
    url = reverse("cameras:live_ask", args=[world["live_ask"].pk]) + f"?t={world['live_token']}"
    body = _body(Client().get(url))
    assert TIME in body
    assert " UTC." not in body


def test_the_receipt_pages_give_local_times(world):
    verified = _body(
        Client().post(reverse("receipts:verify"), {"receipt": json.dumps(world["receipt"])})
    )
    acknowledged = dt.datetime.fromisoformat(world["receipt"]["receipt"]["acknowledged_at"])
    assert f'<td id="receipt-acknowledged">{_time_of(acknowledged)}</td>' in verified
    assert "Acknowledged (UTC)" not in verified

    SigningKey.objects.filter(agency=world["police"]).update(created_at=AT)
    keys = _body(Client().get(reverse("receipts:keys", args=[world["police"].slug])))
    assert f"In use since {TIME}" in keys


def test_the_owner_footage_receipt_gives_the_deadline_as_a_local_time(world):
    FootageRequest.objects.filter(pk=world["request"].pk).update(deadline=AT)
    url = reverse("registry_owner:receipt", args=[world["request"].pk])
    body = _body(Client().get(url + f"?t={world['footage_token']}"))
    assert f"answered by {TIME} at the latest" in body


def test_an_expired_footage_link_gives_its_deadline_as_a_local_time(world):
    past = dt.datetime(2021, 3, 2, 9, 5, tzinfo=dt.UTC)
    FootageRequest.objects.filter(pk=world["request"].pk).update(deadline=past)
    url = reverse("registry_owner:respond", args=[world["request"].pk])
    body = _body(Client().get(url + f"?t={world['footage_token']}"), status=410)
    assert f"This link expired on {_time_of(past)}." in body


def test_the_owner_camera_pages_give_local_times(world):
    owner = client_for(world["shop"])
    Camera.objects.filter(pk=world["camera"].pk).update(paused_at=AT)
    mine = _body(owner.get(reverse("cameras:mine")))
    assert f"<strong>Paused</strong> since {TIME}" in mine

    LiveAsk.objects.filter(pk=world["live_ask"].pk).update(created_at=AT)
    live = _body(owner.get(reverse("cameras:live", args=[world["camera"].pk])))
    assert f"<li>{TIME}: Riverton PD" in live

    history = _body(owner.get(reverse("camera_history:all")))
    assert "data-local-time" in history and "When (UTC)" not in history


def test_the_spanish_page_keeps_the_time_element(world):
    ShareLink.objects.update(expires_at=AT)
    url = reverse("evidence_public:link") + f"?t={world['defence_token']}"
    body = _body(Client().get(url, HTTP_ACCEPT_LANGUAGE="es"))
    assert '<html lang="es">' in body
    assert f"el enlace caduca el {TIME}" in body
