"""Building a case without ids: the add-to-case autocomplete, the evidence list's bulk action,
search, thumbnails and case column, exhibit numbers, filing at upload, activity in words."""

import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evidence.cases import selectors as case_selectors
from evidence.cases import services as case_services
from evidence.cases.activity import activity_in_words
from evidence.intake import uploads
from evidence.intake.errors import UploadInvalid
from evidence.intake.grants import grant_create_for_staff
from evidence.models import CaseItem, Derivative, EvidenceItem, Source
from portal.models import AuditEvent
from portal.roles import Role
from tests.evidence.cases_helpers import make_case, verified
from tests.factories import stored_item

pytestmark = pytest.mark.django_db

LOOKUP = reverse("evidence:case_lookup")
ADD = reverse("evidence:add_to_case")


@pytest.fixture
def lead(make_staff):
    return verified(make_staff(role=Role.INVESTIGATOR, full_name="Dana Ortiz"))


def open_case(lead, number, title):
    return case_services.case_create(actor=verified(lead), number=number, title=title)


def numbers(case) -> dict:
    return dict(case.case_items.values_list("item_id", "exhibit_number"))


# The autocomplete


def test_lookup_finds_my_open_cases_by_number_or_title_and_is_audited(
    lead, make_staff, police, signed_in
):
    mine = open_case(lead, "26-0042", "Burglary on Elm Street")
    open_case(lead, "26-0043", "Bicycle theft")
    closed = open_case(lead, "26-0044", "Burglary, old")
    case_services.case_update(actor=lead, case=closed, status="closed")
    not_mine = open_case(make_staff(), "26-0045", "Burglary too")
    client = signed_in(lead)
    found = client.get(LOOKUP, {"q": "burglary"}).json()["results"]
    assert [r["id"] for r in found] == [str(mine.pk)]
    assert found[0] == {
        "id": str(mine.pk),
        "number": "26-0042",
        "title": "Burglary on Elm Street",
        "lead": str(lead),
    }
    assert [r["number"] for r in client.get(LOOKUP, {"q": "0043"}).json()["results"]] == ["26-0043"]
    assert str(not_mine.pk) not in client.get(LOOKUP, {"q": ""}).content.decode()
    audited = AuditEvent.objects.filter(action="case.looked_up", actor=lead).order_by("seq")
    assert [(e.details["query"], e.details["rows"]) for e in audited] == [
        ("burglary", 1),
        ("0043", 1),
        ("", 2),
    ]
    # A supervisor sees every case of the agency, so every open one is offered.
    supervisor = make_staff(role=Role.SUPERVISOR)
    offered = signed_in(supervisor).get(LOOKUP, {"q": "burglary"}).json()["results"]
    assert {r["number"] for r in offered} == {"26-0042", "26-0045"}


def test_another_agencys_cases_never_appear_in_the_lookup(
    lead, make_staff, other_police, signed_in
):
    open_case(lead, "26-0042", "Burglary")
    foreign_supervisor = make_staff(role=Role.SUPERVISOR, agency=other_police)
    open_case(make_staff(agency=other_police), "OT-1", "Burglary")
    mine = signed_in(lead).get(LOOKUP, {"q": "burglary"}).json()["results"]
    theirs = signed_in(foreign_supervisor).get(LOOKUP, {"q": "burglary"}).json()["results"]
    assert [r["number"] for r in mine] == ["26-0042"]
    assert [r["number"] for r in theirs] == ["OT-1"]


def test_lookup_refuses_who_may_not_add_to_cases(make_staff, prosecution, client, signed_in):
    for user in (
        make_staff(role=Role.DISPATCHER),
        make_staff(role=Role.PROSECUTOR, agency=prosecution),
    ):
        assert signed_in(user).get(LOOKUP, {"q": "a"}).status_code == 403, user.role
    anonymous = client.get(LOOKUP, {"q": "a"})
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]


def test_lookup_is_bounded(lead, signed_in):
    for n in range(12):
        open_case(lead, f"26-{n:04d}", "Same title")
    client = signed_in(lead)
    assert len(client.get(LOOKUP, {"q": "same"}).json()["results"]) == 10
    assert client.get(LOOKUP, {"q": "x" * 5000}).status_code == 200
    event = AuditEvent.objects.filter(action="case.looked_up").latest("seq")
    assert len(event.details["query"]) == 100


# The bulk action and the item page's form


