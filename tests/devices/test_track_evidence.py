"""A recording's GPS track in the evidence store: the hook (SourceHooks.item_track) that gives
it as GeoJSON with each position's time and its time on the video (which starts with the
pre-event buffer), the item page's map, and the case package's tracks/ file and CASE/UCO."""

import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from devices import tracks
from devices.selectors import item_track
from evidence import sources
from evidence.cases import services as case_services
from evidence.models import Source
from portal.models import AuditEvent
from portal.roles import Role
from tests.conftest import client_for
from tests.devices.helpers import recorded_item
from tests.evidence.disclosure.packaging import (
    exhibit_of,
    extract,
    make_case,
    make_share,
    package_bytes,
)
from tests.factories import stored_item

pytestmark = pytest.mark.django_db

STARTED = dt.datetime(2026, 11, 3, 14, 0, tzinfo=dt.UTC)
WALK = [
    (0, 40.7128, -74.006, 5.0),
    (10, 40.7130, -74.0058, None),
    (20.5, 40.7133, -74.0055, 3.5),
]


def test_the_track_is_a_geojson_line_with_times_and_video_seconds(police):
    item = recorded_item(police, started_at=STARTED, fixes=WALK, pre_event_seconds=30)
    collection = item_track(item)
    assert collection["type"] == "FeatureCollection"
    [feature] = collection["features"]
    assert feature["geometry"] == {
        "type": "LineString",
        "coordinates": [[-74.006, 40.7128], [-74.0058, 40.713], [-74.0055, 40.7133]],
    }
    props = feature["properties"]
    assert props["times"] == [
        "2026-11-03T14:00:00.000000Z",
        "2026-11-03T14:00:10.000000Z",
        "2026-11-03T14:00:20.500000Z",
    ]
    # Video time 0 is the recording's start, the pre-event buffer included: not the trigger.
    assert props["video_started_at"] == "2026-11-03T14:00:00.000000Z"
    assert props["video_seconds"] == [0.0, 10.0, 20.5]
    assert props["accuracy_m"] == [5.0, None, 3.5]
    assert props["recording"] == item.source_ref


def test_positions_before_the_video_starts_have_negative_video_seconds(police):
    item = recorded_item(
        police, started_at=STARTED, fixes=[(-2, 1.0, 2.0, None), (3, 1.1, 2.1, None)]
    )
    assert item_track(item)["features"][0]["properties"]["video_seconds"] == [-2.0, 3.0]


def test_the_store_gets_it_through_the_bodycam_source_hooks(police):
    item = recorded_item(police, started_at=STARTED, fixes=WALK)
    assert sources.source_hooks(Source.BODYCAM).item_track is item_track
    assert sources.item_track(item) == item_track(item)


def test_what_we_export_our_geojson_parser_reads_back(police):
    item = recorded_item(police, started_at=STARTED, fixes=WALK)
    body = json.dumps(item_track(item)).encode()
    fixes = tracks.parse(tracks.GEOJSON, body, started_at=STARTED)
    assert [(f.t, f.lat, f.lon) for f in fixes] == [
        (STARTED + dt.timedelta(seconds=s), lat, lon) for s, lat, lon, _ in WALK
    ]


def test_a_single_position_is_a_multipoint(police):
    item = recorded_item(police, started_at=STARTED, fixes=[(4, 51.5, -0.14, None)])
    geometry = item_track(item)["features"][0]["geometry"]
    assert geometry == {"type": "MultiPoint", "coordinates": [[-0.14, 51.5]]}


def test_no_track_without_positions_or_without_a_recording(police):
    assert item_track(recorded_item(police, started_at=STARTED)) is None
    bodycam_without_recording = stored_item(agency=police, source=Source.BODYCAM)
    assert item_track(bodycam_without_recording) is None
    assert sources.item_track(stored_item(agency=police)) is None  # a source with no tracks


# --- the item page -----------------------------------------------------------------------------


def _page(user, item):
    return client_for(user).get(reverse("evidence:detail", args=[item.pk]))


def _track_on(page) -> dict:
    text = page.content.decode()
    start = text.index('<script id="item-track" type="application/json">') + len(
        '<script id="item-track" type="application/json">'
    )
    return json.loads(text[start : text.index("</script>", start)])


def test_who_may_view_the_item_sees_its_track_map_and_the_view_is_custody(police, make_staff):
    item = recorded_item(police, started_at=STARTED, fixes=WALK)
    for user in (make_staff(role=Role.INVESTIGATOR), make_staff(role=Role.DISPATCHER)):
        page = _page(user, item)
        assert page.status_code == 200
        html = page.content.decode()
        assert 'id="item-track-map"' in html and "js/item-track.js" in html
        assert "3 positions sent by the camera" in html
        assert _track_on(page) == item_track(item)
        assert AuditEvent.objects.filter(
            action="evidence.viewed", actor_id=user.pk, target_id=str(item.pk)
        ).exists()


def test_an_item_without_a_track_has_no_track_map(police, make_staff):
    investigator = make_staff()
    for item in (recorded_item(police, started_at=STARTED), stored_item(agency=police)):
        html = _page(investigator, item).content.decode()
        assert "item-track" not in html


