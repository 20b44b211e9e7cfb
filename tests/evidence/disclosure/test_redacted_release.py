"""Releasing redacted copies: a share (and its defence link and package) that requires the
redacted version gets each item's approved solid-fill copy or lists it as withheld; its
recipients can never reach the original, nor a blurred copy, by any URL."""

import datetime as dt
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from evidence import audit_actions as actions
from evidence.cases import services as case_services
from evidence.disclosure import services as share_services
from evidence.disclosure.packages import package_stream
from evidence.disclosure.receipts import receipt_issue, receipt_verify
from evidence.models import Share, SigningKey
from evidence.selectors import custody_of, releasable_redaction
from portal.roles import Role
from tests.devices.helpers import recorded_item
from tests.evidence.cases_helpers import make_case, make_share, verified
from tests.evidence.disclosure.packaging import extract
from tests.evidence.redaction.released import photo_item, redacted
from tests.factories import AgencyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_staff, police, prosecution):
    """Three photos with faces: `released` has an approved solid copy (and a newer approved
    blurred one), `blurred` only an approved blurred copy, `unapproved` an unapproved solid one."""
    lead = verified(make_staff(role=Role.INVESTIGATOR))
    boss = verified(make_staff(role=Role.SUPERVISOR))
    released = photo_item(police, shade=90, original_filename="released.png")
    blurred = photo_item(police, shade=120, original_filename="blurred.png")
    unapproved = photo_item(police, shade=150, original_filename="unapproved.png")
    solid = redacted(released, by=lead, fill="solid", approved_by=boss)
    newer_blur = redacted(released, by=lead, fill="blur", approved_by=boss)
    blur_only = redacted(blurred, by=lead, fill="blur", approved_by=boss)
    redacted(unapproved, by=lead, fill="solid")
    case = make_case(lead=lead, items=[released, blurred, unapproved])
    prosecutor = make_staff(role=Role.PROSECUTOR, agency=prosecution)
    return {
        "lead": lead, "case": case, "prosecutor": prosecutor, "released": released,
        "blurred": blurred, "unapproved": unapproved, "solid": solid, "newer_blur": newer_blur,
        "blur_only": blur_only,
    }  # fmt: skip


def _share(world, **fields):
    fields.setdefault("level", Share.Level.DOWNLOAD)
    return make_share(
        case=world["case"], by=world["lead"], office=world["prosecutor"].agency, **fields
    )


def _media(share, item, name):
    return reverse("evidence:shared_media", args=[share.pk, item.pk, name])


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_only_an_approved_solid_copy_is_releasable_never_a_blurred_one(world):
    assert releasable_redaction(item=world["released"]) == world["solid"]
    assert releasable_redaction(item=world["blurred"]) is None
    assert releasable_redaction(item=world["unapproved"]) is None


def test_the_sharer_sees_before_sending_which_items_would_be_withheld(world, signed_in):
    page = signed_in(world["lead"]).get(reverse("evidence:share_create", args=[world["case"].pk]))
    plan = page.content.decode().split('id="redacted-plan"')[1].split("</div>")[0]
    assert world["solid"].output.sha256 in plan
    assert (
        plan.count("<strong>withheld</strong>") == 2
        and world["newer_blur"].output.sha256 not in plan
    )


def test_a_redacted_only_share_records_each_release_and_each_withheld_item(world):
    share = _share(world, require_redacted=True)
    assert share.require_redacted and share.share_items.count() == 3
    shared = custody_of(item=world["released"]).filter(action=actions.SHARED.name).get()
    assert shared.details["what"] == "redacted copy"
    assert shared.details["redacted"]["sha256"] == world["solid"].output.sha256
    assert shared.details["redacted"]["frame_sha256"] == world["solid"].output.frame_sha256
    assert shared.details["recipe"]["sha256"] == world["solid"].recipe.sha256
    for name in ("blurred", "unapproved"):
        events = custody_of(item=world[name])
        assert not events.filter(action=actions.SHARED.name).exists()
        withheld = events.filter(action=actions.RELEASE_WITHHELD.name).get()
        assert "solid fill" in withheld.details["why"]