def test_bulk_add_puts_the_selected_items_in_the_case_as_exhibits_in_order(lead, police, signed_in):
    case = make_case(lead=lead)
    items = [stored_item(agency=police, original_filename=f"IMG_{n}.jpg") for n in range(3)]
    client = signed_in(lead)
    response = client.post(
        ADD,
        {
            "case": str(case.pk),
            "item": [str(i.pk) for i in items],
            "next": "/staff/evidence/?q=IMG",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/staff/evidence/?q=IMG"
    assert numbers(case) == {items[0].pk: 1, items[1].pk: 2, items[2].pk: 3}
    page = client.get(response["Location"]).content.decode()
    assert f"Added 3 item(s) to case {case.number} as exhibit(s) 1, 2, 3." in page
    # Again, with one new: only the new one gets a number, the others keep theirs.
    fourth = stored_item(agency=police)
    client.post(ADD, {"case": str(case.pk), "item": [str(items[0].pk), str(fourth.pk)]})
    assert numbers(case) == {items[0].pk: 1, items[1].pk: 2, items[2].pk: 3, fourth.pk: 4}


def test_without_script_the_case_number_typed_in_full_works(lead, police, signed_in):
    case = make_case(lead=lead, number="26-0042")
    item = stored_item(agency=police)
    signed_in(lead).post(ADD, {"case_number": " 26-0042 ", "item": str(item.pk)})
    assert numbers(case) == {item.pk: 1}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Choose a case."),
        ({"case_number": "26-9999", "item": "ITEM"}, "No open case of yours has that number."),
        ({"case": "CASE"}, "Select at least one item."),
        ({"case": "CASE", "item": ["not-a-uuid"]}, "That is not an item id."),
        ({"case": "CASE", "item": ["ITEM"] * 101}, "Select at most 100 items at a time."),
        ({"case": "CASE", "item": ["ITEM", "FOREIGN"]}, "1 of the selected items are not in"),
    ],
)
def test_bulk_add_with_bad_input_adds_nothing_and_says_why(
    lead, police, other_police, signed_in, body, message
):
    case = make_case(lead=lead)
    item = stored_item(agency=police)
    foreign = stored_item(agency=other_police)
    ids = {"CASE": str(case.pk), "ITEM": str(item.pk), "FOREIGN": str(foreign.pk)}
    sent = {
        k: [ids.get(v, v) for v in v] if isinstance(v, list) else ids.get(v, v)
        for k, v in body.items()
    }
    response = signed_in(lead).post(ADD, sent, follow=True)
    assert message in response.content.decode()
    assert not CaseItem.objects.exists()


def test_bulk_add_to_a_case_one_may_not_change_is_404_or_403(
    lead, make_staff, police, other_police, signed_in
):
    case = make_case(lead=lead)
    item = stored_item(agency=police)
    body = {"case": str(case.pk), "item": str(item.pk)}
    # Not a member: the case does not exist for them. Another agency: neither.
    assert signed_in(make_staff()).post(ADD, body).status_code == 404
    stranger = make_staff(role=Role.SUPERVISOR, agency=other_police)
    assert signed_in(stranger).post(ADD, body).status_code == 404
    # A dispatcher sees evidence but builds no cases.
    assert signed_in(make_staff(role=Role.DISPATCHER)).post(ADD, body).status_code == 403
    assert not CaseItem.objects.exists()


