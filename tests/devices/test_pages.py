"""The inventory's staff pages, through the Django test client."""

import datetime as dt
import json
import re

import pytest
from django.urls import reverse

from devices.models import Device, DeviceAssignment, DeviceCredential, Recording
from portal.models import AuditEvent
from portal.roles import Role
from portal.tokens import token_matches
from tests.conftest import client_for
from tests.devices.factories import DeviceFactory, assigned, officer_of
from tests.factories import UserFactory, stored_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(make_staff):
    return make_staff(role=Role.SUPERVISOR)


@pytest.fixture
def client(supervisor):
    return client_for(supervisor)


@pytest.fixture
def device(police):
    return DeviceFactory(agency=police, serial="BWC-00042")


def test_the_navigation_links_the_inventory_for_those_who_see_it(client, make_staff):
    page = client.get(reverse("portal:dashboard")).content.decode()
    assert reverse("devices:list") in page
    investigator = client_for(make_staff(role=Role.INVESTIGATOR))
    assert (
        reverse("devices:list")
        not in investigator.get(reverse("portal:dashboard")).content.decode()
    )
    assert investigator.get(reverse("devices:list")).status_code == 403


def test_add_a_device_and_find_it_in_the_list(client, police):
    response = client.post(
        reverse("devices:add"), {"serial": "BWC-7", "make": "Axis", "model": "W110", "firmware": ""}
    )
    device = Device.objects.get(serial="BWC-7")
    assert response.status_code == 302 and response["Location"] == reverse(
        "devices:detail", args=[device.pk]
    )
    assert "BWC-7" in client.get(reverse("devices:list")).content.decode()


def test_a_duplicate_serial_shows_on_the_form(client, device):
    response = client.post(
        reverse("devices:add"), {"serial": device.serial, "make": "Axis", "model": "W110"}
    )
    assert response.status_code == 200
    assert "already has a device with this serial" in response.content.decode()


def test_inventory_filters_by_training(client, police):
    ok, lapsed = (
        DeviceFactory(agency=police, serial="OK-1"),
        DeviceFactory(agency=police, serial="LAPSED-1"),
    )
    assigned(ok, officer_of(police))
    untrained = UserFactory(agency=police, role=Role.OFFICER, full_name="Una Untrained")
    assigned(lapsed, untrained)
    page = client.get(reverse("devices:list"), {"training": "expired"}).content.decode()
    assert "LAPSED-1" in page and "OK-1" not in page
    assert "Una Untrained" in page and "Not current" in page


def test_viewing_a_device_page_is_audited(client, device, supervisor):
    response = client.get(reverse("devices:detail", args=[device.pk]))
    assert response.status_code == 200
    row = AuditEvent.objects.filter(action="device.viewed").get()
    assert row.target_id == str(device.pk) and row.actor == supervisor


def test_times_show_in_the_agency_zone_with_utc_beside(client, device, police):
    officer = officer_of(police)
    assigned(device, officer, at=dt.datetime(2026, 7, 1, 14, 30, tzinfo=dt.UTC))
    page = client.get(reverse("devices:detail", args=[device.pk])).content.decode()
    assert "2026-07-01 10:30 America/New_York (14:30 UTC)" in page


def test_check_out_lists_only_the_agencys_wearers(client, device, police, other_police, make_staff):
    mine = officer_of(police, full_name="Officer Mine")
    officer_of(other_police, full_name="Officer Elsewhere")
    make_staff(role=Role.DISPATCHER, full_name="Dispatcher Desk")
    page = client.get(reverse("devices:detail", args=[device.pk])).content.decode()
    assert "Officer Mine" in page
    assert "Officer Elsewhere" not in page and "Dispatcher Desk" not in page
    response = client.post(reverse("devices:check_out", args=[device.pk]), {"officer": mine.pk})
    assert response.status_code == 302
    assert DeviceAssignment.objects.get(device=device, checked_in_at__isnull=True).officer == mine


def test_another_agencys_officer_cannot_be_chosen(client, device, other_police):
    stranger = officer_of(other_police)
    client.post(reverse("devices:check_out", args=[device.pk]), {"officer": stranger.pk})
    assert not DeviceAssignment.objects.exists()


def test_untrained_check_out_is_refused_with_a_message(client, device, police):
    untrained = UserFactory(agency=police, role=Role.OFFICER)
    response = client.post(
        reverse("devices:check_out", args=[device.pk]), {"officer": untrained.pk}, follow=True
    )
    assert "no current body-camera training" in response.content.decode()
    assert AuditEvent.objects.filter(action="device.checkout_refused").exists()


def test_check_in(client, device, police):
    assigned(device, officer_of(police))
    client.post(reverse("devices:check_in", args=[device.pk]))
    assert DeviceAssignment.objects.get(device=device).checked_in_at is not None


