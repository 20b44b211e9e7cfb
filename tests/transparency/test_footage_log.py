"""The public footage-request log: one generated row per request that reached owners, nothing
about owners, coarse areas, case numbers hashed while the case is open, small counts hidden."""

import math

import pytest
from django.test import Client
from django.urls import reverse

from evidence.cases import services as case_services
from registry.models import Camera
from tests.evidence.cases_helpers import make_case
from tests.registry.cameras import INCIDENT
from tests.transparency.facts import seed, staff
from transparency import selectors
from transparency.selectors import SUPPRESSED, WITHHELD, case_hash, grid_cell
from transparency.views import LOG_COLUMNS

pytestmark = pytest.mark.django_db


@pytest.fixture
def facts(police):
    return seed(police, searches=1, tips=1, recordings=1)


def outputs(agency) -> dict[str, str]:
    client = Client()
    return {
        "page": client.get(
            reverse("transparency:footage_log", args=[agency.slug])
        ).content.decode(),
        "summary": client.get(reverse("transparency:agency", args=[agency.slug])).content.decode(),
        "csv": client.get(
            reverse("transparency:data", args=[agency.slug, "footage-requests", "csv"])
        ).content.decode(),
        "json": client.get(
            reverse("transparency:data", args=[agency.slug, "footage-requests", "json"])
        ).content.decode(),
    }


def log_json(agency) -> dict:
    url = reverse("transparency:data", args=[agency.slug, "footage-requests", "json"])
    return Client().get(url).json()


def test_one_row_per_request_with_its_window_outcomes_and_days_to_close(facts, police):
    body = log_json(police)
    assert body["columns"] == LOG_COLUMNS
    rows = body["rows"]
    assert len(rows) == 2
    newest, oldest = rows  # the single-camera request was sent second
    assert set(newest) == set(LOG_COLUMNS)
    # One camera, answered "no footage" at once: closed the day it was sent.
    assert newest["window_minutes"] == 30
    assert newest["cameras_asked"] == SUPPRESSED and newest["no_footage"] == SUPPRESSED
    assert newest["answered"] == 0 and newest["declined"] == 0 and newest["waiting"] == 0
    assert newest["days_to_close"] == 0
    # Six cameras: the total is published; 2 declined, 1 no footage, 3 waiting are not.
    assert oldest["window_minutes"] == 60
    assert oldest["cameras_asked"] == 6
    # Beside the 6 cameras asked, the small parts are withheld, not "<5" (6 = 5 + 1 would tell).
    assert oldest["declined"] == WITHHELD and oldest["waiting"] == WITHHELD
    assert oldest["answered"] == 0 and oldest["no_answer"] == 0
    assert oldest["days_to_close"] is None  # still open: cameras are waiting


def test_the_log_says_nothing_about_owners_or_their_cameras(facts, police):
    texts = outputs(police)
    secrets = []
    for person in facts.owners:
        secrets += [person.email, person.full_name, f'"{person.pk}"']
    for camera in Camera.objects.all():
        secrets += [camera.name, str(camera.pk)]
        secrets += [f"{camera.location.y:.5f}", f"{camera.location.x:.5f}"]
    secrets += [f"{INCIDENT[0]:.5f}", f"{INCIDENT[1]:.5f}"]
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, (where, secret)
    # The free-text reason and the message to owners are not published either.
    for text in texts.values():
        assert "Burglary at 100 Main Street" not in text
        assert "Please send anything" not in text


def test_the_area_is_the_centre_of_a_grid_square_of_at_least_500_m(facts, police, settings):
    lat, lon = INCIDENT
    row = log_json(police)["rows"][0]
    cell = grid_cell(lat=lat, lon=lon, metres=1000)
    assert (row["area_lat"], row["area_lon"], row["area_cell"]) == (
        cell["lat"],
        cell["lon"],
        cell["cell"],
    )
    settings.TRANSPARENCY_GRID_METRES = 100
    assert selectors.grid_metres() == 500
    assert log_json(police)["rows"][0]["area_cell"].startswith("500m:")
    # A square's side: neighbouring rows' centres are 500 m apart north-south, and columns
    # 500 m apart east-west at the row's latitude; every point of a square maps to its centre.
    a = grid_cell(lat=lat, lon=lon, metres=500)
    north = grid_cell(lat=a["lat"] + 500 / 111_320, lon=lon, metres=500)
    assert math.isclose((north["lat"] - a["lat"]) * 111_320, 500, abs_tol=15)
    for dy in (-0.4, 0, 0.4):
        for dx in (-0.4, 0, 0.4):
            inside = grid_cell(
                lat=a["lat"] + dy * 500 / 111_320,
                lon=a["lon"] + dx * 500 / (111_320 * math.cos(math.radians(a["lat"]))),
                metres=500,
            )
            assert inside["cell"] == a["cell"]