def test_an_offsite_next_is_ignored(lead, police, signed_in):
    case = make_case(lead=lead)
    item = stored_item(agency=police)
    response = signed_in(lead).post(
        ADD, {"case": str(case.pk), "item": str(item.pk), "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("evidence:list")


def test_item_page_lists_its_cases_and_offers_add_to_case(lead, police, signed_in):
    item = stored_item(agency=police, original_filename="IMG_0042.jpg")
    case = make_case(lead=lead, number="26-0042", items=[item])
    body = signed_in(lead).get(reverse("evidence:detail", args=[item.pk])).content.decode()
    assert f"Case {case.number} · {case.title}</a> — exhibit 1" in body
    assert 'action="/staff/evidence/add-to-case/"' in body and "data-case-picker" in body


# Exhibit numbers


def test_exhibit_numbers_are_never_reused_after_a_removal(lead, police):
    case = make_case(lead=lead)
    a, b = stored_item(agency=police), stored_item(agency=police)
    case_services.case_items_add(actor=lead, case=case, items=[a, b])
    case_services.case_item_remove(actor=lead, case=case, item=a)
    case_services.case_item_add(actor=lead, case=case, item=a)
    assert numbers(case) == {b.pk: 2, a.pk: 3}
    other = make_case(lead=lead)
    case_services.case_item_add(actor=lead, case=other, item=b)
    assert numbers(other) == {b.pk: 1}  # per case


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_to_one_case_get_distinct_numbers(make_staff, police):
    lead = verified(make_staff())
    case = make_case(lead=lead)
    items = [stored_item(agency=police) for _ in range(6)]
    barrier = threading.Barrier(len(items))
    errors = []

    def add(item):
        try:
            barrier.wait(timeout=10)
            case_services.case_item_add(actor=lead, case=case, item=item)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=add, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(numbers(case).values()) == [1, 2, 3, 4, 5, 6]
    case.refresh_from_db()
    assert case.last_exhibit_number == 6


def test_case_page_shows_exhibits_and_activity_in_words_latest_ten_then_all(
    lead, police, signed_in
):
    items = [stored_item(agency=police, original_filename=f"IMG_{n:04d}.jpg") for n in range(12)]
    case = make_case(lead=lead, items=items)
    client = signed_in(lead)
    body = client.get(reverse("evidence:case_detail", args=[case.pk])).content.decode()
    assert "<td><strong>12</strong></td>" in body and "IMG_0011.jpg" in body
    activity = body.split('id="activity"')[1]
    # The latest ten (newest first); the older ones load on demand behind "Show all".
    assert "Dana Ortiz viewed the case" in activity  # this very visit
    assert "Dana Ortiz added IMG_0011.jpg as exhibit 12" in activity
    assert "Dana Ortiz added IMG_0000.jpg as exhibit 1" not in activity
    assert "Dana Ortiz opened the case" not in activity
    assert activity.split("</ol>")[0].count("<li>") == 10
    url = reverse("evidence:case_activity", args=[case.pk])
    assert f'data-url="{url}">Show all 14</button>' in activity
    assert "case.item_added" not in body

    response = client.get(url)
    assert response["Cache-Control"] == "private, no-store"
    lines = response.json()["lines"]
    # All of it, newest first, the newest being this very read (audited as a view of the case).
    assert response.json()["total"] == len(lines) == 15
    assert lines[0]["text"] == "Dana Ortiz viewed the case"
    assert lines[-1]["text"] == "Dana Ortiz opened the case"
    assert "Dana Ortiz added IMG_0000.jpg as exhibit 1" in [line["text"] for line in lines]
    assert lines[0]["at"].endswith(" UTC)")
    read = AuditEvent.objects.filter(target_id=str(case.pk)).order_by("-seq").first()
    assert (read.action, read.actor_id, read.details["via"]) == ("case.viewed", lead.pk, "activity")


def test_case_page_without_older_activity_offers_no_show_all(lead, police, signed_in):
    case = make_case(lead=lead, items=[stored_item(agency=police)])
    body = signed_in(lead).get(reverse("evidence:case_detail", args=[case.pk])).content.decode()
    assert "Dana Ortiz opened the case" in body
    assert 'id="activity-all"' not in body


def test_activity_names_a_withheld_file_by_its_exhibit_number(lead):
    event = AuditEvent(
        action="case.item_added",
        actor_label="Dana Ortiz <dana@example.org>",
        target_type="evidence.evidenceitem",
        target_id="x",
        details={"exhibit": 3},
        outcome="success",
    )
    [line] = activity_in_words(events=[event], item_names={"x": "exhibit 3"})
    assert line.text == "Dana Ortiz added exhibit 3 as exhibit 3"
    event.action, event.details = "evidence.downloaded", {}
    assert activity_in_words(events=[event], item_names={})[0].text == (
        "Dana Ortiz downloaded an item no longer in the case"
    )


# The evidence list


def _seed_list(police, case_lead, n):
    case = make_case(lead=case_lead)
    for i in range(n):
        item = stored_item(agency=police, original_filename=f"cam{i}.jpg", media_kind="image")
        Derivative.objects.create(
            item=item, kind=Derivative.Kind.IMAGE_PREVIEW, name="preview.jpg",
            key=f"test/preview-{item.pk}.jpg", size=1, sha256="0" * 64, media_type="image/jpeg",
        )  # fmt: skip
        case_services.case_item_add(actor=case_lead, case=case, item=item)
    return case


def test_evidence_list_queries_do_not_grow_with_rows(lead, police, signed_in):
    client = signed_in(lead)
    url = reverse("evidence:list")
    _seed_list(police, lead, 2)
    client.get(url)  # warm: session, content types
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _seed_list(police, lead, 20)
    with CaptureQueriesContext(connection) as many:
        body = client.get(url).content.decode()
    assert body.count("preview.jpg") == 22 and body.count('name="item"') == 22
    assert len(many) == len(few), [q["sql"][:120] for q in many]


def test_evidence_list_shows_thumbnail_or_icon_and_only_visible_cases(
    lead, make_staff, police, signed_in
):
    case = _seed_list(police, lead, 1)
    secret = make_case(lead=verified(make_staff()), number="SECRET-1")
    [item] = case.items.all()
    case_services.case_item_add(actor=secret.lead, case=secret, item=item)
    stored_item(agency=police, original_filename="call.wav", media_kind="audio")
    body = signed_in(lead).get(reverse("evidence:list")).content.decode()
    assert reverse("evidence:media", args=[item.pk, "preview.jpg"]) in body
    assert "file-icon-audio" in body
    assert f">{case.number}</a>" in body and "#1" in body
    assert "SECRET-1" not in body


def test_search_matches_filename_reference_and_source_but_not_a_withheld_name(
    lead, police, signed_in
):
    stored_item(agency=police, original_filename="IMG_0042.jpg")
    stored_item(agency=police, original_filename="other.mp4", source_ref="FR-77")
    stored_item(
        agency=police, original_filename="IMG_0042_secret.jpg", source=Source.TIP, source_ref="T1"
    )
    client = signed_in(lead)

    def found(q):
        body = client.get(reverse("evidence:list"), {"q": q}).content.decode()
        return body.split("item(s).")[0].rsplit(">", 1)[-1].strip()

    assert found("img_0042") == "1"  # the tip's file name is not searched
    assert found("fr-77") == "1"
    assert found("tip") == "1"  # the source in words
    listed = AuditEvent.objects.filter(action="evidence.listed").latest("seq")
    assert listed.details["filters"]["q"] == "tip" and listed.details["rows"] == 1
    too_long = client.get(reverse("evidence:list"), {"q": "x" * 101}).content.decode()
    assert "at most 100 characters" in too_long


# Filing at upload


def test_a_staff_upload_naming_my_case_is_filed_into_it(lead, police, make_staff):
    case = make_case(lead=lead)
    grant = grant_create_for_staff(actor=lead)
    upload = uploads.upload_create(
        grant=grant, length=0, metadata={"filename": "IMG_0042.jpg", "case": str(case.pk)}
    )
    item = EvidenceItem.objects.get(upload=upload)
    assert numbers(case) == {item.pk: 1}
    added = AuditEvent.objects.get(action="case.item_added", target_id=str(item.pk))
    assert added.actor_id == lead.pk and added.details["exhibit"] == 1


def test_a_staff_upload_naming_a_case_not_mine_is_refused_before_any_byte(
    lead, make_staff, other_police
):
    grant = grant_create_for_staff(actor=lead)
    not_mine = make_case(lead=verified(make_staff()))
    foreign = make_case(lead=verified(make_staff(agency=other_police)))
    for case_id in (str(not_mine.pk), str(foreign.pk), "garbage"):
        with pytest.raises(UploadInvalid, match="not one of your open cases"):
            uploads.upload_create(grant=grant, length=10, metadata={"case": case_id})
    assert not EvidenceItem.objects.exists()


def test_selector_for_upload_scopes_like_the_pages(lead, make_staff):
    case = make_case(lead=lead)
    assert case_selectors.case_for_upload(uploader=lead, id=case.pk) == case
    with pytest.raises(Exception, match="No such case"):
        case_selectors.case_for_upload(uploader=make_staff(), id=case.pk)


# The case form


def test_the_case_form_leads_with_me_and_offers_the_map_picker(lead, signed_in, settings):
    settings.MAP_TILE_URL = "/tiles/{z}/{x}/{y}.png"
    body = signed_in(lead).get(reverse("evidence:case_create")).content.decode()
    assert f'<option value="{lead.pk}" selected>' in body
    assert 'id="case-form-map"' in body
    assert 'id="map-config"' in body  # the shared basemap (includes/leaflet_js.html)
    assert "leaflet/draw/leaflet.draw.js" in body and body.count("js/case-form-map.js") == 1


def test_case_activity_holds_rows_that_name_the_case_only_in_their_details(lead):
    """A share, a package: their target is not the case or an item, their details name it."""
    from portal.audit import audit_record

    case = make_case(lead=lead, items=[])
    other = make_case(lead=lead, items=[])
    audit_record(action="share.created", actor=lead, target=lead, agency=lead.agency,
                 details={"case": str(case.pk), "number": case.number})  # fmt: skip
    audit_record(action="share.created", actor=lead, target=lead, agency=lead.agency,
                 details={"case": str(other.pk), "number": other.number})  # fmt: skip
    audit_record(action="share.created", actor=lead, target=lead, agency=lead.agency,
                 details={"cases": [str(case.pk)]})  # fmt: skip
    named = [
        e.details
        for e in case_selectors.case_activity(case=case)
        if e.target_type != "evidence.case"
    ]
    assert named == [{"case": str(case.pk), "number": case.number}]
