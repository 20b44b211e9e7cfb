"""Registry pages and API over HTTP: owner / colleague / stranger, bad input, the audit row."""

import datetime as dt
import json
import zoneinfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent
from registry import services
from registry.models import Camera, CameraSearch
from tests.conftest import sign_in
from tests.factories import UserFactory, add_totp_device
from tests.registry.cameras import INCIDENT, agency_elsewhere, camera_data, offset, owner, register

pytestmark = pytest.mark.django_db


def form_post(lat, lon, **overrides):
    data = camera_data(lat, lon, **overrides)
    post = {k: ("" if v is None else v) for k, v in data.items()}
    for flag in ("records_always", "is_public"):
        post[flag] = "on" if data[flag] else ""
    return post


@pytest.fixture
def alice(client):
    person = owner("business")
    sign_in(client, person)
    return person


def test_owner_registers_edits_pauses_and_deletes_through_the_pages(client, alice):
    assert client.get(reverse("cameras:new")).status_code == 200
    response = client.post(reverse("cameras:new"), form_post(*INCIDENT, name="Shop door"))
    assert response.status_code == 302
    cam = Camera.objects.get(owner=alice)
    assert cam.name == "Shop door" and cam.fov.contains(cam.location) is False
    page = client.get(reverse("cameras:mine")).content.decode()
    assert "Shop door" in page
    response = client.post(
        reverse("cameras:edit", args=[cam.id]), form_post(*INCIDENT, name="Shop till", range_m=40)
    )
    assert response.status_code == 302
    cam.refresh_from_db()
    assert (cam.name, cam.range_m) == ("Shop till", 40)
    client.post(reverse("cameras:pause", args=[cam.id]))
    cam.refresh_from_db()
    assert cam.paused_at is not None
    client.post(reverse("cameras:resume", args=[cam.id]))
    client.post(reverse("cameras:delete", args=[cam.id]))
    cam.refresh_from_db()
    assert cam.paused_at is None and cam.deleted_at is not None
    client.get(reverse("cameras:mine"))  # shows and clears the messages
    assert "Shop till" not in client.get(reverse("cameras:mine")).content.decode()


