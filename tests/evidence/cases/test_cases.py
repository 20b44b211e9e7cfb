"""Cases: who sees them, the page (timeline, map, custody, activity), items and members."""

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.urls import reverse

from evidence.cases import services as case_services
from evidence.models import CaseItem
from evidence.sources import CaseLink
from portal.models import AuditEvent
from portal.roles import Role
from tests.evidence.cases_helpers import case_with_items, make_case, verified
from tests.factories import stored_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(make_staff, police):
    return case_with_items(make_staff=make_staff, police=police)


def test_lead_member_and_supervisor_see_the_case_other_staff_get_404(
    setup, make_staff, other_police, signed_in
):
    lead, case, _ = setup
    member = make_staff()
    case_services.case_member_add(actor=lead, case=case, user=member)
    url = reverse("evidence:case_detail", args=[case.pk])
    for user in (lead, member, make_staff(role=Role.SUPERVISOR)):
        assert signed_in(user).get(url).status_code == 200, user.role
    for user in (make_staff(), make_staff(role=Role.SUPERVISOR, agency=other_police)):
        client = signed_in(user)
        assert client.get(url).status_code == 404
        assert client.get(reverse("evidence:case_edit", args=[case.pk])).status_code == 404
        assert client.get(reverse("evidence:share_create", args=[case.pk])).status_code == 404
        assert client.get(reverse("api-case-detail", args=[case.pk])).status_code == 404
        assert case.number not in client.get(reverse("evidence:case_list")).content.decode()


def test_removed_member_loses_access_at_once(setup, make_staff, signed_in):
    lead, case, _ = setup
    member = make_staff()
    case_services.case_member_add(actor=lead, case=case, user=member)
    client = signed_in(member)
    url = reverse("evidence:case_detail", args=[case.pk])
    assert client.get(url).status_code == 200
    signed_in(lead).post(reverse("evidence:case_member_remove", args=[case.pk, member.pk]))
    assert client.get(url).status_code == 404


def test_case_page_shows_timeline_sources_custody_map_and_activity(
    make_staff, police, signed_in, settings
):
    settings.MAP_TILE_URL = "/tiles/{z}/{x}/{y}.png"
    lead = verified(make_staff())
    located = stored_item(
        agency=police, original_filename="doorbell.mp4", location=Point(-73.96, 40.75, srid=4326),
        capture_time="2024-03-01T10:00:00Z", capture_time_source="device_metadata",
        capture_time_confidence="high",
    )  # fmt: skip
    claimed = stored_item(
        agency=police, original_filename="phone.mp4", capture_time="2024-03-01T09:00:00Z",
        capture_time_source="uploader_claim", capture_time_confidence="low",
    )  # fmt: skip
    case = make_case(
        lead=lead, items=[located, claimed], incident_point=Point(-73.95, 40.76, srid=4326)
    )
    body = signed_in(lead).get(reverse("evidence:case_detail", args=[case.pk])).content.decode()
    # Earlier capture first, each with where its time came from.
    timeline = body.split('id="timeline"')[1]
    assert timeline.index("phone.mp4") < timeline.index("doorbell.mp4")
    assert "from uploader&#x27;s claim, low confidence" in body
    assert "from device metadata, high confidence" in body
    assert 'id="case-map-points"' in body and "-73.96" in body and "Incident" in body
    assert '"kind": "raster", "url": "/tiles/{z}/{x}/{y}.png"' in body  # the shared map config
    assert 'class="map-legend" data-for="case-map"' in body
    # Activity from the audit log, in words.
    assert f"{lead.full_name} added doorbell.mp4 as exhibit 1" in body
    assert body.count("Custody (") == 2
    viewed = AuditEvent.objects.filter(action="case.viewed", target_id=str(case.pk))
    assert viewed.count() == 1


