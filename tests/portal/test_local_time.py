"""Local time (issue 16, item 4): staff type and read times on the agency's clock with UTC
beside it; owners and tipsters get the UTC instant for their browser to show in their zone."""

import datetime as dt
import zoneinfo

import pytest
from django import forms
from django.template import Context, Template
from django.utils import timezone

from evidence.models import Case
from portal.context import agency_zone_reset, agency_zone_set
from portal.templatetags.portal_time import (
    browser_time,
    iso_instant,
    local_and_utc,
    local_and_utc_seconds,
)
from portal.timefields import AgencyDateField, AgencyDateTimeField
from registry.models import FootageRequest
from tests.registry.cameras import investigator, owner
from tests.registry.requests_helpers import camera_facing_incident, search

NY = zoneinfo.ZoneInfo("America/New_York")
UTC = dt.UTC


class _Form(forms.Form):
    when = AgencyDateTimeField(label="When")


def _clean(value: str, zone: str = "America/New_York"):
    token = agency_zone_set(zone)
    try:
        form = _Form({"when": value})
    finally:
        agency_zone_reset(token)
    return form


@pytest.mark.parametrize(
    ("typed", "utc"),
    [
        ("2026-12-04T18:00", dt.datetime(2026, 12, 4, 23, 0, tzinfo=UTC)),  # EST, UTC-5
        ("2026-07-04T18:00", dt.datetime(2026, 7, 4, 22, 0, tzinfo=UTC)),  # EDT, UTC-4
        # The day the clocks go forward (2026-03-08, 02:00 -> 03:00): before and after.
        ("2026-03-08T01:30", dt.datetime(2026, 3, 8, 6, 30, tzinfo=UTC)),
        ("2026-03-08T18:00", dt.datetime(2026, 3, 8, 22, 0, tzinfo=UTC)),
        # The day they go back (2026-11-01, 02:00 -> 01:00): after the repeated hour.
        ("2026-11-01T18:00", dt.datetime(2026, 11, 1, 23, 0, tzinfo=UTC)),
        ("2026-12-04T18:00:30", dt.datetime(2026, 12, 4, 23, 0, 30, tzinfo=UTC)),
    ],
)
def test_a_typed_time_is_read_on_the_agency_clock(typed, utc):
    form = _clean(typed)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["when"] == utc
    assert form.cleaned_data["when"].astimezone(NY).strftime("%H:%M") == typed[11:16]


@pytest.mark.parametrize("typed", ["2026-03-08T02:30", "2026-11-01T01:30"])
def test_a_time_the_clock_change_skips_or_repeats_is_refused_in_words(typed):
    form = _clean(typed)
    assert not form.is_valid()
    [message] = form.errors["when"]
    assert "America/New_York" in message and "clocks change" in message


def test_outside_a_staff_request_the_field_reads_utc_and_the_label_names_the_zone():
    plain = _Form({"when": "2026-12-04T18:00"})
    assert plain.is_valid()
    assert plain.cleaned_data["when"] == dt.datetime(2026, 12, 4, 18, tzinfo=UTC)
    form = _clean("2026-12-04T18:00")
    assert form.fields["when"].label == "When (America/New_York)"
    assert 'data-zone="America/New_York"' in str(form["when"])
    assert 'type="datetime-local"' in str(form["when"])


def test_a_stored_time_is_shown_back_in_the_form_on_the_agency_clock():
    token = agency_zone_set("America/New_York")
    try:
        form = _Form(initial={"when": dt.datetime(2026, 7, 4, 22, 0, tzinfo=UTC)})
    finally:
        agency_zone_reset(token)
    # Rendered inside base.html's UTC block, it still shows the agency's wall clock.
    with timezone.override(UTC):
        assert 'value="2026-07-04T18:00"' in str(form["when"])


def test_a_value_with_its_own_offset_keeps_its_instant():
    form = _clean("2026-12-04T18:00:00+01:00")
    assert form.is_valid()
    assert form.cleaned_data["when"] == dt.datetime(2026, 12, 4, 17, 0, tzinfo=UTC)


def test_local_and_utc_shows_the_agency_zone_with_utc_beside_it():
    winter = dt.datetime(2026, 12, 4, 23, 0, tzinfo=UTC)
    summer_late = dt.datetime(2026, 7, 5, 2, 30, tzinfo=UTC)
    assert (
        local_and_utc(winter, "America/New_York") == "2026-12-04 18:00 America/New_York (23:00 UTC)"
    )
    # Across midnight UTC the UTC day is given too.
    assert (
        local_and_utc(summer_late, "America/New_York")
        == "2026-07-04 22:30 America/New_York (2026-07-05 02:30 UTC)"
    )
    token = agency_zone_set("America/Chicago")
    try:
        assert local_and_utc(winter) == "2026-12-04 17:00 America/Chicago (23:00 UTC)"
    finally:
        agency_zone_reset(token)
    assert local_and_utc(winter) == "2026-12-04 23:00 UTC"  # no staff request: UTC
    assert local_and_utc(None) == "—"


def test_local_and_utc_seconds_keeps_the_seconds_on_both_clocks():
    capture = dt.datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)  # EDT began on 8 March 2026
    assert (
        local_and_utc_seconds(capture, "America/New_York")
        == "2026-03-14 05:26:53 America/New_York (09:26:53 UTC)"
    )
    assert local_and_utc_seconds(capture, "UTC") == "2026-03-14 09:26:53 UTC"


