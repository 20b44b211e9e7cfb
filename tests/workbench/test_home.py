"""The home page: three ways in for a visitor, and each signed-in person's work at once."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.roles import Role
from tests.conftest import client_for
from tests.evidence.cases_helpers import verified
from tests.registry.cameras import owner
from tests.registry.requests_helpers import ask, camera_facing_incident, search, token_of

pytestmark = pytest.mark.django_db


def test_a_visitor_gets_the_three_actions_and_the_receipt_link(client):
    page = client.get("/")
    text = page.content.decode()
    assert page.status_code == 200
    assert f'href="{reverse("submissions:landing")}"' in text  # send a tip, no account
    assert f'href="{reverse("cameras:new")}"' in text  # register your camera
    assert f'action="{reverse("portal:footage_link")}"' in text  # paste the email's link
    assert f'href="{reverse("submissions:return_start")}"' in text  # my tip, with my receipt
    assert "Send a tip" in text.split("</nav>")[0]  # in the public navigation too


def test_in_spanish_the_home_page_speaks_spanish(client):
    text = client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    for spanish in (
        "Enviar una denuncia",
        "Registre su cámara",
        "¿Recibió una solicitud de video?",
    ):
        assert spanish in text, spanish


def test_staff_land_on_the_dashboard_and_prosecutors_on_shared_with_me(make_staff, prosecution):
    investigator = make_staff(Role.INVESTIGATOR)
    assert client_for(investigator).get("/")["Location"] == reverse("portal:dashboard")
    prosecutor = make_staff(Role.PROSECUTOR, agency=prosecution)
    assert client_for(prosecutor).get("/")["Location"] == reverse("evidence:shared_list")
    auditor = make_staff(Role.AUDITOR)
    assert client_for(auditor).get("/")["Location"] == reverse("portal:dashboard")


def test_a_resident_lands_on_their_cameras_and_open_requests(police, make_staff):
    resident = owner()
    porch = camera_facing_incident(resident, name="Porch camera")
    investigator = verified(make_staff(Role.INVESTIGATOR))
    ask(investigator, search(investigator), [porch], deadline=timezone.now() + dt.timedelta(days=2))
    stranger = owner()
    camera_facing_incident(stranger, name="Stranger's camera")
    page = client_for(resident).get("/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Porch camera" in text and "Stranger&#x27;s camera" not in text
    requests = text.split('id="owner-requests"')[1].split("</section>")[0]
    assert "Riverton PD" in requests and "Porch camera" in requests
    nav = text.split("</nav>")[0]
    assert "Sign in" not in nav and "Sign out" in nav
    assert "Sign in" not in text.split("<main>")[1]


def test_a_pasted_request_link_opens_the_answer_page(client, police, make_staff):
    investigator = verified(make_staff(Role.INVESTIGATOR))
    camera = camera_facing_incident(owner())
    request = ask(investigator, search(investigator), [camera])
    link = f"http://testserver/footage/{request.pk}/?t=sometoken123"
    response = client.post(reverse("portal:footage_link"), {"link": f"  {link} "})
    assert response.status_code == 302
    assert response["Location"] == f"/footage/{request.pk}/?t=sometoken123"
    assert token_of(response["Location"]) == "sometoken123"


@pytest.mark.parametrize(
    "pasted",
    ["", "hello", "https://example.org/footage/not-a-uuid/?t=x", "/footage/" + "0" * 36 + "/"],
)
def test_a_bad_pasted_link_is_explained(client, pasted):
    response = client.post(reverse("portal:footage_link"), {"link": pasted})
    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()