def test_bad_camera_form_is_refused_with_messages_and_saves_nothing(client, alice):
    response = client.post(
        reverse("cameras:new"),
        form_post(*INCIDENT, name="=cmd|' /C calc'!A0", direction_deg=400, records_always=False),
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "spreadsheet formula" in text and "less than or equal to 359" in text
    assert "Records all day" in text
    assert not Camera.objects.exists()


def test_address_lookup_moves_the_pin_or_says_to_drag_it(client, alice, geocoder):
    post = form_post(*INCIDENT)
    response = client.post(
        reverse("cameras:new"), {**post, "find_address": "1", "address": "1 Harbour Road, Riverton"}
    )
    assert 'data-lat="40.71' in response.content.decode()
    response = client.post(
        reverse("cameras:new"), {**post, "find_address": "1", "address": "Nowhere Lane"}
    )
    assert "drag the pin instead" in response.content.decode()
    assert not Camera.objects.exists()


def test_address_lookup_without_a_geocoder_falls_back_to_the_pin(client, alice, settings):
    settings.GEOCODER_URL = ""
    response = client.post(
        reverse("cameras:new"), {**form_post(*INCIDENT), "find_address": "1", "address": "x"}
    )
    assert "not available right now" in response.content.decode()


def test_strangers_get_404_on_someone_elses_camera(client, alice):
    theirs = register(owner(), *INCIDENT)
    for name in ("edit",):
        assert client.get(reverse(f"cameras:{name}", args=[theirs.id])).status_code == 404
    for name in ("pause", "resume", "delete"):
        assert client.post(reverse(f"cameras:{name}", args=[theirs.id])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.paused_at is None and theirs.deleted_at is None
    assert client.get(reverse("api-registry-camera", args=[theirs.id])).status_code == 404


def test_staff_cannot_use_owner_pages_and_owners_cannot_use_staff_pages(client, police, alice):
    assert client.get(reverse("registry:search")).status_code == 403
    assert client.get(reverse("registry:map")).status_code == 403
    assert client.get(reverse("api-registry-map") + "?bbox=0,0,1,1&zoom=5").status_code == 403
    staff = UserFactory(agency=police)
    add_totp_device(staff)
    client.logout()
    sign_in(client, staff)
    assert client.get(reverse("cameras:mine")).status_code == 403


def test_csv_import_page_reports_lines_and_imports_nothing(client, alice):
    lat, lon = INCIDENT
    body = (
        "name,kind,latitude,longitude,direction_deg,fov_angle_deg,range_m,retention_days,participation\n"
        f"Ok,fixed,{lat},{lon},10,60,20,7,contact_me\n"
        f"Bad,fixed,{lat},{lon},10,60,20,0,contact_me\n"
    )
    response = client.post(
        reverse("cameras:import"), {"file": SimpleUploadedFile("c.csv", body.encode())}
    )
    assert response.status_code == 400
    assert "Line 3: retention_days" in response.content.decode()
    assert not Camera.objects.exists()
    response = client.post(
        reverse("api-registry-cameras-import"),
        {"file": SimpleUploadedFile("c.csv", body.replace(",0,", ",5,").encode())},
    )
    assert response.status_code == 201 and len(response.json()) == 2


def test_api_crud_for_owners(client, alice):
    payload = camera_data(*INCIDENT, name="API cam")
    response = client.post(
        reverse("api-registry-cameras"), payload, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["fov"]["type"] == "Polygon" and body["latitude"] == pytest.approx(INCIDENT[0])
    cam_id = body["id"]
    bad = client.post(
        reverse("api-registry-cameras"),
        {**payload, "fov_angle_deg": 0, "name": "@SUM(1)"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "fov_angle_deg" in bad.json()["errors"]
    listed = client.get(reverse("api-registry-cameras")).json()
    assert [c["id"] for c in listed["results"]] == [cam_id]
    put = client.put(
        reverse("api-registry-camera", args=[cam_id]),
        {**payload, "name": "Renamed"},
        content_type="application/json",
    )
    assert put.status_code == 200 and put.json()["name"] == "Renamed"
    assert client.post(reverse("api-registry-camera-pause", args=[cam_id])).json()["paused_at"]
    assert client.delete(reverse("api-registry-camera", args=[cam_id])).status_code == 204
    assert client.get(reverse("api-registry-camera", args=[cam_id])).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?zoom=5",
        "?bbox=1,2,3&zoom=5",
        "?bbox=a,b,c,d&zoom=5",
        "?bbox=0,0,1,1&zoom=99",
        "?bbox=0,0,1,1&zoom=x",
    ],
)
def test_public_map_api_refuses_malformed_queries_with_400(client, query):
    response = client.get(reverse("api-registry-public-map") + query)
    assert response.status_code == 400
    assert response.json()["detail"]


def test_public_map_page_and_api_need_no_sign_in_and_give_no_positions(client, police):
    cam = register(owner(), *offset(*INCIDENT, 3, 3), is_public=True)
    assert client.get(reverse("cameras:map")).status_code == 200
    answer = client.get(
        reverse("api-registry-public-map") + "?bbox=-74,40.7,-73.9,40.8&zoom=16"
    ).json()
    assert [c["count"] for c in answer["cells"]] == [1]
    assert str(cam.location.x)[:9] not in json.dumps(answer)


@pytest.fixture
def detective(client, police):
    staff = UserFactory(agency=police)
    add_totp_device(staff)
    sign_in(client, staff)
    return staff


def test_search_page_refuses_a_search_without_reason(client, detective):
    response = client.post(
        reverse("registry:search"),
        {
            "case_number": "C-1",
            "reason": "",
            "reason_category": "violent_crime",
            "latitude": INCIDENT[0],
            "longitude": INCIDENT[1],
            "window_start": "2025-03-01 10:00",
            "window_end": "2025-03-01 11:00",
            "radius_m": 300,
        },
    )
    assert response.status_code == 400
    assert "A reason is required for every registry search." in response.content.decode()
    assert not CameraSearch.objects.exists()


def test_search_page_shows_ranked_results_with_request_link_and_audits(client, detective, police):
    lat, lon = INCIDENT
    register(owner(), *offset(lat, lon, -20, 0), name="Sees it")
    register(owner(), *offset(lat, lon, 10, 0), name="Just exists", participation="location_only")
    response = client.post(
        reverse("registry:search"),
        {
            "case_number": "C-7",
            "reason": "Robbery",
            "reason_category": "violent_crime",
            "latitude": lat,
            "longitude": lon,
            "window_start": _wall(timezone.now() - dt.timedelta(hours=5)),
            "window_end": _wall(timezone.now() - dt.timedelta(hours=4)),
            "radius_m": 300,
        },
    )
    search = CameraSearch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("registry:search_results", args=[search.id])
    response = client.get(response["Location"])
    assert response.status_code == 200
    text = response.content.decode()
    assert text.index("Sees it") < text.index("Just exists")
    assert "owner not contactable" in text
    assert 'action="/staff/registry/requests/new/"' in text and str(search.id) in text
    assert text.count('name="camera"') == 1
    row = AuditEvent.objects.get(action="registry.camera_search")
    assert len(row.details["camera_ids"]) == 2


def _wall(value: dt.datetime) -> str:
    # Staff type times on the agency's wall clock (portal.timefields).
    return value.astimezone(zoneinfo.ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M")


def _search_post(lat, lon, **overrides):
    return {
        "case_number": "C-8",
        "reason": "Burglary",
        "reason_category": "property_crime",
        "latitude": lat,
        "longitude": lon,
        "window_start": _wall(timezone.now() - dt.timedelta(hours=5)),
        "window_end": _wall(timezone.now() - dt.timedelta(hours=4)),
        "radius_m": 300,
        **overrides,
    }


def test_reloading_the_results_is_audited_as_a_view_not_a_new_search(client, detective, police):
    lat, lon = INCIDENT
    kept = register(owner(), *offset(lat, lon, -20, 0), name="Kept")
    gone = register(owner(), *offset(lat, lon, 30, 0), name="Deleted later")
    page = client.post(reverse("registry:search"), _search_post(lat, lon))["Location"]
    search = CameraSearch.objects.get()
    first = client.get(page).content.decode()
    assert "Kept" in first and "Deleted later" in first
    assert 'value="C-8"' in first and "Burglary" in first  # the form keeps the query
    services.camera_delete(actor=gone.owner, camera_id=gone.id)
    again = client.get(page).content.decode()
    assert "Kept" in again and "Deleted later" not in again  # deleted cameras leave at once
    assert CameraSearch.objects.count() == 1
    assert AuditEvent.objects.filter(action="registry.camera_search").count() == 1
    views = AuditEvent.objects.filter(action="registry.camera_search_viewed").order_by("seq")
    assert [(v.target_id, v.case_ref, v.reason) for v in views] == [
        (str(search.id), "C-8", "Burglary")
    ] * 2
    assert [v.details["camera_count"] for v in views] == [2, 1]
    # The request form starts from the stored search.
    assert f'name="search" value="{search.id}"' in again and f'value="{kept.id}"' in again
    assert (
        client.get(
            reverse("registry_requests:new") + f"?search={search.id}&camera={kept.id}"
        ).status_code
        == 200
    )


def test_a_stored_search_is_404_to_another_agency_and_refused_to_an_owner(
    client, detective, police
):
    lat, lon = INCIDENT
    register(owner(), *offset(lat, lon, -20, 0))
    page = client.post(reverse("registry:search"), _search_post(lat, lon))["Location"]
    colleague = UserFactory(agency=police)
    add_totp_device(colleague)
    sign_in(client, colleague)
    assert client.get(page).status_code == 200  # same agency: the case team shares searches
    stranger = UserFactory(agency=agency_elsewhere())
    add_totp_device(stranger)
    sign_in(client, stranger)
    assert client.get(page).status_code == 404
    assert client.get(reverse("registry:search") + "not-a-uuid/").status_code == 404
    sign_in(client, owner())
    assert client.get(page).status_code == 403  # a resident: no registry search at all
    views = AuditEvent.objects.filter(action="registry.camera_search_viewed")
    assert [v.actor_id for v in views] == [colleague.id]


def test_search_api_and_agency_b(client, police):
    lat, lon = INCIDENT
    private = register(owner(), *offset(lat, lon, -20, 0))
    other = UserFactory(agency=agency_elsewhere())
    add_totp_device(other)
    sign_in(client, other)
    body = {
        "case_number": "X-1",
        "reason": "Hit and run",
        "reason_category": "violent_crime",
        "latitude": lat,
        "longitude": lon,
        "window_start": "2025-03-01T10:00:00Z",
        "window_end": "2025-03-01T11:00:00Z",
    }
    response = client.post(reverse("api-registry-search"), body, content_type="application/json")
    assert response.status_code == 200 and response.json()["results"] == []
    stored = client.get(reverse("api-registry-search-detail", args=[response.json()["search"]]))
    assert stored.status_code == 200 and stored.json()["case_number"] == "X-1"
    assert stored.json()["reason_category"] == "violent_crime"
    assert client.get(reverse("api-registry-camera", args=[private.id])).status_code == 403
    answer = client.get(reverse("api-registry-map") + "?bbox=-74,40.7,-73.9,40.8&zoom=16").json()
    assert answer == {"zoom": 16, "cell_size_m": answer["cell_size_m"], "cells": [], "cameras": []}
    missing = client.post(
        reverse("api-registry-search"), {**body, "case_number": ""}, content_type="application/json"
    )
    assert missing.status_code == 400 and "case number is required" in missing.json()["detail"]
    agency_a = UserFactory(agency=police)
    add_totp_device(agency_a)
    sign_in(client, agency_a)
    theirs = reverse("api-registry-search-detail", args=[response.json()["search"]])
    assert client.get(theirs).status_code == 404


def test_the_registry_api_is_in_the_schema(client):
    schema = client.get(reverse("api-schema")).content.decode()
    for path in (
        "/api/registry/cameras/",
        "/api/registry/public-map/",
        "/api/registry/map/",
        "/api/registry/search/",
        "/api/registry/search/{search_id}/",
        "/api/registry/cameras/import/",
    ):
        assert path in schema


@pytest.mark.parametrize(
    "area",
    [
        '{"type": "Foo"}',  # GeoJSON of no known type: GDAL's error, not GEOS's
        '{"type": "Polygon", "coordinates": "x"}',
        "{not json",
        "POLYGON((0 0, 1 1))",  # a ring that does not close
        "[1, 2]",
    ],
)
def test_a_malformed_area_is_a_clear_400_and_no_search(client, detective, area):
    body = {
        "case_number": "C-9",
        "reason": "Burglary",
        "reason_category": "property_crime",
        "area": area,
        "window_start": "2025-03-01T10:00:00Z",
        "window_end": "2025-03-01T11:00:00Z",
    }
    response = client.post(reverse("api-registry-search"), body, content_type="application/json")

    assert response.status_code == 400
    assert "The area is not a polygon (GeoJSON or WKT)." in response.json()["detail"]
    assert not CameraSearch.objects.exists()


@pytest.mark.parametrize("category", ["", "unspecified", "gossip"])
def test_search_page_refuses_a_search_without_a_listed_reason_category(client, detective, category):
    lat, lon = INCIDENT
    response = client.post(
        reverse("registry:search"), _search_post(lat, lon, reason_category=category)
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "reason category" in text
    assert not CameraSearch.objects.exists()
    assert not AuditEvent.objects.filter(action="registry.camera_search").exists()


def test_the_search_form_offers_the_fixed_categories_and_not_unspecified(client, detective):
    text = client.get(reverse("registry:search")).content.decode()
    assert 'name="reason_category"' in text
    for value in (
        "violent_crime",
        "property_crime",
        "missing_person",
        "traffic_collision",
        "other",
    ):
        assert f'value="{value}"' in text, value
    assert 'value="unspecified"' not in text


def test_the_category_is_stored_shown_and_in_the_audit_details(client, detective):
    lat, lon = INCIDENT
    page = client.post(
        reverse("registry:search"), _search_post(lat, lon, reason_category="missing_person")
    )["Location"]
    search = CameraSearch.objects.get()
    assert search.reason_category == "missing_person"
    text = client.get(page).content.decode()
    assert '<span id="search-reason-category">Missing person</span>' in text
    assert '<option value="missing_person" selected>' in text  # the form keeps the query
    row = AuditEvent.objects.get(action="registry.camera_search")
    assert row.details["reason_category"] == "missing_person"
    assert row.details["reason"] == "Burglary"
    view = AuditEvent.objects.get(action="registry.camera_search_viewed")
    assert view.details["reason_category"] == "missing_person"


def test_the_search_api_needs_a_listed_reason_category(client, detective):
    lat, lon = INCIDENT
    body = {
        "case_number": "X-2",
        "reason": "Collision at the junction",
        "latitude": lat,
        "longitude": lon,
        "window_start": "2025-03-01T10:00:00Z",
        "window_end": "2025-03-01T11:00:00Z",
    }
    url = reverse("api-registry-search")
    missing = client.post(url, body, content_type="application/json")
    assert missing.status_code == 400 and "reason category" in missing.json()["detail"]
    wrong = client.post(url, {**body, "reason_category": "unspecified"}, "application/json")
    assert wrong.status_code == 400 and "reason_category" in wrong.json()["errors"]
    assert not CameraSearch.objects.exists()
    made = client.post(url, {**body, "reason_category": "traffic_collision"}, "application/json")
    assert made.status_code == 200
    assert CameraSearch.objects.get().reason_category == "traffic_collision"
