"""Upload grants on the tus endpoint: staff sessions, secrets, expiry, revocation, and the grant API."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from evidence.models import EvidenceItem, UploadGrant
from portal.models import AuditEvent
from portal.roles import Role
from tests.conftest import sign_in
from tests.evidence.intake.tus.helpers import (
    b64,
    create,
    patch,
    tus_headers,
    upload_of,
    upload_url,
)
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_staff_grant_works_for_its_owner_session_only(
    make_staff, other_police, resident, staff_grant
):
    owner = make_staff()
    owner_client, value = staff_grant(owner)
    url = upload_url(create(owner_client, value, 10, f"filetype {b64('image/png')}"))
    assert patch(owner_client, url, value, b"0123456789", 0).status_code == 204
    item = EvidenceItem.objects.get()
    assert item.uploaded_by == owner and item.source == "staff_upload"

    colleague = sign_in(Client(), make_staff())
    stranger = sign_in(Client(), make_staff(agency=other_police))
    public = sign_in(Client(), resident)
    for who in (colleague, stranger, public, Client()):
        response = create(who, value, 10)
        assert response.status_code == 403
        assert b"Canvass-Upload-Grant" in response.content
        assert who.head(url, headers=tus_headers(value)).status_code == 404


def test_staff_grant_needs_the_second_factor(make_staff, staff_grant):
    owner = make_staff()
    _, value = staff_grant(owner)
    half = Client()
    half.post(reverse("portal:login"), {"email": owner.email, "password": PASSWORD})
    assert create(half, value, 10).status_code == 403


def test_staff_grant_stops_working_when_the_role_loses_upload_rights(make_staff, staff_grant):
    owner = make_staff()
    owner_client, value = staff_grant(owner)
    owner.role = Role.DISPATCHER
    owner.save(update_fields=["role"])
    assert create(owner_client, value, 10).status_code == 403


def test_secret_grant_works_and_a_wrong_secret_is_refused(client, secret_grant, staff_grant):
    grant, value = secret_grant()
    url = upload_url(create(client, value, 4))
    assert patch(client, url, value, b"tips", 0).status_code == 204
    item = EvidenceItem.objects.get()
    assert item.uploaded_by is None and item.source == "tip"

    wrong = f"{grant.id}.{'x' * 43}"
    _, staff_value = staff_grant()
    for bad in (wrong, str(grant.id), f"{grant.id}.", f"{staff_value}.{'x' * 43}", "junk"):
        assert create(client, bad, 4).status_code == 403
        assert client.head(url, headers=tus_headers(bad)).status_code == 404
    assert UploadGrant.objects.get(pk=grant.pk).secret_hash != value.split(".", 1)[1]


@pytest.mark.parametrize("how", ["expired", "revoked"])
def test_expired_or_revoked_grant_gets_403_on_creation_and_404_on_uploads(
    client, secret_grant, how
):
    grant, value = secret_grant()
    url = upload_url(create(client, value, 10))
    if how == "expired":
        UploadGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now())
    else:
        UploadGrant.objects.filter(pk=grant.pk).update(revoked_at=timezone.now())
    assert create(client, value, 10).status_code == 403
    assert client.head(url, headers=tus_headers(value)).status_code == 404
    assert patch(client, url, value, b"1", 0).status_code == 404


def test_upload_never_outlives_its_grant(client, secret_grant):
    grant, value = secret_grant(expires_at=timezone.now() + timedelta(hours=1))
    upload = upload_of(upload_url(create(client, value, 10)))
    assert upload.expires_at == grant.expires_at


# --- the grant API ------------------------------------------------------------------------


def test_investigator_gets_a_grant_from_the_api(make_staff, signed_in):
    user = make_staff()
    response = signed_in(user).post(
        reverse("uploads:grants"),
        {"max_files": 3, "media_types": ["video/"]},
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    grant = UploadGrant.objects.get(pk=body["id"])
    assert body["header"] == "Canvass-Upload-Grant" and body["value"] == str(grant.id)
    assert body["max_files"] == 3 and body["media_types"] == ["video/"]
    assert body["max_file_bytes"] > 0 and body["expires_at"]
    assert grant.user == user and grant.agency == user.agency and not grant.secret_hash
    event = AuditEvent.objects.get(action="upload.granted")
    assert event.actor == user and event.target_id == str(grant.id)


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.AUDITOR, Role.AGENCY_ADMIN])
def test_staff_without_upload_rights_get_no_grant(make_staff, signed_in, role):
    response = signed_in(make_staff(role=role)).post(reverse("uploads:grants"))
    assert response.status_code == 403 and "detail" in response.json()
    assert not UploadGrant.objects.exists()


def test_residents_and_strangers_get_no_grant(resident, signed_in, client):
    assert signed_in(resident).post(reverse("uploads:grants")).status_code == 403
    assert client.post(reverse("uploads:grants")).status_code == 403


def test_grant_api_refuses_limits_over_the_server_maximum(make_staff, signed_in, settings):
    response = signed_in(make_staff()).post(
        reverse("uploads:grants"),
        {"max_file_bytes": settings.UPLOAD_MAX_BYTES_BY_FLOW["staff_upload"] + 1},
        content_type="application/json",
    )
    assert response.status_code == 400 and "limit" in response.json()["detail"]


def test_grant_api_is_in_the_schema(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "post" in paths["/api/uploads/grants/"]


def test_a_staff_member_resumes_their_upload_with_a_new_grant_after_a_reload(
    make_staff, staff_grant
):
    owner = make_staff()
    client, first = staff_grant(owner)
    url = upload_url(create(client, first, 10))
    assert patch(client, url, first, b"01234", 0).status_code == 204
    _, second = staff_grant(owner)  # the page was reloaded: a fresh grant, same person
    assert client.head(url, headers=tus_headers(second))["Upload-Offset"] == "5"
    assert patch(client, url, second, b"56789", 5).status_code == 204
    assert EvidenceItem.objects.get().size == 10

    colleague_client, colleague_value = staff_grant(make_staff())
    assert colleague_client.head(url, headers=tus_headers(colleague_value)).status_code == 404


def test_a_revoked_first_grant_does_not_lend_its_uploads(make_staff, staff_grant):
    owner = make_staff()
    client, first = staff_grant(owner)
    url = upload_url(create(client, first, 10))
    UploadGrant.objects.filter(pk=first).update(revoked_at=timezone.now())
    _, second = staff_grant(owner)
    assert client.head(url, headers=tus_headers(second)).status_code == 404


@pytest.mark.parametrize("first_is", ["revoked", "expired", "another_agencys", "a_colleagues"])
def test_a_patch_under_a_second_grant_is_refused_when_the_first_does_not_lend(
    make_staff, staff_grant, other_police, first_is
):
    """A PATCH checks its grant from the row read with the upload (uploads._reachable, not
    the query HEAD uses): a staff member's second grant reaches their upload only while the
    upload's own grant is live and of the same agency and flow; nothing is written otherwise."""
    owner = make_staff()
    client, first = staff_grant(owner)
    url = upload_url(create(client, first, 10))
    assert patch(client, url, first, b"01234", 0).status_code == 204
    first_id = first.split(".", 1)[0]
    if first_is == "revoked":
        UploadGrant.objects.filter(pk=first_id).update(revoked_at=timezone.now())
    elif first_is == "expired":
        UploadGrant.objects.filter(pk=first_id).update(expires_at=timezone.now())
    elif first_is == "another_agencys":
        UploadGrant.objects.filter(pk=first_id).update(agency=other_police)
    if first_is == "a_colleagues":  # the first is live, but the second is someone else's
        client, second = staff_grant(make_staff())
    else:
        _, second = staff_grant(owner)
    assert patch(client, url, second, b"56789", 5).status_code == 404
    assert upload_of(url).offset == 5
    assert not EvidenceItem.objects.exists()