def test_an_items_whole_custody_loads_from_the_case_page_scoped_and_audited(
    setup, police, signed_in
):
    lead, case, items = setup
    item = items[0]
    client = signed_in(lead)
    for _ in range(5):
        client.get(reverse("evidence:detail", args=[item.pk]))
    url = reverse("evidence:case_item_custody", args=[case.pk, item.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    custody = response.json()
    rows = AuditEvent.objects.filter(target_id=str(item.pk)).order_by("seq")
    assert custody["total"] == rows.count() == len(custody["lines"])
    # Oldest first, in words, the last being this very read (via the case, in its activity).
    assert (
        custody["lines"][-1]["text"]
        == f"{lead.full_name} read the custody record of {item.original_filename}"
    )
    assert custody["lines"][-1]["at"].endswith(" UTC)")
    last = rows.last()
    assert (last.action, last.actor_id, last.details) == (
        "evidence.custody_viewed",
        lead.pk,
        {"via": "case", "case": str(case.pk)},
    )
    assert last.case_ref == case.number
    # An item not in this case is not found through it, even the agency's own.
    other = stored_item(agency=police)
    assert (
        client.get(reverse("evidence:case_item_custody", args=[case.pk, other.pk])).status_code
        == 404
    )


def test_adding_and_removing_an_item_is_audited_in_the_items_custody(setup, police, signed_in):
    lead, case, _ = setup
    client = signed_in(lead)
    item = stored_item(agency=police)
    client.post(reverse("evidence:case_item_add", args=[case.pk]), {"item": str(item.pk)})
    assert CaseItem.objects.filter(case=case, item=item).exists()
    client.post(reverse("evidence:case_item_remove", args=[case.pk, item.pk]))
    assert not CaseItem.objects.filter(case=case, item=item).exists()
    actions = list(
        AuditEvent.objects.filter(target_id=str(item.pk))
        .order_by("seq")
        .values_list("action", "actor_id", "details__case")
    )
    assert actions == [
        ("case.item_added", lead.pk, str(case.pk)),
        ("case.item_removed", lead.pk, str(case.pk)),
    ]


def test_an_item_of_another_agency_cannot_be_added(setup, other_police, signed_in):
    lead, case, _ = setup
    foreign = stored_item(agency=other_police)
    response = signed_in(lead).post(
        reverse("evidence:case_item_add", args=[case.pk]), {"item": str(foreign.pk)}, follow=True
    )
    assert "No such item" in response.content.decode()
    assert not CaseItem.objects.filter(item=foreign).exists()
    with pytest.raises(ValidationError):
        case_services.case_item_add(actor=lead, case=case, item=foreign)


def test_case_form_creates_and_rejects_bad_input(make_staff, signed_in, police):
    lead = make_staff()
    client = signed_in(lead)
    url = reverse("evidence:case_create")
    good = {"number": "24-001", "title": "Robbery", "status": "open", "lead": lead.pk,
            "lat": "40.75", "lon": "-73.96", "incident_time": "2024-03-01T10:00",
            "area": '{"type":"Polygon","coordinates":[[[-74,40.7],[-73.9,40.7],[-73.9,40.8],[-74,40.7]]]}'}  # fmt: skip
    response = client.post(url, good)
    assert response.status_code == 302
    case = lead.cases.model.objects.get(number="24-001")
    assert case.incident_area.geom_type == "MultiPolygon"
    # Typed on the agency's clock (America/New_York, EST in March before the change).
    assert case.incident_time.isoformat() == "2024-03-01T15:00:00+00:00"
    for bad, message in (
        ({**good, "number": "24-001"}, "already used"),
        ({**good, "number": "x", "lat": "40.7", "lon": ""}, "both latitude and longitude"),
        ({**good, "number": "y", "area": "<script>alert(1)</script>"}, "not valid GeoJSON"),
        ({**good, "number": "z", "lat": "91"}, "less than or equal to 90"),
        ({**good, "number": "w", "title": "t" * 201}, "at most 200"),
    ):
        body = client.post(url, bad).content.decode()
        assert message in body, message
    assert lead.cases.model.objects.filter(agency=police).count() == 1


def test_dispatcher_and_prosecutor_cannot_open_cases(make_staff, prosecution, signed_in):
    for user in (
        make_staff(role=Role.DISPATCHER),
        make_staff(role=Role.PROSECUTOR, agency=prosecution),
    ):
        assert signed_in(user).get(reverse("evidence:case_create")).status_code == 403


def test_case_item_link_by_number_puts_the_item_in_the_matching_case(setup, police, other_police):
    _, case, _ = setup
    item = stored_item(agency=police)
    assert case_services.case_item_link_by_number(
        agency=police, case_number=f" {case.number} ", item=item, actor_label="Tip 7"
    )
    assert CaseItem.objects.get(case=case, item=item).added_by_label == "Tip 7"
    assert not case_services.case_item_link_by_number(
        agency=other_police, case_number=case.number, item=stored_item(agency=other_police),
        actor_label="Tip 8",
    )  # fmt: skip
    assert not case_services.case_item_link_by_number(
        agency=police, case_number="no-such-case", item=item, actor_label="Tip 9"
    )


def test_linked_tips_and_footage_requests_come_from_registered_providers(
    setup, signed_in, make_staff, source_hooks
):
    lead, case, _ = setup
    seen = []

    def provider(*, actor, case):
        seen.append(actor.pk)
        return [
            CaseLink("tip", "Tip T-123", "/staff/tips/123/", "open", None),
            CaseLink(
                "camera", "Camera at 5th Ave", "/staff/cameras/9/", "active", None, 40.7, -73.9
            ),
        ]

    source_hooks("a-test-source", case_links=provider)
    body = signed_in(lead).get(reverse("evidence:case_detail", args=[case.pk])).content.decode()
    assert seen == [lead.pk]
    assert "Tip T-123" in body and "/staff/tips/123/" in body
    assert "Camera at 5th Ave" in body  # on the map, not in the list
    assert body.index("Camera at 5th Ave") > body.index('id="case-map-points"')


def test_case_api_lists_only_visible_cases(setup, make_staff, signed_in):
    lead, case, _ = setup
    other = make_staff()
    make_case(lead=verified(other))
    rows = signed_in(lead).get(reverse("api-case-list")).json()["results"]
    assert [r["number"] for r in rows] == [case.number]
    detail = signed_in(lead).get(reverse("api-case-detail", args=[case.pk])).json()
    assert len(detail["items"]) == 2


def test_investigator_downloads_the_case_package_and_each_item_gets_a_custody_event(
    setup, make_staff, signed_in
):
    import io
    import zipfile

    lead, case, items = setup
    url = reverse("evidence:case_package", args=[case.pk])
    assert signed_in(make_staff()).get(url).status_code == 404
    response = signed_in(lead).get(url)
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    sums = archive.read("SHA256SUMS").decode()
    assert all(item.sha256 in sums for item in items)
    for item in items:
        assert AuditEvent.objects.filter(
            action="evidence.downloaded", target_id=str(item.pk), actor=lead
        ).exists()


def test_the_case_pages_show_all_marks_a_file_names_unsafe_characters(setup, signed_in):
    """The whole custody and the whole activity loaded by "Show all" print a file name as the
    page does (visible_controls: "[U+202E]", never the character that reorders the text)."""
    lead, case, items = setup
    item = items[0]
    item.original_filename = "photo\u202egpj.exe"
    item.save(update_fields=["original_filename"])
    client = signed_in(lead)
    client.get(reverse("evidence:detail", args=[item.pk]))
    for url in (
        reverse("evidence:case_item_custody", args=[case.pk, item.pk]),
        reverse("evidence:case_activity", args=[case.pk]),
    ):
        texts = [line["text"] for line in client.get(url).json()["lines"]]
        assert any("photo[U+202E]gpj.exe" in text for text in texts), (url, texts)
        assert not any("\u202e" in text for text in texts), url
