import pytest
from django.urls import reverse

from portal.models import AuditEvent
from portal.roles import Role

pytestmark = pytest.mark.django_db


def test_investigator_gets_the_uploader_wired_to_the_grant_and_tus_endpoints(make_staff, signed_in):
    response = signed_in(make_staff()).get(reverse("evidence:upload"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-grant-url="/api/uploads/grants/"' in html
    assert 'data-endpoint="/api/uploads/"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "dist/upload.js" in html and "dist/upload.css" in html


def test_the_evidence_list_links_to_the_uploader_for_those_who_may_upload(make_staff, signed_in):
    upload_url = reverse("evidence:upload")
    assert upload_url in signed_in(make_staff()).get(reverse("evidence:list")).content.decode()
    dispatcher = signed_in(make_staff(role=Role.DISPATCHER))
    assert upload_url not in dispatcher.get(reverse("evidence:list")).content.decode()


def test_staff_who_may_only_view_evidence_are_refused_and_it_is_audited(make_staff, signed_in):
    dispatcher = make_staff(role=Role.DISPATCHER)
    assert signed_in(dispatcher).get(reverse("evidence:upload")).status_code == 403
    denied = AuditEvent.objects.filter(actor=dispatcher, outcome=AuditEvent.Outcome.DENIED).get()
    assert denied.details["policy"] == "can_upload_evidence"


def test_a_stranger_is_sent_to_sign_in(client):
    response = client.get(reverse("evidence:upload"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))
