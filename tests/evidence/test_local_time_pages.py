"""Local time on the evidence pages (issue 16, item 4): the item page (received, captured, its
custody), the case list, the retention page and a case's activity lines show the agency's wall
clock with UTC beside it; the downloadable custody report stays in UTC (the forensic record)."""

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from evidence.cases import services as case_services
from evidence.models import Share, ValueSource
from evidence.services import retention as retention_services
from portal.roles import AgencyKind, Role
from tests.evidence.cases_helpers import make_share, verified
from tests.factories import AgencyFactory, stored_item

# An evening in July (EDT, UTC-4) and one in December (EST, UTC-5), both on the same day in UTC
# and in New York, so the UTC beside the local time carries no date of its own.
SUMMER = dt.datetime(2026, 7, 4, 22, 30, tzinfo=dt.UTC)
WINTER = dt.datetime(2026, 12, 4, 23, 15, tzinfo=dt.UTC)
SHOWN = {
    SUMMER: ("2026-07-04 18:30 America/New_York (22:30 UTC)", "18:30:00", "22:30:00"),
    WINTER: ("2026-12-04 18:15 America/New_York (23:15 UTC)", "18:15:00", "23:15:00"),
}

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")

pytestmark = pytest.mark.django_db


def _made_at(instant, *, supervisor, police):
    """An item received and captured at `instant`, asked to be deleted and filed in a case opened
    then: every time these pages show is `instant`."""
    with time_machine.travel(instant, tick=False):
        item = stored_item(
            agency=police,
            received_at=instant,
            capture_time=instant,
            capture_time_source=ValueSource.FILE_METADATA,
            capture_time_confidence="high",
        )
        retention_services.deletion_request(actor=supervisor, item=item, reason="Duplicate")
        case = case_services.case_create(actor=supervisor, number="26-00704", title="Fireworks")
        case_services.case_item_add(actor=supervisor, case=case, item=item)
    return item, case


@pytest.fixture
def supervisor(make_staff):
    return verified(make_staff(role=Role.SUPERVISOR, full_name="Sam Reyes"))


@pytest.mark.parametrize("instant", [SUMMER, WINTER], ids=["summer-EDT", "winter-EST"])
def test_the_evidence_pages_show_the_agency_clock_with_utc_beside_it(
    instant, supervisor, police, signed_in
):
    minutes, local_seconds, utc_seconds = SHOWN[instant]
    seconds = f"{instant:%Y-%m-%d} {local_seconds} America/New_York ({utc_seconds} UTC)"
    item, case = _made_at(instant, supervisor=supervisor, police=police)
    client = signed_in(supervisor)

    page = client.get(reverse("evidence:detail", args=[item.pk])).content.decode()
    assert f'<dd id="item-received">{seconds}</dd>' in page
    assert f'<dd id="item-captured">{seconds} <span class="muted">from file metadata' in page
    custody = re.findall(r"<strong>([\w.]+)</strong> · ([^·]+) ·", page)
    assert ("evidence.deletion_requested", seconds) in custody, custody
    assert " UTC ·" not in page  # no entry is left on the UTC clock alone

    page = client.get(reverse("evidence:case_list")).content.decode()
    assert "<th>Opened</th>" in page and f"<td>{minutes}</td>" in page

    page = client.get(reverse("evidence:retention")).content.decode()
    assert f"asked by {supervisor} {minutes}: Duplicate" in page

    page = client.get(reverse("evidence:case_detail", args=[case.pk])).content.decode()
    opened = f'Sam Reyes opened the case <span class="muted">· {minutes}</span></li>'
    assert opened in page, re.findall(r"<li>Sam Reyes opened the case.*?</li>", page)


def test_the_custody_report_stays_in_utc(supervisor, police, signed_in):
    item, _ = _made_at(SUMMER, supervisor=supervisor, police=police)
    report = signed_in(supervisor).get(reverse("evidence:custody_report", args=[item.pk]))
    text = report.content.decode()
    assert "<td>2026-07-04 22:30:00.000000 UTC</td>" in text
    assert "<td>2026-07-04 22:30:00.000000</td>" in text  # a custody row, When (UTC)
    assert "America/New_York" not in text


def test_a_prosecutor_reads_a_shared_case_on_their_own_agencys_clock(
    supervisor, police, make_staff, signed_in
):
    office = AgencyFactory(kind=AgencyKind.PROSECUTION, time_zone=CHICAGO.key)
    prosecutor = make_staff(role=Role.PROSECUTOR, agency=office)
    item, case = _made_at(SUMMER, supervisor=supervisor, police=police)
    # Noon in Chicago a month on: the same day in UTC whether on CDT or CST.
    in_a_month = timezone.now().astimezone(CHICAGO) + dt.timedelta(days=30)
    expires = in_a_month.replace(hour=12, minute=0, second=0, microsecond=0)
    make_share(case=case, by=supervisor, office=office, expires_at=expires)
    share = Share.objects.get(case=case)
    utc_hour = expires.astimezone(dt.UTC).hour
    expires_shown = f"{expires:%Y-%m-%d} 12:00 America/Chicago ({utc_hour}:00 UTC)"
    seconds = "2026-07-04 17:30:00 America/Chicago (22:30:00 UTC)"
    client = signed_in(prosecutor)

    page = client.get(reverse("evidence:shared_list")).content.decode()
    assert "<th>Expires</th>" in page and f"<td>{expires_shown}</td>" in page

    page = client.get(reverse("evidence:shared_case", args=[share.pk])).content.decode()
    assert f"<dt>Expires</dt><dd>{expires_shown}</dd>" in page
    assert f'{seconds} <span class="muted">(file metadata)</span>' in page

    page = client.get(reverse("evidence:shared_item", args=[share.pk, item.pk])).content.decode()
    assert f"<dt>Received</dt><dd>{seconds}</dd>" in page
    assert f"<dt>Captured</dt><dd>{seconds} <span" in page
    assert f"<strong>evidence.deletion_requested</strong> · {seconds} ·" in page
    assert " UTC ·" not in page