def test_a_stranger_gets_404_and_no_track(police, other_police, make_staff):
    item = recorded_item(police, started_at=STARTED, fixes=WALK)
    page = _page(make_staff(agency=other_police), item)
    assert page.status_code == 404 and b"item-track" not in page.content
    anonymous = _page(None, item)
    assert anonymous.status_code == 302 and b"item-track" not in anonymous.content


def test_roles_that_may_not_view_evidence_get_403_and_no_track(police, prosecution, make_staff):
    item = recorded_item(police, started_at=STARTED, fixes=WALK)
    for user in (
        make_staff(role=Role.AUDITOR),
        make_staff(role=Role.PROSECUTOR, agency=prosecution),
    ):
        page = _page(user, item)
        assert page.status_code == 403 and b"item-track" not in page.content


def test_no_track_for_whom_where_the_item_was_made_is_withheld(police, make_staff, source_hooks):
    item = recorded_item(police, started_at=STARTED, fixes=WALK)
    source_hooks(Source.BODYCAM, sees_identifying_metadata=lambda user, item: False)
    page = _page(make_staff(), item)
    assert page.status_code == 200 and b"item-track" not in page.content


# --- the case package and CASE/UCO ---------------------------------------------------------------

CASE_VALIDATE = Path(sys.executable).parent / "case_validate"


@pytest.fixture
def packaged(police, prosecution, make_staff, tmp_path):
    """A case with a body-camera item with a track and an upload without, shared with a
    prosecutor; the prosecutor's package, extracted."""
    lead = make_staff()
    case = make_case(lead=lead)
    walked = recorded_item(police, started_at=STARTED, fixes=WALK, content=b"bodycam video")
    plain = stored_item(agency=police, content=b"doorbell video")
    for item in (walked, plain):
        case_services.case_item_add(actor=case.lead, case=case, item=item)
    prosecutor = make_staff(role=Role.PROSECUTOR, agency=prosecution)
    make_share(case=case, items=[walked, plain], recipient_agency=prosecution, by=lead)
    data = package_bytes(actor=prosecutor, case=case, items=[walked, plain])
    return extract(data, tmp_path / "pkg"), walked, plain


def test_the_package_holds_the_track_as_geojson_listed_with_its_hash(packaged):
    folder, walked, plain = packaged
    path = f"tracks/{exhibit_of(walked)}.geojson"
    data = (folder / path).read_bytes()
    track = json.loads(data)
    [feature] = track["features"]
    assert feature["geometry"]["type"] == "LineString"
    assert feature["geometry"]["coordinates"] == [[lon, lat] for _, lat, lon, _ in WALK]
    assert feature["properties"]["times"] == [
        (STARTED + dt.timedelta(seconds=s))
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z")
        for s, *_ in WALK
    ]
    assert feature["properties"]["video_seconds"] == [0.0, 10.0, 20.5]
    manifest = json.loads((folder / "manifest.json").read_text())
    [entry] = [f for f in manifest["files"] if f["role"] == "gps_track"]
    assert entry["path"] == path and entry["item_id"] == str(walked.pk)
    assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)
    assert entry["media_type"] == "application/geo+json" and entry["positions"] == 3
    assert not (folder / "tracks" / f"{exhibit_of(plain)}.geojson").exists()
    sums = subprocess.run(
        ["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True
    )
    assert sums.returncode == 0, sums.stdout + sums.stderr
    assert f"{path}: OK" in sums.stdout
    assert "GPS track (3 positions" in (folder / "custody.html").read_text()


def test_case_uco_has_the_track_as_a_hashed_file_of_the_exhibit(packaged):
    folder, walked, _ = packaged
    digest = hashlib.sha256(
        (folder / f"tracks/{exhibit_of(walked)}.geojson").read_bytes()
    ).hexdigest()
    graph = {
        node["@id"]: node for node in json.loads((folder / "case.jsonld").read_text())["@graph"]
    }
    [hash_node] = [
        n for n in graph.values() if n.get("uco-types:hashValue", {}).get("@value") == digest
    ]
    [content] = [
        n for n in graph.values() if {"@id": hash_node["@id"]} in n.get("uco-observable:hash", [])
    ]
    assert content["uco-observable:mimeType"] == "application/geo+json"
    [track_file] = [
        n
        for n in graph.values()
        if n["@type"] == "uco-observable:File" and {"@id": content["@id"]} in n["uco-core:hasFacet"]
    ]
    facets = [graph[f["@id"]] for f in track_file["uco-core:hasFacet"]]
    assert {"uco-observable:filePath": f"tracks/{exhibit_of(walked)}.geojson"}.items() <= facets[
        0
    ].items()
    [record] = [
        n
        for n in graph.values()
        if n.get("case-investigation:exhibitNumber") == str(walked.case_items.get().exhibit_number)
    ]
    assert {"@id": track_file["@id"]} in record["uco-core:object"]
    result = subprocess.run(
        [str(CASE_VALIDATE), str(folder / "case.jsonld")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