def test_a_redacted_only_share_with_nothing_releasable_is_refused(world):
    with pytest.raises(ValidationError, match="redacted copy"):
        _share(world, require_redacted=True, items=[world["blurred"], world["unapproved"]])
    assert not Share.objects.exists()


def test_the_prosecutor_plays_and_downloads_the_redacted_copy_and_never_the_original(
    world, signed_in
):
    share = _share(world, require_redacted=True)
    client = signed_in(world["prosecutor"])
    item, solid = world["released"], world["solid"]
    listing = client.get(reverse("evidence:shared_case", args=[share.pk])).content.decode()
    assert "Redacted copies only" in listing and listing.count("Withheld:") == 2
    page = client.get(reverse("evidence:shared_item", args=[share.pk, item.pk])).content.decode()
    assert _media(share, item, solid.output.name) in page
    played = client.get(_media(share, item, solid.output.name))
    assert played.status_code == 200
    assert hashlib.sha256(_body(played)).hexdigest() == solid.output.sha256
    download = client.post(reverse("evidence:shared_item_download", args=[share.pk, item.pk]))
    assert download.status_code == 200
    got = _body(download)
    assert hashlib.sha256(got).hexdigest() == solid.output.sha256 != item.sha256
    downloaded = custody_of(item=item).filter(action=actions.DOWNLOADED.name).get()
    assert downloaded.details["what"] == "redacted copy"
    assert downloaded.details["share"] == str(share.pk)
    # Guessing URLs: every other copy of the item, the blurred copy and the recipe are 404.
    others = item.derivatives.exclude(pk=solid.output_id).values_list("name", flat=True)
    assert {world["newer_blur"].output.name, solid.recipe.name} <= set(others)
    for name in others:
        assert client.get(_media(share, item, name)).status_code == 404, name


def test_a_withheld_item_is_listed_but_nothing_of_it_is_served(world, signed_in):
    share = _share(world, require_redacted=True)
    client = signed_in(world["prosecutor"])
    item = world["blurred"]
    page = client.get(reverse("evidence:shared_item", args=[share.pk, item.pk])).content.decode()
    assert 'id="withheld"' in page
    for name in item.derivatives.values_list("name", flat=True):
        assert client.get(_media(share, item, name)).status_code == 404, name
    refused = client.post(reverse("evidence:shared_item_download", args=[share.pk, item.pk]))
    assert refused.status_code == 403 and b"withheld" in refused.content
    api = client.get(reverse("api-shared-case", args=[share.pk])).json()
    by_id = {row["id"]: row["release"] for row in api["items"]}
    assert by_id[str(item.pk)]["withheld"] is True
    assert by_id[str(world["released"].pk)]["sha256"] == world["solid"].output.sha256


def test_an_originals_share_keeps_todays_behaviour_but_never_serves_a_blurred_copy(
    world, signed_in
):
    share = _share(world)
    assert not share.require_redacted
    client = signed_in(world["prosecutor"])
    item = world["released"]
    download = client.post(reverse("evidence:shared_item_download", args=[share.pk, item.pk]))
    assert hashlib.sha256(_body(download)).hexdigest() == item.sha256
    shared = custody_of(item=item).filter(action=actions.SHARED.name).get()
    assert "what" not in shared.details
    for job in (world["newer_blur"], world["blur_only"]):
        url = _media(share, job.item, job.output.name)
        assert client.get(url).status_code == 404


def test_another_office_and_other_agencies_get_404_on_the_redacted_copy(
    world, make_staff, other_police, signed_in
):
    share = _share(world, require_redacted=True)
    other_office = AgencyFactory(kind="prosecution")
    outsiders = [
        make_staff(role=Role.PROSECUTOR, agency=other_office),
        make_staff(role=Role.INVESTIGATOR, agency=other_police),
    ]
    item, solid = world["released"], world["solid"]
    for user in outsiders:
        client = signed_in(user)
        assert client.get(_media(share, item, solid.output.name)).status_code in (403, 404)
        download = client.post(reverse("evidence:shared_item_download", args=[share.pk, item.pk]))
        assert download.status_code in (403, 404)