def test_an_instant_kept_as_iso_text_is_shown_like_any_other():
    # A live clip's manifest keeps its window as ISO text (livefeeds.clips._iso).
    html = Template(
        "{% load portal_time %}{{ start|iso_instant|local_and_utc_seconds:'America/New_York' }}"
    ).render(Context({"start": "2026-07-04T22:30:05.250+00:00"}))
    assert html == "2026-07-04 18:30:05 America/New_York (22:30:05 UTC)"
    assert iso_instant("2026-12-04T23:15:00+00:00") == dt.datetime(2026, 12, 4, 23, 15, tzinfo=UTC)
    # Text that names no instant (no offset, or no time at all) is passed on unchanged.
    assert iso_instant("2026-12-04T23:15:00") == "2026-12-04T23:15:00"
    assert iso_instant("last 30 s") == "last 30 s"
    assert iso_instant(None) is None


def test_browser_time_is_a_time_element_with_the_utc_instant_and_a_utc_fallback():
    at = dt.datetime(2026, 3, 8, 18, 0, tzinfo=NY)
    html = Template("{% load portal_time %}{{ at|browser_time }}").render(Context({"at": at}))
    assert (
        html == '<time datetime="2026-03-08T22:00:00Z" data-local-time>2026-03-08 22:00 UTC</time>'
    )
    assert browser_time(None) == "—"


@pytest.mark.django_db
def test_staff_pages_read_and_show_times_in_the_agency_zone_and_owner_pages_do_not(
    police, signed_in, make_staff, resident
):
    staff = signed_in(make_staff())
    page = staff.get("/staff/registry/search/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "From (America/New_York)" in text and 'data-zone="America/New_York"' in text
    assert page.wsgi_request.agency_zone == "America/New_York"
    home = signed_in(resident).get("/")
    assert home.wsgi_request.agency_zone == "UTC"


@pytest.mark.django_db(transaction=True)
def test_an_investigator_asks_for_18_00_local_and_the_request_holds_and_shows_it(
    police, signed_in, make_staff
):
    shop = owner(role="business")
    cam = camera_facing_incident(shop)
    officer = make_staff()
    found = search(investigator(police))
    client = signed_in(officer)
    day = (timezone.now().astimezone(NY) - dt.timedelta(days=2)).date()
    due = (timezone.now().astimezone(NY) + dt.timedelta(days=3)).date()
    url = f"/staff/registry/requests/new/?search={found.pk}&camera={cam.pk}"
    # The new-request page carries the search's window over on the agency clock.
    form_page = client.get(url).content.decode()
    start_local = found.window_start.astimezone(NY).strftime("%Y-%m-%dT%H:%M")
    assert f'value="{start_local}"' in form_page
    saved = client.post(
        url,
        {
            "cameras": [str(cam.pk)],
            "case_number": "RPD-2026-0042",
            "reason": "Burglary",
            "message": "",
            "window_start": f"{day}T18:00",
            "window_end": f"{day}T19:00",
            "deadline": f"{due}T18:00",
        },
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    made = FootageRequest.objects.get()
    six_pm = dt.datetime.combine(day, dt.time(18), tzinfo=NY)
    assert made.window_start == six_pm
    assert made.window_end == six_pm + dt.timedelta(hours=1)
    assert made.deadline == dt.datetime.combine(due, dt.time(18), tzinfo=NY)
    detail = client.get(saved["Location"]).content.decode()
    utc = six_pm.astimezone(UTC).strftime("%H:%M")
    assert f"{day} 18:00 America/New_York ({utc} UTC)" in detail


@pytest.mark.django_db
def test_a_case_incident_time_is_kept_and_shown_back_on_the_agency_clock(
    police, signed_in, make_staff
):
    lead = make_staff()
    client = signed_in(lead)
    response = client.post(
        "/staff/evidence/cases/new/",
        {"number": "26-18", "title": "Evening robbery", "status": "open", "lead": lead.pk,
         "incident_time": "2026-03-08T18:00"},
    )  # fmt: skip
    assert response.status_code == 302
    case = Case.objects.get(number="26-18")
    assert case.incident_time == dt.datetime(2026, 3, 8, 22, 0, tzinfo=UTC)  # EDT from 02:00
    edit = client.get(f"/staff/evidence/cases/{case.pk}/edit/").content.decode()
    assert 'value="2026-03-08T18:00"' in edit


def test_a_share_expiry_day_ends_at_midnight_on_the_agency_calendar():
    class _Expiry(forms.Form):
        day = AgencyDateField(label="Expires on")

    token = agency_zone_set("America/New_York")
    try:
        form = _Expiry({"day": "2026-12-04"})
    finally:
        agency_zone_reset(token)
    assert form.is_valid() and form.fields["day"].label == "Expires on (America/New_York)"
    field = form.fields["day"]
    assert field.end_of_day(dt.date(2026, 12, 4)) == dt.datetime(2026, 12, 5, 4, 59, 59, tzinfo=UTC)
    assert field.end_of_day(dt.date(2026, 7, 4)) == dt.datetime(2026, 7, 5, 3, 59, 59, tzinfo=UTC)
    assert 'type="date"' in str(form["day"])


@pytest.mark.django_db
def test_the_evidence_list_dates_are_the_agency_days(police, make_staff):
    from evidence.selectors import ItemFilters, items_for
    from tests.evidence.cases_helpers import verified
    from tests.factories import stored_item

    viewer = verified(make_staff())
    # 03:00 UTC on the 5th is 22:00 on the 4th in New York; 05:00 UTC is midnight there.
    evening = stored_item(agency=police, received_at=dt.datetime(2026, 12, 5, 3, tzinfo=UTC))
    morning = stored_item(agency=police, received_at=dt.datetime(2026, 12, 5, 5, tzinfo=UTC))

    def on(day):
        found = items_for(actor=viewer, filters=ItemFilters(date_from=day, date_to=day))
        return {i.pk for i in found}

    assert on(dt.date(2026, 12, 4)) == {evening.pk}
    assert on(dt.date(2026, 12, 5)) == {morning.pk}
