"""Pages a user opens daily run a number of queries that does not grow with the rows they show
(issue 17: bench/scale.py measures them at a large force's size; these keep them bounded)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evidence import services as evidence_services
from tests.evidence.cases_helpers import make_case, verified
from tests.factories import stored_item

pytestmark = pytest.mark.django_db


def queries_of(client, url: str) -> int:
    client.get(url)  # warm: the session, caches filled on first use
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def viewed(item, actor):
    """A custody row for the item (so each item has a custody list to show)."""
    evidence_services.item_record_view(actor=actor, item=item, via="page")


def test_case_page_queries_do_not_grow_with_its_items(make_staff, police, signed_in):
    lead = verified(make_staff())
    client = signed_in(lead)

    def case_of(n):
        items = [stored_item(agency=police, original_filename=f"clip{i}.mp4") for i in range(n)]
        for item in items:
            viewed(item, lead)
        return make_case(lead=lead, items=items)

    small, large = case_of(2), case_of(12)
    few = queries_of(client, reverse("evidence:case_detail", args=[small.pk]))
    many = queries_of(client, reverse("evidence:case_detail", args=[large.pk]))
    assert many == few, f"2 items: {few} queries, 12 items: {many}"


@pytest.mark.parametrize(
    ("lookup", "index"),
    [
        ("original_filename__icontains", "evidence_filename_trgm"),
        ("source_ref__icontains", "evidence_source_ref_trgm"),
    ],
)
def test_evidence_search_can_use_its_trigram_indexes(lookup, index, police):
    """The indexes are on the very expression Django writes for icontains (else a search reads
    every item of the agency)."""
    from evidence.models import EvidenceItem

    stored_item(agency=police, original_filename="doorbell.mp4", source_ref="T-123")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = EvidenceItem.objects.filter(**{lookup: "bell"}).explain()
    assert index in plan, plan


def test_tip_attachment_counts_can_use_the_source_index(police):
    from evidence.models import EvidenceItem, Source

    stored_item(agency=police, source=Source.TIP, source_ref="T-123")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = EvidenceItem.objects.filter(source=Source.TIP, source_ref="T-123").explain()
    assert "using evidence_source_ref on" in plan.lower(), plan


@pytest.fixture
def small_cap(monkeypatch):
    from portal import pagination

    monkeypatch.setattr(pagination.BoundedPaginator, "cap", 3)
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    return 3


def counts_in(queries, table: str) -> list[str]:
    return [q["sql"] for q in queries if "COUNT(" in q["sql"] and f'"{table}"' in q["sql"]]


def test_audit_log_counts_no_further_than_the_cap(small_cap, make_staff, signed_in):
    from portal import audit_actions as actions
    from portal.audit import audit_record
    from portal.roles import Role

    auditor = make_staff(role=Role.AUDITOR)
    for _i in range(6):
        audit_record(action=actions.LOGOUT.name, actor=auditor, target=auditor)
    client = signed_in(auditor)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("portal:audit_log"))
    assert "more than 3" in page.content.decode()
    assert len(page.context["page"].object_list) >= 6  # the page itself is not cut
    counted = counts_in(queries, "portal_auditevent")
    assert counted and all("LIMIT 50" in sql for sql in counted), counted

    with CaptureQueriesContext(connection) as queries:
        body = client.get(reverse("api-audit-events")).json()
    assert body["count"] > 3  # the rows made here, and the reads of the log recorded since
    counted = counts_in(queries, "portal_auditevent")
    assert counted and all("LIMIT 50" in sql for sql in counted), counted


def test_evidence_list_and_api_count_no_further_than_the_cap(
    small_cap, make_staff, police, signed_in
):
    from portal.roles import Role

    for i in range(5):
        stored_item(agency=police, original_filename=f"clip{i}.mp4")
    client = signed_in(make_staff(role=Role.SUPERVISOR))
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("evidence:list"))
        body = client.get(reverse("api-evidence-list")).json()
    assert "More than 3 items" in page.content.decode()
    assert body["count"] == 5
    counted = counts_in(queries, "evidence_evidenceitem")
    assert counted and all(" LIMIT " in sql for sql in counted), "\n".join(counted)


def test_footage_request_list_groups_only_the_newest_requests(make_staff, police, monkeypatch):
    """The list's counts are grouped over the newest requests it shows, not every request the
    agency ever sent (which grows with the years)."""
    from registry.footage import selectors as footage_selectors
    from tests.registry.requests_helpers import ask, camera_facing_incident, search
    from tests.transparency.facts import owner, staff

    supervisor = staff(police, "supervisor")
    cameras = [camera_facing_incident(owner())]
    for i in range(4):
        ask(supervisor, search(supervisor, case_number=f"RPD-{i}"), cameras)
    with CaptureQueriesContext(connection) as queries:
        rows = footage_selectors.footage_request_rows(actor=verified(supervisor), limit=2)
    assert len(rows) == 2
    grouped = [q["sql"] for q in queries if "GROUP BY" in q["sql"]]
    assert grouped and all("LIMIT 2) AND" in sql or "LIMIT 2))" in sql for sql in grouped), grouped


def test_case_page_work_does_not_grow_with_custody_history(make_staff, police, signed_in):
    """The case page shows each item's latest custody lines whatever its history's length
    (the rest loads on demand), in the same number of queries."""
    from evidence.selectors import CUSTODY_TAIL

    lead = verified(make_staff())
    client = signed_in(lead)

    def case_with_history(views):
        item = stored_item(agency=police, original_filename="clip.mp4")
        for _ in range(views):
            viewed(item, lead)
        return make_case(lead=lead, items=[item]), item

    short, _ = case_with_history(1)
    long, long_item = case_with_history(25)
    few = queries_of(client, reverse("evidence:case_detail", args=[short.pk]))
    many = queries_of(client, reverse("evidence:case_detail", args=[long.pk]))
    assert many == few, f"1 view: {few} queries, 25 views: {many}"

    page = client.get(reverse("evidence:case_detail", args=[long.pk])).content.decode()
    timeline = page.split('id="timeline"', 1)[1].split("</details>", 1)[0]
    shown = timeline.split('class="custody-lines"', 1)[1].split("</ol>", 1)[0]
    assert shown.count("<li>") == CUSTODY_TAIL
    from portal.models import AuditEvent

    total = AuditEvent.objects.filter(target_id=str(long_item.pk)).count()
    assert f"Show all {total}" in timeline


def test_case_item_custody_queries_do_not_grow_with_history(make_staff, police, signed_in):
    lead = verified(make_staff())
    client = signed_in(lead)

    def url_with_history(views):
        item = stored_item(agency=police, original_filename="clip.mp4")
        for _ in range(views):
            viewed(item, lead)
        case = make_case(lead=lead, items=[item])
        return reverse("evidence:case_item_custody", args=[case.pk, item.pk])

    few = queries_of(client, url_with_history(1))
    many = queries_of(client, url_with_history(25))
    assert many == few, f"1 view: {few} queries, 25 views: {many}"


# --- body cameras -----------------------------------------------------------------------------


def _recordings(police, n, *, device=None, officer=None, incident=""):
    """n recordings, each of its own device and officer (or the given ones) with its own
    evidence item and two GPS fixes."""
    import datetime as dt

    from django.contrib.gis.geos import Point

    from devices.models import Recording, TrackPoint
    from tests.devices.factories import DeviceFactory, officer_of

    made = []
    for i in range(n):
        started = dt.datetime(2026, 11, 1, 12, i, tzinfo=dt.UTC)
        recording = Recording.objects.create(
            agency=police,
            device=device or DeviceFactory(agency=police),
            device_recording_id=f"rec-{i}-{incident}",
            officer=officer or officer_of(police),
            started_at=started,
            stopped_at=started,
            trigger_on_source="button",
            trigger_on_at=started,
            device_sha256="0" * 64,
            cad_event_id=incident,
            item=stored_item(agency=police, original_filename=f"bwc{i}.mp4"),
        )
        TrackPoint.objects.bulk_create(
            TrackPoint(recording=recording, t=started, point=Point(-74 + j / 1000, 40.7))
            for j in range(2)
        )
        made.append(recording)
    return made


@pytest.fixture
def device_supervisor(make_staff):
    from portal.roles import Role

    return verified(make_staff(role=Role.SUPERVISOR))


def test_device_page_queries_do_not_grow_with_its_history(police, device_supervisor, signed_in):
    """A device's page: its assignment history and recent recordings, each row naming its
    officer, its checker and its item, in the same number of queries however long they are."""
    from tests.devices.factories import DeviceFactory, assigned, officer_of

    client = signed_in(device_supervisor)

    def device_with(n):
        device = DeviceFactory(agency=police)
        for _ in range(n):
            assignment = assigned(device, officer_of(police))
            assignment.checked_in_at, assignment.checked_in_by = (
                assignment.checked_out_at,
                (device_supervisor),
            )
            assignment.save()
        _recordings(police, n, device=device)
        return device

    few = queries_of(client, reverse("devices:detail", args=[device_with(1).pk]))
    many = queries_of(client, reverse("devices:detail", args=[device_with(8).pk]))
    assert many == few, f"1 recording: {few} queries, 8 recordings: {many}"


def test_recordings_list_queries_do_not_grow_and_its_count_stops_at_the_cap(
    small_cap, police, device_supervisor, signed_in
):
    client = signed_in(device_supervisor)
    url = reverse("devices:recordings")
    _recordings(police, 2)
    few = queries_of(client, url)
    _recordings(police, 8)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url)
    many = len(queries)
    assert many == few, f"2 recordings: {few} queries, 10 recordings: {many}"
    assert len(page.context["page"].object_list) == 10  # the page itself is not cut
    counted = counts_in(queries, "devices_recording")
    assert counted and all(" LIMIT " in sql for sql in counted), counted


@pytest.mark.parametrize("by", ["device", "officer", "incident"])
def test_recordings_list_filtered_queries_do_not_grow(by, police, device_supervisor, signed_in):
    from tests.devices.factories import DeviceFactory, officer_of

    client = signed_in(device_supervisor)

    def url_for(n, name):
        device, officer = DeviceFactory(agency=police), officer_of(police)
        _recordings(police, n, device=device, officer=officer, incident=name)
        value = {"device": device.pk, "officer": officer.pk, "incident": name}[by]
        return f"{reverse('devices:recordings')}?{by}={value}"

    few = queries_of(client, url_for(1, "I-1"))
    many = queries_of(client, url_for(8, "I-8"))
    assert many == few, f"1 recording: {few} queries, 8 recordings: {many}"


def test_device_and_officer_lists_queries_do_not_grow(police, device_supervisor, signed_in):
    from tests.devices.factories import DeviceFactory, assigned, officer_of

    client = signed_in(device_supervisor)

    def fleet(n):
        for _ in range(n):
            assigned(DeviceFactory(agency=police), officer_of(police))

    fleet(2)
    few = [queries_of(client, reverse(name)) for name in ("devices:list", "devices:officers")]
    fleet(8)
    many = [queries_of(client, reverse(name)) for name in ("devices:list", "devices:officers")]
    assert many == few, f"2 devices: {few} queries, 10 devices: {many}"


def test_officer_page_queries_do_not_grow_with_recordings(police, device_supervisor, signed_in):
    from tests.devices.factories import officer_of

    client = signed_in(device_supervisor)

    def officer_with(n):
        officer = officer_of(police)
        _recordings(police, n, officer=officer)
        return officer

    few = queries_of(client, reverse("devices:officer", args=[officer_with(1).pk]))
    many = queries_of(client, reverse("devices:officer", args=[officer_with(8).pk]))
    assert many == few, f"1 recording: {few} queries, 8 recordings: {many}"


def test_operations_page_queries_do_not_grow_with_alerts_or_recording_officers(
    police, make_staff, signed_in
):
    """The alerts (each naming its officer, device and unit) and the recording officers'
    places (each naming the officer) come in a fixed number of queries."""
    import datetime as dt

    from django.contrib.gis.geos import Point
    from django.utils import timezone

    from devices.models import Alert, Device, Trigger
    from portal.roles import Role
    from tests.devices.factories import DeviceFactory, assigned, officer_of

    client = signed_in(verified(make_staff(role=Role.DISPATCHER)))
    now = timezone.now()

    def on_shift(n):
        for i in range(n):
            officer = officer_of(police)
            device = DeviceFactory(
                agency=police,
                state=Device.State.RECORDING,
                last_heartbeat_at=now,
                last_location=Point(-74, 40.7, srid=4326),
                last_location_at=now,
            )
            assigned(device, officer)
            trigger = Trigger.objects.create(
                agency=police,
                kind="sos",
                device=device,
                officer=officer,
                unit=f"U{i}",
                occurred_at=now,
                received_at=now,
            )
            Alert.objects.create(
                agency=police, trigger=trigger, kind="sos",
                priority="high" if i % 2 else "general", device=device, officer=officer,
                raised_at=now, expires_at=now + dt.timedelta(hours=4),
            )  # fmt: skip

    url = reverse("devices:operations")
    on_shift(2)
    few = queries_of(client, url)
    on_shift(8)
    many = queries_of(client, url)
    assert many == few, f"2 alerts: {few} queries, 10 alerts: {many}"


def test_case_list_counts_no_further_than_the_cap(small_cap, make_staff, police, signed_in):
    """A force's case list (100,000 cases) is counted to the cap, not to its last case."""
    from portal.roles import Role

    supervisor = verified(make_staff(role=Role.SUPERVISOR))
    for i in range(5):
        make_case(lead=supervisor, number=f"CAP-{i}")
    client = signed_in(supervisor)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("evidence:case_list"))
    assert page.status_code == 200
    assert "CAP-4" in page.content.decode()
    counted = counts_in(queries, "evidence_case")
    assert counted and all(" LIMIT " in sql for sql in counted), "\n".join(counted)
