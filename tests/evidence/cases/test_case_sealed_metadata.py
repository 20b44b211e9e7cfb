"""A tip's files whose tipster kept their metadata to themselves, through cases and shares:
the case page, the prosecutor's pages and API, the case package and the defence link show
the stripped copies and no file-derived time, place, device or file name; the original stays
sealed and its SHA-256 is listed. The assigned investigator's own package has everything."""

import datetime as dt
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from evidence.cases import services as case_services
from evidence.models import Derivative, Share, Source, ValueSource
from portal import storage
from portal.models import AuditEvent
from portal.roles import Role
from submissions import services as tip_services
from submissions.demo import seed_categories
from submissions.models import Tip, TipCategory
from tests.evidence.cases_helpers import make_case, make_share, verified
from tests.evidence.disclosure.packaging import exhibit_of
from tests.factories import stored_item

pytestmark = pytest.mark.django_db

FILENAME = "IMG_0042 at 14 Maple St.mov"
# Strings only the file's own metadata knows: none may reach someone the policy refuses.
SECRETS = ("IMG_0042", "Maple", "iPhone", "Apple", "40.7580", "40.758", "-73.9855", "2026-03-14")
CAPTURED = dt.datetime(2026, 3, 14, 9, 26, 53, tzinfo=dt.UTC)
CASE_VALIDATE = Path(sys.executable).parent / "case_validate"


def _tip(agency, *, share_metadata: bool) -> Tip:
    seed_categories(agency)
    made = tip_services.tip_create(
        agency=agency,
        category=TipCategory.objects.filter(agency=agency).first(),
        description="The van again, filmed from my window.",
        occurred_at=timezone.now() - dt.timedelta(days=1),
        share_file_metadata=share_metadata,
    )
    return made.tip


def _tip_item(agency, tip: Tip, content: bytes):
    """A tip's video as the pipeline leaves it: GPS, time and device read from the file, and a
    stripped proxy that carries none of it."""
    item = stored_item(
        agency=agency,
        content=content,
        source=Source.TIP,
        source_ref=tip.reference,
        original_filename=FILENAME,
        media_type="video/quicktime",
        capture_time=CAPTURED,
        capture_time_source=ValueSource.DEVICE_METADATA,
        capture_time_confidence="high",
        location=Point(-73.9855, 40.7580, srid=4326),
        location_source=ValueSource.DEVICE_METADATA,
        metadata={"make": "Apple", "model": "iPhone 15", "video_codec": "h264"},
        uploaded_by_label=f"tip {tip.reference}",
    )
    body = b"stripped proxy bytes " * 40
    key = storage.new_object_key(f"evidence/{agency.slug}/derivatives")
    storage.save_once(key, ContentFile(body))
    Derivative.objects.create(
        item=item, kind=Derivative.Kind.PROXY_MP4, name="proxy.mp4", key=key, size=len(body),
        sha256=hashlib.sha256(body).hexdigest(), media_type="video/mp4",
    )  # fmt: skip
    return item


@pytest.fixture
def world(make_staff, police, prosecution):
    assigned = verified(make_staff(role=Role.INVESTIGATOR))
    member = verified(make_staff(role=Role.INVESTIGATOR))
    tip = _tip(police, share_metadata=False)
    Tip.objects.filter(pk=tip.pk).update(assigned_to=assigned)
    tip_item = _tip_item(police, tip, b"original mov bytes with GPS " * 64)
    plain = stored_item(
        agency=police, content=b"a staff upload " * 30, original_filename="cam2.mp4"
    )
    case = make_case(lead=assigned, items=[tip_item, plain])
    case_services.case_member_add(actor=assigned, case=case, user=member)
    prosecutor = verified(make_staff(role=Role.PROSECUTOR, agency=prosecution))
    share = make_share(
        case=case, by=assigned, office=prosecution, level=Share.Level.DOWNLOAD,
        reshare_allowed=True,
    )  # fmt: skip
    return {
        "assigned": assigned, "member": member, "tip_item": tip_item, "plain": plain,
        "case": case, "prosecutor": prosecutor, "share": share,
    }  # fmt: skip


