"""The camera form for non-experts: presets, time pickers, each participation level in one line,
the time zone under "advanced" (the agency's by default), and bad input refused in words."""

import pytest
from django.urls import reverse

from registry.forms import CameraForm
from registry.models import Camera
from tests.conftest import sign_in
from tests.registry.cameras import INCIDENT, owner, register
from tests.registry.test_pages_and_api import form_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client):
    person = owner("business")
    sign_in(client, person)
    return person


def test_the_new_camera_form_explains_itself(client, alice, police):
    page = client.get(reverse("cameras:new")).content.decode()
    for preset in ("Doorbell camera", "Driveway camera", "Shop front camera"):
        assert preset in page
    assert 'data-preset="{&quot;id_kind&quot;: &quot;doorbell&quot;' in page
    assert page.count('type="time"') == 4
    assert page.count('type="radio" name="participation"') == 4
    assert "Investigators only learn that a camera is here" in page
    assert "say you have none, or decline" in page
    advanced = page[page.index('<details id="advanced"') :]
    assert 'name="time_zone"' in advanced
    # The agency's zone is chosen (Riverton PD covers the map's default centre).
    assert '<option value="America/New_York" selected>' in advanced


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"range_m": 0}, "range_m", "The range is at least 1 metre."),
        ({"range_m": 501}, "range_m", "The range is at most 500 metres."),
        ({"range_m": "far"}, "range_m", "Enter a whole number."),
        (
            {"records_always": False, "records_from": "25:00", "records_until": "07:00"},
            "records_from",
            "Enter a time such as 07:30 or 22:00.",
        ),
        (
            {"records_always": False, "records_from": "7pm", "records_until": "07:00"},
            "records_from",
            "Enter a time such as 07:30 or 22:00.",
        ),
        (
            {"records_always": False, "records_from": "08:00", "records_until": "08:00"},
            "records_until",
            "Recording cannot start and end at the same time",
        ),
        ({"quiet_from": "22:00", "quiet_until": "22:00"}, "quiet_until", "cannot start and end"),
        ({"quiet_from": "22:61", "quiet_until": "07:00"}, "quiet_from", "Enter a time such as"),
        ({"quiet_from": "22:00"}, "quiet_until", "Give both ends of the quiet hours"),
        ({"participation": "everything"}, "participation", "Select a valid choice"),
    ],
)
def test_bad_field_input_is_refused_in_words_and_saves_nothing(
    client, alice, overrides, field, words
):
    post = form_post(*INCIDENT, **overrides)
    if "records_always" in overrides:
        post["records_always"] = ""
    response = client.post(reverse("cameras:new"), post)
    assert response.status_code == 200
    form = response.context["form"]
    assert any(words in e for e in form.errors[field]), form.errors
    assert words.replace("'", "&#x27;") in response.content.decode()
    assert not Camera.objects.exists()


def test_time_pickers_values_are_stored_and_shown_back_as_hours_and_minutes(client, alice):
    post = form_post(
        *INCIDENT,
        records_always=False,
        records_from="18:30",
        records_until="06:00",
        quiet_from="22:00",
        quiet_until="07:15",
    )
    post["records_always"] = ""
    assert client.post(reverse("cameras:new"), post).status_code == 302
    cam = Camera.objects.get(owner=alice)
    assert (cam.records_from.isoformat(), cam.records_until.isoformat()) == ("18:30:00", "06:00:00")
    assert (cam.quiet_from.isoformat(), cam.quiet_until.isoformat()) == ("22:00:00", "07:15:00")
    page = client.get(reverse("cameras:edit", args=[cam.pk])).content.decode()
    assert 'type="time" name="records_from" value="18:30"' in page


def test_plurals_on_the_owners_pages(client, alice):
    register(alice, *INCIDENT, name="One day", retention_days=1)
    register(alice, *INCIDENT, name="A week", retention_days=7)
    page = client.get(reverse("cameras:mine")).content.decode()
    assert "<td>1 day</td>" in page and "<td>7 days</td>" in page


def test_participation_help_covers_every_level():
    form = CameraForm()
    levels = [radio.data["value"] for radio, _ in form.participation_options()]
    assert len(levels) == 4 and all(help for _, help in form.participation_options())
