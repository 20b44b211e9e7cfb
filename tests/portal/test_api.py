import pytest
from django.test import Client
from django.urls import reverse

from portal.roles import Role

pytestmark = pytest.mark.django_db


def test_schema_is_public_and_lists_our_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/me/" in paths and "/api/audit-events/" in paths


def test_swagger_ui_is_served_from_our_own_static_files(client):
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "/static/drf_spectacular_sidecar/" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()


def test_me_needs_a_signed_in_verified_user(client, make_staff, signed_in):
    assert client.get(reverse("api-me")).status_code == 403
    user = make_staff()
    body = signed_in(user).get(reverse("api-me")).json()
    assert body["email"] == user.email and body["role"] == Role.INVESTIGATOR
    assert "portal.staff_area" in body["capabilities"]


def test_staff_with_password_only_gets_nothing_from_the_api(make_staff):
    user = make_staff()
    client = Client()
    client.post(
        reverse("portal:login"), {"email": user.email, "password": "correct horse battery staple"}
    )
    assert client.get(reverse("api-me")).status_code == 403


def test_audit_events_api_is_scoped_paginated_and_audited(make_staff, other_police, signed_in):
    auditor = make_staff(role=Role.AUDITOR)
    signed_in(make_staff(agency=other_police))
    client = signed_in(auditor)
    body = client.get(reverse("api-audit-events")).json()
    assert {"count", "next", "previous", "results"} <= set(body)
    assert body["results"] and all(
        r["actor_agency"] in ("", auditor.agency.name) for r in body["results"]
    )
    assert any(r["action"] == "auth.login_succeeded" for r in body["results"])


def test_audit_events_api_refuses_investigators_with_json(make_staff, signed_in):
    response = signed_in(make_staff()).get(reverse("api-audit-events"))
    assert response.status_code == 403
    assert "detail" in response.json()


def test_audit_events_api_reports_bad_filters_as_json(make_staff, signed_in):
    response = signed_in(make_staff(role=Role.AUDITOR)).get(
        reverse("api-audit-events"), {"date_from": "nope"}
    )
    assert response.status_code == 400
    assert response.json()["detail"] and "date_from" in response.json()["errors"]


def test_healthz_reports_database_and_redis(client):
    response = client.get(reverse("portal:healthz"))
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok"}


def test_healthz_reports_a_dead_redis(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("portal:healthz"))
    assert response.status_code == 503 and response.json()["redis"] == "unavailable"