def assert_no_secrets(text: str, where: str) -> None:
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, (where, leaked)


def _zip(response) -> dict[str, bytes]:
    assert response.status_code == 200, response.status_code
    data = b"".join(response.streaming_content)
    assert len(data) == int(response["Content-Length"])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _check_sealed_package(files: dict[str, bytes], item, tmp_path: Path) -> dict:
    """The package of someone the policy refuses: copies only, the original listed as sealed."""
    assert not [n for n in files if n.startswith(f"originals/{exhibit_of(item)}")]
    assert f"proxies/{exhibit_of(item)}.proxy_mp4.mp4" in files
    for name in ("manifest.json", "custody.html", "case.jsonld", "SHA256SUMS"):
        assert_no_secrets(files[name].decode(), name)
    manifest = json.loads(files["manifest.json"])
    entry = next(
        f for f in manifest["files"] if f["item_id"] == str(item.pk) and f["role"] == "original"
    )
    assert entry["sealed"] is True and entry["path"] is None
    assert entry["sha256"] == item.sha256 and entry["size"] == item.size
    assert entry["capture_time"]["value"] is None and entry["capture_place"] is None
    assert entry["original_filename"] == ""
    assert item.sha256 not in files["SHA256SUMS"].decode()  # only what is in the ZIP is checked
    assert "sealed" in files["custody.html"].decode()
    folder = tmp_path / "pkg"
    for name, body in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(body)
    check = subprocess.run(  # noqa: S603 - our own file
        ["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    return manifest


def test_case_page_shows_the_assigned_investigator_everything_and_a_member_nothing_identifying(
    world, signed_in
):
    url = reverse("evidence:case_detail", args=[world["case"].pk])
    page = signed_in(world["assigned"]).get(url).content.decode()
    assert "IMG_0042" in page and "2026-03-14 09:26:53" in page and "40.758" in page

    page = signed_in(world["member"]).get(url).content.decode()
    assert_no_secrets(page, "case page of a member")
    assert 'id="metadata-withheld"' in page and "capture time withheld" in page
    assert "cam2.mp4" in page  # a staff upload has no such policy

    api = signed_in(world["member"]).get(reverse("api-case-detail", args=[world["case"].pk]))
    assert api.status_code == 200
    assert_no_secrets(api.content.decode(), "case API of a member")
    row = next(r for r in api.json()["items"] if r["id"] == str(world["tip_item"].pk))
    assert row["identifying_metadata_hidden"] is True and row["location"] is None


def test_prosecutor_pages_and_api_show_stripped_copies_and_the_original_stays_sealed(
    world, signed_in
):
    share, item = world["share"], world["tip_item"]
    client = signed_in(world["prosecutor"])
    pages = {
        "case": client.get(reverse("evidence:shared_case", args=[share.pk])),
        "item": client.get(reverse("evidence:shared_item", args=[share.pk, item.pk])),
        "api": client.get(reverse("api-shared-case", args=[share.pk])),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert_no_secrets(response.content.decode(), name)
    assert item.sha256 in pages["item"].content.decode()
    assert 'id="metadata-withheld"' in pages["item"].content.decode()
    row = next(r for r in pages["api"].json()["items"] if r["id"] == str(item.pk))
    assert row["identifying_metadata_hidden"] is True and row["capture_time"] is None

    download = reverse("evidence:shared_item_download", args=[share.pk, item.pk])
    refused = client.post(download)
    assert refused.status_code == 403 and b"sealed" in refused.content
    assert AuditEvent.objects.filter(
        action="share.refused", target_id=str(share.pk), outcome="denied"
    ).exists()
    plain = client.post(
        reverse("evidence:shared_item_download", args=[share.pk, world["plain"].pk])
    )
    assert plain.status_code == 200

    # The signed receipt lists the sealed original's hash, not its file name.
    client.post(reverse("evidence:shared_acknowledge", args=[share.pk]))
    receipt = client.get(reverse("evidence:shared_receipt", args=[share.pk]))
    assert receipt.status_code == 200
    assert_no_secrets(receipt.content.decode(), "receipt")
    row = next(
        i for i in json.loads(receipt.content)["receipt"]["items"] if i["id"] == str(item.pk)
    )
    assert row["sha256"] == item.sha256 and row["original_sealed"] is True


def test_prosecutor_package_and_defence_link_hold_copies_and_list_the_sealed_hash(
    world, signed_in, tmp_path
):
    share, item = world["share"], world["tip_item"]
    client = signed_in(world["prosecutor"])
    files = _zip(client.get(reverse("evidence:shared_package", args=[share.pk])))
    manifest = _check_sealed_package(files, item, tmp_path / "prosecutor")
    plain = next(f for f in manifest["files"] if f["item_id"] == str(world["plain"].pk))
    assert plain["path"] in files and "sealed" not in plain
    validated = subprocess.run(  # noqa: S603 - the validator on our own output
        [str(CASE_VALIDATE), str(_write(tmp_path, files["case.jsonld"]))],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert validated.returncode == 0, validated.stdout[-3000:] + validated.stderr[-3000:]
    row = AuditEvent.objects.get(
        action="evidence.downloaded", target_id=str(item.pk), details__share=str(share.pk)
    )
    assert "original sealed" in row.details["what"]

    made = client.post(
        reverse("evidence:shared_link", args=[share.pk]),
        {
            "recipient_label": "Defence counsel",
            "expires_on": (timezone.now() + dt.timedelta(days=7)).date().isoformat(),
            "max_downloads": 2,
        },
    )
    assert made.status_code == 200, made.content[:2000]
    token = parse_qs(urlparse(made.context["url"]).query)["t"][0]
    from django.test import Client

    files = _zip(Client().post(reverse("evidence_public:link"), {"t": token}))
    _check_sealed_package(files, item, tmp_path / "defence")


def _write(tmp_path: Path, body: bytes) -> Path:
    path = tmp_path / "case.jsonld"
    path.write_bytes(body)
    return path


def test_the_assigned_investigators_package_has_the_original_and_its_metadata(world, signed_in):
    item = world["tip_item"]
    files = _zip(
        signed_in(world["assigned"]).get(reverse("evidence:case_package", args=[world["case"].pk]))
    )
    original = f"originals/{exhibit_of(item)}.mov"
    assert hashlib.sha256(files[original]).hexdigest() == item.sha256
    manifest = json.loads(files["manifest.json"])
    entry = next(f for f in manifest["files"] if f.get("path") == original)
    assert entry["original_filename"] == FILENAME and "sealed" not in entry
    assert entry["capture_time"]["value"].startswith("2026-03-14T09:26:53")
    assert entry["capture_place"]["latitude"] == pytest.approx(40.7580)

    # A member who is not the tip's investigator gets the stripped package from the same page.
    files = _zip(
        signed_in(world["member"]).get(reverse("evidence:case_package", args=[world["case"].pk]))
    )
    assert original not in files and f"proxies/{exhibit_of(item)}.proxy_mp4.mp4" in files
    for name in ("manifest.json", "custody.html", "case.jsonld"):
        assert_no_secrets(files[name].decode(), name)


def test_a_tipster_who_shared_metadata_gives_colleagues_the_original(make_staff, police, signed_in):
    lead = verified(make_staff(role=Role.INVESTIGATOR))
    tip = _tip(police, share_metadata=True)
    item = _tip_item(police, tip, b"shared mov bytes " * 64)
    case = make_case(lead=lead, items=[item])
    files = _zip(signed_in(lead).get(reverse("evidence:case_package", args=[case.pk])))
    assert f"originals/{exhibit_of(item)}.mov" in files
    assert "IMG_0042" in files["manifest.json"].decode()
