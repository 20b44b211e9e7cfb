""" "Footage likely overwritten at" is shown in UTC and on the camera's own clock, correctly converted.

base.html renders every page inside {% timezone "UTC" %}, so a local time formatted with |date came
out as the UTC clock time again, labelled with another zone's name.
"""

import datetime as dt
import re

import pytest
from django.urls import reverse

from registry import services
from registry.search import SearchQuery
from tests.conftest import sign_in
from tests.registry.cameras import INCIDENT, investigator, offset, owner, register

pytestmark = pytest.mark.django_db
UTC = dt.UTC
START = dt.datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
ROW = re.compile(
    r"(\d{4}-\d\d-\d\d \d\d:\d\d) UTC<br><span class=\"muted\">(\d{4}-\d\d-\d\d \d\d:\d\d) ([\w/]+)</span>"
)


@pytest.fixture
def detective(client, police):
    staff = investigator(police)
    sign_in(client, staff)
    return staff


@pytest.fixture
def stored_search(detective):
    lat, lon = INCIDENT
    register(owner(), *offset(lat, lon, -20, 0), retention_days=7, time_zone="Asia/Kolkata")
    register(owner(), *offset(lat, lon, 20, 0), retention_days=7, time_zone="America/New_York")
    query = SearchQuery(
        case_number="C-12",
        reason="Robbery",
        reason_category="violent_crime",
        latitude=lat,
        longitude=lon,
        window_start=START,
        window_end=START + dt.timedelta(hours=1),
    )
    return services.camera_search(actor=detective, query=query, now=START).search


def _shown(text: str) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    parse = dt.datetime.fromisoformat
    return {zone: (parse(utc), parse(local)) for utc, local, zone in ROW.findall(text)}


def test_the_results_page_prints_the_overwrite_time_in_utc_and_on_the_cameras_clock(
    client, stored_search
):
    page = client.get(reverse("registry:search_results", args=[stored_search.id]))
    shown = _shown(page.content.decode())
    assert set(shown) == {"Asia/Kolkata", "America/New_York"}
    # 7 days after 10:00 UTC on 1 March (no DST change in either zone before the 8th).
    assert shown["Asia/Kolkata"][0] == dt.datetime(2025, 3, 8, 10, 0)
    assert shown["Asia/Kolkata"][1] - shown["Asia/Kolkata"][0] == dt.timedelta(hours=5, minutes=30)
    assert shown["America/New_York"][0] == dt.datetime(2025, 3, 8, 10, 0)
    assert shown["America/New_York"][1] - shown["America/New_York"][0] == dt.timedelta(hours=-5)


def test_the_api_gives_the_local_overwrite_time_with_its_offset_and_zone(client, stored_search):
    answer = client.get(reverse("api-registry-search-detail", args=[stored_search.id])).json()
    by_zone = {hit["time_zone"]: hit for hit in answer["results"]}
    kolkata = by_zone["Asia/Kolkata"]
    assert kolkata["overwritten_at_local"] == "2025-03-08T15:30:00+05:30"
    assert dt.datetime.fromisoformat(kolkata["overwritten_at_local"]) == dt.datetime.fromisoformat(
        kolkata["overwritten_at"].replace("Z", "+00:00")
    )
    assert by_zone["America/New_York"]["overwritten_at_local"] == "2025-03-08T05:00:00-05:00"