def test_the_redacted_package_lists_both_hashes_and_the_recipe_and_verifies(world, tmp_path):
    share = _share(world, require_redacted=True)
    prosecutor = verified(world["prosecutor"])
    items = [world["released"], world["blurred"], world["unapproved"]]
    package = package_stream(actor=prosecutor, case=world["case"], items=items, share=share)
    data = b"".join(package)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert not any(n.startswith(("originals/", "proxies/")) for n in names)
    manifest = package.manifest
    assert manifest["share"]["copies"] == "redacted copies only"
    by_role: dict = {}
    for entry in manifest["files"]:
        by_role.setdefault((entry["item_id"], entry["role"]), entry)
    solid, item = world["solid"], world["released"]
    original = by_role[(str(item.pk), "original")]
    assert original["path"] is None and original["released_as"] == "redacted"
    assert original["sha256"] == item.sha256
    copy = by_role[(str(item.pk), "redacted")]
    assert copy["sha256"] == solid.output.sha256
    assert copy["frame_sha256"] == solid.output.frame_sha256
    assert (
        copy["recipe_sha256"]
        == solid.recipe.sha256
        == by_role[(str(item.pk), "redaction_recipe")]["sha256"]
    )
    assert copy["original_sha256"] == item.sha256 and copy["path"] in names
    for name in ("blurred", "unapproved"):
        entry = by_role[(str(world[name].pk), "original")]
        assert entry["path"] is None and entry["released_as"] == "withheld"
        assert "solid fill" in entry["released_why"]
        assert (str(world[name].pk), "redacted") not in by_role
    folder = extract(data, tmp_path / "pkg")
    checked = subprocess.run(
        ["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{copy['path']}: OK" in checked.stdout
    recipe = (folder / by_role[(str(item.pk), "redaction_recipe")]["path"]).read_bytes()
    assert item.sha256 in json.dumps(json.loads(recipe))  # the recipe names its original
    for item in items:
        result = subprocess.run(  # noqa: S603 - the packaged script, isolated (-I)
            [sys.executable, "-I", "verify_custody.py", f"custody-proof/{item.pk}.json"]
            + ["--public-key", "custody-checkpoint-key.pem"],
            cwd=folder, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_defence_link_of_a_redacted_share_carries_redacted_copies_only(world):
    share = _share(world, require_redacted=True, reshare_allowed=True)
    _link, token = share_services.share_link_create(
        actor=verified(world["prosecutor"]), share=share, recipient_label="Defence counsel",
        expires_at=timezone.now() + dt.timedelta(days=3), max_downloads=2,
    )  # fmt: skip
    page = Client().get(reverse("evidence_public:link"), {"t": token})
    assert 'id="redacted-only"' in page.content.decode()
    got = Client().post(reverse("evidence_public:link"), {"t": token})
    assert got.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(_body(got))).namelist()
    assert not any(n.startswith(("originals/", "proxies/")) for n in names)
    assert any(n.startswith("redacted/") and n.endswith(".png") for n in names)
    row = custody_of(item=world["released"]).filter(action=actions.DOWNLOADED.name).get()
    assert row.details["redacted"]["sha256"] == world["solid"].output.sha256
    withheld = custody_of(item=world["blurred"]).filter(action=actions.RELEASE_WITHHELD.name)
    assert withheld.count() == 2  # at sharing, and at the link's download


def test_case_validate_accepts_the_redacted_package(world, tmp_path):
    """The redacted package's case.jsonld is a CASE/UCO bundle case_validate accepts: originals
    listed without a path, the redacted copies and recipes as files derived from them."""
    share = _share(world, require_redacted=True)
    prosecutor = verified(world["prosecutor"])
    items = [world["released"], world["blurred"], world["unapproved"]]
    package = package_stream(actor=prosecutor, case=world["case"], items=items, share=share)
    folder = extract(b"".join(package), tmp_path / "pkg")
    checked = subprocess.run(
        [str(Path(sys.executable).parent / "case_validate"), str(folder / "case.jsonld")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    assert "Conforms: True" in checked.stdout
    graph = json.loads((folder / "case.jsonld").read_text())["@graph"]
    hashes = {n["uco-types:hashValue"]["@value"] for n in graph if n["@type"] == "uco-types:Hash"}
    solid = world["solid"]
    assert {solid.output.sha256, solid.recipe.sha256, world["released"].sha256} <= hashes


def test_the_receipt_of_a_redacted_share_lists_what_was_released_and_what_was_withheld(
    world, client
):
    """The signed receipt names, per item, the redacted copy, its frames' and recipe's hashes
    that went out, or that the item was withheld: never the original as if it were received."""
    share = _share(world, require_redacted=True)
    prosecutor = verified(world["prosecutor"])
    share = share_services.share_acknowledge(actor=prosecutor, share=share)
    document = receipt_issue(actor=prosecutor, share=share)
    receipt = document["receipt"]
    assert receipt["share"]["copies"] == "redacted copies only"
    items = {entry["id"]: entry for entry in receipt["items"]}
    assert set(items) == {str(world[n].pk) for n in ("released", "blurred", "unapproved")}
    solid, released = world["solid"], items[str(world["released"].pk)]
    assert released["released_as"] == "redacted"
    assert released["redacted"]["sha256"] == solid.output.sha256
    assert released["redacted"]["frame_sha256"] == solid.output.frame_sha256
    assert released["redacted"]["size"] == solid.output.size
    assert released["recipe"]["sha256"] == solid.recipe.sha256
    assert released["original_sha256"] == world["released"].sha256
    for name in ("blurred", "unapproved"):
        entry = items[str(world[name].pk)]
        assert entry["released_as"] == "withheld" and "solid fill" in entry["withheld_why"]
        assert entry["original_sha256"] == world[name].sha256 and "redacted" not in entry
    # No entry claims an original was received (the key an originals receipt uses).
    assert all("sha256" not in entry for entry in receipt["items"])
    key = SigningKey.objects.get(agency=share.case.agency)
    assert receipt_verify(document, key.public_key)[0] is True
    page = client.post(
        reverse("receipts:verify"), {"receipt": json.dumps(document)}
    ).content.decode()
    assert solid.output.sha256 in page and solid.recipe.sha256 in page
    assert page.count("Original (not released)") == 3


def test_the_case_page_says_which_shares_are_redacted_copies_only(world, signed_in):
    _share(world, require_redacted=True)
    _share(world)
    page = signed_in(world["lead"]).get(reverse("evidence:case_detail", args=[world["case"].pk]))
    text = page.content.decode()
    copies = [part.split("</span>")[0] for part in text.split('<span class="share-copies">')[1:]]
    assert sorted(copies) == ["originals", "redacted copies only"]


def test_a_withheld_items_gps_track_stays_out_of_the_redacted_package(world, police, tmp_path):
    """A withheld body-camera recording sends nothing of itself, not even its GPS track (where
    it was made, second by second): it is listed as withheld and no file of it is in the ZIP."""
    walked = recorded_item(
        police,
        started_at=dt.datetime(2026, 11, 3, 14, 0, tzinfo=dt.UTC),
        fixes=[(0, 40.7128, -74.006, 5.0), (10, 40.7130, -74.0058, None)],
        content=b"bodycam video",
    )
    case_services.case_item_add(actor=world["lead"], case=world["case"], item=walked)
    items = [world["released"], walked]
    share = _share(world, require_redacted=True, items=items)
    prosecutor = verified(world["prosecutor"])
    package = package_stream(actor=prosecutor, case=world["case"], items=items, share=share)
    names = zipfile.ZipFile(io.BytesIO(b"".join(package))).namelist()
    assert not any(n.startswith("tracks/") for n in names)
    entries = [e for e in package.manifest["files"] if e["item_id"] == str(walked.pk)]
    assert [(e["role"], e["path"], e.get("released_as")) for e in entries] == [
        ("original", None, "withheld")
    ]
    # The same item under an originals share keeps its track.
    originals = package_stream(
        actor=prosecutor, case=world["case"], items=items, share=_share(world, items=items)
    )
    assert any(
        n.startswith("tracks/") for n in zipfile.ZipFile(io.BytesIO(b"".join(originals))).namelist()
    )
