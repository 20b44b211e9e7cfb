"""Bidirectional overrides, isolates, marks and control characters (terminal escapes too) in
user text are replaced by U+FFFD on input, through forms and the API alike; an evidence
file's name is left as sent and its tricks shown as codes on display."""

import io
import json
import re
import zipfile

import pytest
from django.urls import reverse

from evidence.models import Case, Share
from portal.roles import Role
from portal.text import REPLACEMENT, clean_text
from registry.models import Camera
from submissions.models import Tip, TipMessage, TipNote
from tests.conftest import sign_in
from tests.evidence.cases_helpers import case_with_items
from tests.evidence.disclosure.packaging import package_bytes
from tests.factories import PublicUserFactory, stored_item
from tests.registry.cameras import INCIDENT, camera_data
from tests.submissions.helpers import send_tip, tipster_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cheap_pow")]

RLO, LRI, PDI, LRM, ALM = "\u202e", "\u2066", "\u2069", "\u200e", "\u061c"
ESC_RED = "\x1b[31m"
C1_CSI = "\x9b"
# Every kind the issue names, between words (NUL is refused outright by forms and the API).
TRICKY = f"plate {RLO}ABC123{PDI} {LRI}x{LRM}y{ALM} {ESC_RED}red{C1_CSI}csi\x07bell\x7fdel\x0bvt"
UNSAFE = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _assert_clean(text: str):
    assert not UNSAFE.search(text), repr(text)
    assert REPLACEMENT in text and "ABC123" in text and "[31mred" in text


def test_clean_text_keeps_newlines_and_tabs_and_one_mark_per_character():
    assert clean_text("a\tb\r\nc\nd") == "a\tb\nc\nd"
    tricky = TRICKY + "\x00nul"
    cleaned = clean_text(tricky)
    _assert_clean(cleaned)
    assert cleaned.count(REPLACEMENT) == len(UNSAFE.findall(tricky)) == 11
    assert clean_text(cleaned) == cleaned


def test_tip_api_and_the_no_javascript_form(tips_agency):
    response = send_tip(
        tipster_client(), tips_agency, description=TRICKY, address=f"{RLO}12 Elm", contact=TRICKY
    )
    assert response.status_code == 201, response.content
    receipt = response.json()["receipt"]
    tip = Tip.objects.get(reference=response.json()["tip"])
    for text in (tip.description, tip.contact):
        _assert_clean(text)
    assert tip.address == f"{REPLACEMENT}12 Elm"
    page = tipster_client().post(
        f"/tips/{tips_agency.slug}/",
        {
            "category": "drugs",
            "description": TRICKY,
            "occurred_at": "2025-03-01T19:45",
            "address": "",
            "contact": "",
            "share_file_metadata": "no",
        },
    )
    assert page.status_code == 200, page.content.decode()[:500]
    _assert_clean(Tip.objects.exclude(pk=tip.pk).get().description)
    # The tipster's messages: API and the return page.
    client = tipster_client()
    answer = client.post(
        "/api/tips/mine/messages/",
        json.dumps({"body": TRICKY}),
        content_type="application/json",
        HTTP_CANVASS_RECEIPT=receipt,
    )
    assert answer.status_code in (200, 201), answer.content
    assert client.post("/tips/return/", {"receipt": receipt}).status_code == 302
    client.post("/tips/return/tip/", {"body": f"again {RLO}gnp.exe"})
    bodies = list(TipMessage.objects.filter(tip=tip).values_list("body", flat=True))
    assert len(bodies) == 2
    _assert_clean(bodies[0])
    assert f"again {REPLACEMENT}gnp.exe" in bodies


def test_staff_notes_and_questions(tips_agency, make_staff, signed_in):
    tip_ref = send_tip(tipster_client(), tips_agency).json()["tip"]
    client = signed_in(make_staff(Role.INVESTIGATOR, agency=tips_agency))
    client.post(reverse("submissions_staff:note", args=[tip_ref]), {"body": TRICKY})
    client.post(reverse("submissions_staff:question", args=[tip_ref]), {"body": TRICKY})
    _assert_clean(TipNote.objects.get().body)
    _assert_clean(TipMessage.objects.get().body)


def test_camera_names_through_the_page_and_the_api(client):
    person = PublicUserFactory(role="business")
    sign_in(client, person)
    data = camera_data(*INCIDENT, name=f"Door {RLO}maerts")
    post = {k: ("" if v is None else v) for k, v in data.items()}
    for flag in ("records_always", "is_public"):
        post[flag] = "on" if data[flag] else ""
    assert client.post(reverse("cameras:new"), post).status_code == 302
    api = client.post(
        reverse("api-registry-cameras"),
        {**data, "name": f"Yard {ESC_RED}cam"},
        content_type="application/json",
    )
    assert api.status_code == 201, api.content
    names = set(Camera.objects.values_list("name", flat=True))
    assert names == {f"Door {REPLACEMENT}maerts", f"Yard {REPLACEMENT}[31mcam"}


def test_case_titles_and_share_notes(make_staff, police, prosecution, signed_in):
    lead, case, items = case_with_items(make_staff=make_staff, police=police)
    make_staff(role=Role.PROSECUTOR, agency=prosecution)
    client = signed_in(lead)
    response = client.post(
        reverse("evidence:case_create"),
        {"number": "24-777", "title": f"Robbery {RLO}teerts niaM", "status": "open",
         "lead": lead.pk, "lat": "", "lon": "", "incident_time": "", "area": ""},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:800]
    assert Case.objects.get(number="24-777").title == f"Robbery {REPLACEMENT}teerts niaM"
    api = client.post(
        reverse("api-case-shares", args=[case.pk]),
        {"office": prosecution.pk, "note": TRICKY},
        content_type="application/json",
    )
    assert api.status_code == 201, api.content
    _assert_clean(Share.objects.get().note)


def test_an_evidence_file_name_is_kept_and_marked_on_display(make_staff, police, signed_in):
    name = f"photo{RLO}gpj.exe"
    item = stored_item(agency=police, original_filename=name)
    item.refresh_from_db()
    assert item.original_filename == name  # as sent: never altered
    page = signed_in(make_staff()).get(reverse("evidence:detail", args=[item.pk]))
    html = page.content.decode()
    assert "photo[U+202E]gpj.exe" in html
    assert RLO not in html


def test_a_file_name_is_marked_in_the_case_packages_custody_report(make_staff, police):
    lead, case, items = case_with_items(make_staff=make_staff, police=police)
    name = f"photo{RLO}gpj.exe"
    items[0].original_filename = name
    items[0].save(update_fields=["original_filename"])
    data = package_bytes(actor=lead, case=case, items=items)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        html = archive.read("custody.html").decode()
        manifest = json.loads(archive.read("manifest.json"))
    # Both places the report names the file (the file table and the item's custody heading).
    assert html.count("photo[U+202E]gpj.exe") == 2
    assert RLO not in html
    # The manifest keeps the name as sent: only its display is marked.
    assert name in [f.get("original_filename") for f in manifest["files"]]