def test_the_case_number_is_hashed_while_the_case_is_open_and_shown_once_closed(facts, police):
    texts = outputs(police)
    for text in texts.values():
        assert "RPD-2026-0042" not in text and "RPD-2026-0099" not in text
    cases = [r["case"] for r in log_json(police)["rows"]]
    assert cases == [
        case_hash(agency=police, number="RPD-2026-0099"),
        case_hash(agency=police, number="RPD-2026-0042"),
    ]
    lead = staff(police, "supervisor")
    case = make_case(lead=lead, number="RPD-2026-0099")
    assert log_json(police)["rows"][0]["case"].startswith("h:")  # open: still hashed
    case_services.case_update(actor=lead, case=case, status="closed")
    assert [r["case"] for r in log_json(police)["rows"]] == [
        "RPD-2026-0099",
        case_hash(agency=police, number="RPD-2026-0042"),
    ]


def test_the_same_case_number_hashes_differently_in_two_agencies(police, other_police):
    assert case_hash(agency=police, number="24-1") != case_hash(agency=other_police, number="24-1")
    assert case_hash(agency=police, number="24-1") == case_hash(agency=police, number="24-1")


def test_nothing_on_the_public_pages_can_be_changed(facts, police):
    client = Client()
    for url in (
        reverse("transparency:agency", args=[police.slug]),
        reverse("transparency:footage_log", args=[police.slug]),
        reverse("transparency:data", args=[police.slug, "footage-requests", "json"]),
    ):
        for method in ("post", "put", "patch", "delete"):
            assert getattr(client, method)(url).status_code == 405, (method, url)


def test_requests_of_another_agency_are_not_in_the_log(facts, police, other_police):
    assert log_json(other_police)["rows"] == []


def test_the_summary_the_database_computes_is_the_one_of_the_whole_log(facts, police):
    from tests.transparency.facts import ask, search

    assert selectors.footage_log_summary_for(agency=police) == selectors.footage_log_summary(
        selectors.footage_log(agency=police)
    )
    # A third request, still waiting, moves the median window but not the days to close.
    investigator = staff(police, "investigator")
    ask(investigator, search(investigator, case_number="RPD-2026-0100"), facts.cameras[:2])
    whole = selectors.footage_log_summary(selectors.footage_log(agency=police))
    assert selectors.footage_log_summary_for(agency=police) == whole
    assert whole["requests"] == 3


def test_the_agency_page_reads_only_the_newest_requests_of_the_log(facts, police):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.transparency.facts import ask, search

    client = Client()
    url = reverse("transparency:agency", args=[police.slug])

    def queries() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as seen:
            assert client.get(url).status_code == 200
        return len(seen)

    few = queries()
    investigator = staff(police, "investigator")
    for i in range(6):
        ask(investigator, search(investigator, case_number=f"RPD-2026-02{i}"), facts.cameras[:1])
    assert queries() == few
    page = client.get(url).content.decode()
    assert "Footage requests that reached camera owners: 8." in page


def test_the_newest_requests_of_the_log_are_its_first_rows_with_their_counts(facts, police):
    """footage_log(limit=n) picks the newest n before counting their cameras: the same rows,
    in the same order (newest first) and with the same counts, as the whole log's first n."""
    from tests.transparency.facts import ask, search

    investigator = staff(police, "investigator")
    for i in range(6):
        cameras = facts.cameras[: 1 + i % 3]
        ask(investigator, search(investigator, case_number=f"RPD-2026-03{i}"), cameras)
    whole = selectors.footage_log(agency=police)
    assert len(whole) == 8
    assert selectors.footage_log(agency=police, limit=5) == whole[:5]
    assert selectors.footage_log(agency=police, limit=1) == whole[:1]
