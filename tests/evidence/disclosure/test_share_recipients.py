"""A share's named recipients are looked up among the chosen office's prosecutors only: any
other id (a resident, another agency's staff, nobody) gets the same words, which name no one,
and the attempt is audited with counts and ids, never names or addresses."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from evidence.models import Share
from portal.models import AuditEvent, User
from portal.roles import AgencyKind, Role
from tests.evidence.cases_helpers import case_with_items
from tests.factories import AgencyFactory, PublicUserFactory

pytestmark = pytest.mark.django_db

REFUSED = "share.recipients_refused"


@pytest.fixture
def world(make_staff, police, prosecution):
    lead, case, _items = case_with_items(make_staff=make_staff, police=police)
    prosecutor = make_staff(role=Role.PROSECUTOR, agency=prosecution)
    other_da = AgencyFactory(kind=AgencyKind.PROSECUTION, name="Elsewhere DA", slug="else-da")
    outsiders = {
        "resident": PublicUserFactory(full_name="Rhoda Resident", email="rhoda@home.example"),
        "other agency": make_staff(full_name="Otto Otherda", agency=other_da, role=Role.PROSECUTOR),
        "police": make_staff(full_name="Pat Patrol", email="pat@police.example"),
    }
    return {"lead": lead, "case": case, "office": prosecution, "prosecutor": prosecutor} | {
        "outsiders": outsiders
    }


def _nobody_id():
    return (User.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def _api_share(client, world, recipients):
    return client.post(
        reverse("api-case-shares", args=[world["case"].pk]),
        {"office": world["office"].pk, "recipients": recipients},
        content_type="application/json",
    )


def _form_share(client, world, recipients):
    return client.post(
        reverse("evidence:share_create", args=[world["case"].pk]),
        {
            "office": world["office"].pk,
            "recipients": recipients,
            "scope": "all",
            "level": Share.Level.VIEW,
            "expires_on": (timezone.now() + dt.timedelta(days=30)).date().isoformat(),
        },
    )


def _leaks(body: str, world) -> list[str]:
    people = [*world["outsiders"].values(), world["prosecutor"]]
    return [s for u in people for s in (u.full_name, u.email) if s in body]


def test_every_kind_of_wrong_id_gets_the_same_words_naming_no_one_over_the_api(world, signed_in):
    client = signed_in(world["lead"])
    ids = {name: u.pk for name, u in world["outsiders"].items()} | {"nobody": _nobody_id()}
    answers = {}
    for name, pk in ids.items():
        response = _api_share(client, world, [world["prosecutor"].pk, pk])
        assert response.status_code == 400, name
        body = response.content.decode()
        assert _leaks(body, world) == [], name
        answers[name] = response.json()
    assert all(a == answers["nobody"] for a in answers.values()), answers
    assert "not a prosecutor of this office" in str(answers["nobody"])
    assert not Share.objects.exists()
    rows = AuditEvent.objects.filter(action=REFUSED).order_by("seq")
    assert [r.details["refused_ids"] for r in rows] == [[pk] for pk in ids.values()]
    for row in rows:
        assert row.actor_id == world["lead"].pk and row.outcome == AuditEvent.Outcome.DENIED
        assert row.details["requested"] == 2 and row.details["refused"] == 1
        text = str(row.details) + row.reason
        assert not any(
            s in text for u in world["outsiders"].values() for s in (u.full_name, u.email)
        )


def test_two_wrong_ids_are_counted_not_named(world, signed_in):
    client = signed_in(world["lead"])
    outsiders = [u.pk for u in world["outsiders"].values()][:2]
    response = _api_share(client, world, outsiders)
    errors = response.json()["errors"]
    assert errors == {"recipients": ["2 recipients are not prosecutors of this office."]}


def test_the_office_s_own_prosecutor_is_still_accepted(world, signed_in):
    response = _api_share(signed_in(world["lead"]), world, [world["prosecutor"].pk])
    assert response.status_code == 201, response.content
    share = Share.objects.get()
    assert list(share.recipients.all()) == [world["prosecutor"]]
    assert not AuditEvent.objects.filter(action=REFUSED).exists()


def test_the_staff_share_form_resolves_through_the_same_service(world, signed_in):
    client = signed_in(world["lead"])
    for user in [*world["outsiders"].values()]:
        response = _form_share(client, world, [user.pk])
        assert response.status_code == 200
        assert "1 recipient is not a prosecutor of this office." in response.content.decode()
    response = _form_share(client, world, [_nobody_id()])
    assert "1 recipient is not a prosecutor of this office." in response.content.decode()
    assert not Share.objects.exists()
    assert AuditEvent.objects.filter(action=REFUSED).count() == 4
    response = _form_share(client, world, [world["prosecutor"].pk])
    assert response.status_code == 302
    assert list(Share.objects.get().recipients.all()) == [world["prosecutor"]]