def test_issue_shows_the_token_once_with_a_provisioning_qr(client, device):
    response = client.post(reverse("devices:credential_issue", args=[device.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    token = re.search(r'<code class="secret" id="device-token">([^<]+)</code>', page).group(1)
    credential = DeviceCredential.objects.get(device=device)
    assert token_matches(token, credential.token_hash)
    assert "<svg" in page
    provisioning = json.loads(
        re.search(r"<details>.*?<code class=\"secret\">([^<]+)</code>", page, re.S)
        .group(1)
        .replace("&quot;", '"')
    )
    assert provisioning == {
        "api": "http://testserver/api/devices/v1/",
        "device": str(device.pk),
        "token": token,
    }
    again = client.get(reverse("devices:detail", args=[device.pk])).content.decode()
    assert token not in again and "Rotate" in again


def test_rotate_and_revoke(client, device):
    client.post(reverse("devices:credential_issue", args=[device.pk]))
    client.post(reverse("devices:credential_issue", args=[device.pk]))
    assert DeviceCredential.objects.filter(device=device, revoked_at__isnull=True).count() == 1
    client.post(reverse("devices:credential_revoke", args=[device.pk]))
    assert not DeviceCredential.objects.filter(device=device, revoked_at__isnull=True).exists()


def test_status_change(client, device):
    client.post(reverse("devices:edit", args=[device.pk]), {"status": "retired", "firmware": "1"})
    device.refresh_from_db()
    assert device.status == Device.Status.RETIRED and device.firmware == "1"


def test_dispatcher_sees_the_pages_without_the_controls(make_staff, device, police):
    dispatcher = client_for(make_staff(role=Role.DISPATCHER))
    page = dispatcher.get(reverse("devices:detail", args=[device.pk])).content.decode()
    assert "check-out-form" not in page and "credential-issue-form" not in page
    assert dispatcher.post(reverse("devices:credential_issue", args=[device.pk])).status_code == 403
    assert dispatcher.get(reverse("devices:add")).status_code == 403


def test_officer_page_records_training(client, police):
    officer = UserFactory(agency=police, role=Role.OFFICER, full_name="Pat Patrol")
    url = reverse("devices:officer", args=[officer.pk])
    assert "Not current" in client.get(url).content.decode()
    response = client.post(
        reverse("devices:officer_training", args=[officer.pk]),
        {"course": "BWC basics", "completed_on": "2026-01-02", "expires_on": "2099-01-02"},
    )
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "BWC basics" in page and "2099-01-02" in page


def test_bad_training_dates_show_on_the_form(client, police):
    officer = UserFactory(agency=police, role=Role.OFFICER)
    response = client.post(
        reverse("devices:officer_training", args=[officer.pk]),
        {"course": "BWC", "completed_on": "2026-01-02", "expires_on": "2025-01-02"},
    )
    assert response.status_code == 400
    assert "cannot expire before it was completed" in response.content.decode()


def _recording(device, officer, item=None, n=1):
    at = dt.datetime(2026, 11, 1, 12, n, tzinfo=dt.UTC)
    return Recording.objects.create(
        agency=device.agency,
        device=device,
        device_recording_id=f"rec-{n}",
        officer=officer,
        started_at=at,
        stopped_at=at + dt.timedelta(minutes=1),
        trigger_on_source="button",
        trigger_on_at=at,
        device_sha256="0" * 64,
        item=item,
    )


def test_recordings_list_filters_and_links_the_evidence_item(client, device, police):
    officer, other = officer_of(police), officer_of(police)
    item = stored_item(agency=police)
    mine = _recording(device, officer, item=item, n=1)
    theirs = _recording(DeviceFactory(agency=police), other, n=2)
    page = client.get(reverse("devices:recordings"), {"officer": officer.pk}).content.decode()
    assert str(mine.pk) in page and str(theirs.pk) not in page
    assert reverse("evidence:detail", args=[item.pk]) in page
    by_device = client.get(reverse("devices:recordings"), {"device": device.pk}).content.decode()
    assert str(mine.pk) in by_device and str(theirs.pk) not in by_device
    officer_page = client.get(reverse("devices:officer", args=[officer.pk])).content.decode()
    assert str(mine.pk) in officer_page
    Recording.objects.filter(pk=theirs.pk).update(cad_event_id="CAD-777")
    by_incident = client.get(
        reverse("devices:recordings"), {"incident": "CAD-777"}
    ).content.decode()
    assert str(theirs.pk) in by_incident and str(mine.pk) not in by_incident
    assert "CAD-777" in by_incident


def test_another_agencys_recordings_never_show(client, other_police):
    elsewhere = DeviceFactory(agency=other_police)
    recording = _recording(elsewhere, officer_of(other_police))
    assert str(recording.pk) not in client.get(reverse("devices:recordings")).content.decode()


def test_the_inventory_and_officer_lists_page_by_key_keeping_the_filters(
    client, police, monkeypatch
):
    from devices import views

    monkeypatch.setattr(views, "LIST_PAGE", 2)
    for i in range(5):
        assigned(DeviceFactory(agency=police, serial=f"BWC-9{i}"), officer_of(police))
    seen, url = [], reverse("devices:list") + "?assigned=yes"
    while url:
        response = client.get(url)
        page = response.content.decode()
        seen += re.findall(r">(BWC-9\d)</a>", page)
        assert "assigned=yes" in url
        found = re.search(r'href="\?([^"]*)" id="next-page"', page)
        url = reverse("devices:list") + "?" + found.group(1).replace("&amp;", "&") if found else ""
    assert seen == [f"BWC-9{i}" for i in range(5)]

    names, url = [], reverse("devices:officers")
    while url:
        page = client.get(url).content.decode()
        names += [o.full_name for o in client.get(url).context["officers"]]
        found = re.search(r'href="\?([^"]*)" id="next-page"', page)
        url = reverse("devices:officers") + "?" + found.group(1) if found else ""
    from portal.models import User

    wearers = User.objects.filter(
        agency=police, role__in=[Role.OFFICER, Role.INVESTIGATOR, Role.SUPERVISOR]
    ).order_by("full_name", "pk")
    assert names == [o.full_name for o in wearers] and len(names) >= 5


def test_recordings_are_found_by_the_devices_serial_or_the_officers_name(client, device, police):
    officer = officer_of(police, full_name="Olive Officer")
    other = officer_of(police, full_name="Sam Other")
    mine = _recording(device, officer, n=1)
    theirs = _recording(DeviceFactory(agency=police, serial="BWC-77"), other, n=2)
    url = reverse("devices:recordings")
    by_serial = client.get(url, {"serial": "bwc-00042"}).content.decode()
    assert str(mine.pk) in by_serial and str(theirs.pk) not in by_serial
    by_name = client.get(url, {"wearer": "olive"}).content.decode()
    assert str(mine.pk) in by_name and str(theirs.pk) not in by_name
    by_email = client.get(url, {"wearer": other.email}).content.decode()
    assert str(theirs.pk) in by_email and str(mine.pk) not in by_email
    assert 'type="hidden" name="device"' in client.get(url, {"device": device.pk}).content.decode()


def test_the_check_out_form_lists_only_officers_without_a_device(client, device, police):
    free = officer_of(police, full_name="Fay Free")
    holding = officer_of(police, full_name="Hal Holding")
    assigned(DeviceFactory(agency=police), holding)
    page = client.get(reverse("devices:detail", args=[device.pk])).content.decode()
    form = page.split('id="check-out-form"', 1)[1].split("</form>", 1)[0]
    assert f'<option value="{free.pk}">Fay Free</option>' in form
    assert "Hal Holding" not in form


def test_a_device_or_officer_filter_from_a_link_shows_and_can_be_removed(client, device, police):
    """The device and officer pages link to the recordings with a hidden filter: the page says
    which one is in effect (typing an officer's name then narrows within it, so it must not be
    invisible) and links to the same search without it."""
    officer = officer_of(police, full_name="Olive <b>Officer</b>")
    other = DeviceFactory(agency=police, serial="BWC-77")
    mine = _recording(device, officer, n=1)
    theirs = _recording(other, officer, n=2)
    url = reverse("devices:recordings")
    page = client.get(url, {"device": device.pk, "wearer": "olive"}).content.decode()
    assert str(mine.pk) in page and str(theirs.pk) not in page
    scope = page.split('id="recording-scope"', 1)[1].split("</p>", 1)[0]
    assert "BWC-00042" in scope
    removed = re.search(r'href="\?([^"]*)"', scope).group(1).replace("&amp;", "&")
    assert "device=" not in removed and "wearer=olive" in removed
    page = client.get(url + "?" + removed).content.decode()
    assert str(mine.pk) in page and str(theirs.pk) in page and 'id="recording-scope"' not in page

    page = client.get(url, {"officer": officer.pk}).content.decode()
    scope = page.split('id="recording-scope"', 1)[1].split("</p>", 1)[0]
    assert "Olive &lt;b&gt;Officer&lt;/b&gt;" in scope and "<b>" not in scope


@pytest.mark.parametrize("after", ["²", "9" * 30, "x", ""])
def test_the_officer_lists_page_key_from_the_address_never_fails(client, police, after):
    officer_of(police, full_name="Olive Officer")
    response = client.get(reverse("devices:officers"), {"after": after})
    assert response.status_code == 200
    assert "Olive Officer" in response.content.decode()


@pytest.mark.parametrize("after", ["\x00", "BWC-\x00", "zz", ""])
def test_the_inventorys_page_key_from_the_address_never_fails(client, device, after):
    response = client.get(reverse("devices:list"), {"after": after})
    assert response.status_code == 200
    assert ("BWC-00042" in response.content.decode()) == (after != "zz")
