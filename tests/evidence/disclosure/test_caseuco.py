"""case.jsonld: the case as a CASE/UCO bundle that case_validate (case-utils) accepts."""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from evidence.disclosure import services as share_services
from evidence.models import CaseItem, Derivative
from portal import storage
from portal.roles import Role
from tests.evidence.disclosure.packaging import (
    add_items,
    extract,
    make_case,
    make_share,
    package_bytes,
    verified,
)

pytestmark = pytest.mark.django_db

CASE_VALIDATE = Path(sys.executable).parent / "case_validate"
UUID_END = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def bundle_path(make_staff, prosecution, tmp_path):
    lead = make_staff(role=Role.INVESTIGATOR)
    case = make_case(lead=lead, title='Robbery <b>"quoted"</b>')
    items = add_items(case, [os.urandom(2000), os.urandom(1000)])
    items[1].source = "tip"
    items[1].source_ref = "tip-7"
    items[1].uploaded_by = None
    items[1].save(update_fields=["source", "source_ref", "uploaded_by"])
    proxy = os.urandom(300)
    key = storage.new_object_key("evidence/test/derivatives")
    storage.save_once(key, ContentFile(proxy))
    Derivative.objects.create(
        item=items[0], kind=Derivative.Kind.PROXY_MP4, name="proxy.mp4", key=key,
        size=len(proxy), sha256=hashlib.sha256(proxy).hexdigest(), media_type="video/mp4",
        command=["ffmpeg", "-i", "original", "proxy.mp4"],
    )  # fmt: skip
    prosecutor = make_staff(role=Role.PROSECUTOR, agency=prosecution)
    share = make_share(case=case, items=items, recipient_agency=prosecution, by=lead)
    share = share_services.share_acknowledge(actor=verified(prosecutor), share=share)
    data = package_bytes(actor=prosecutor, case=case, items=items, include_proxies=True)
    return extract(data, tmp_path / "pkg") / "case.jsonld", items, share


def _validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CASE_VALIDATE), str(path)], capture_output=True, text=True, timeout=120
    )


def test_case_validate_accepts_the_bundle(bundle_path):
    path, _, _ = bundle_path
    result = _validate(path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Conforms: True" in result.stdout


def test_bundle_has_hashed_files_provenance_collection_and_sharing(bundle_path):
    path, items, share = bundle_path
    graph = json.loads(path.read_text())["@graph"]
    by_type: dict[str, list[dict]] = {}
    for node in graph:
        by_type.setdefault(node["@type"], []).append(node)
    hashes = {n["uco-types:hashValue"]["@value"] for n in by_type["uco-types:Hash"]}
    assert {item.sha256 for item in items} <= hashes
    assert all(n["uco-types:hashMethod"] == "SHA256" for n in by_type["uco-types:Hash"])
    assert len(by_type["uco-observable:File"]) == 3  # two originals and one proxy
    exhibits = {
        n.get("case-investigation:exhibitNumber")
        for n in by_type["case-investigation:ProvenanceRecord"]
    }
    numbers = CaseItem.objects.filter(item__in=items).values_list("exhibit_number", flat=True)
    assert {str(n) for n in numbers} <= exhibits
    names = [n["uco-core:name"] for n in by_type["case-investigation:InvestigativeAction"]]
    assert "Uploaded by staff" in names
    assert "Received from a resident's tip" in names
    assert f"Shared with {share.recipient_agency.name}" in names
    assert "Receipt acknowledged" in names
    assert all(UUID_END.search(node["@id"]) for node in graph)


def test_a_wrongly_typed_hash_fails_validation(bundle_path, tmp_path):
    """The validator really checks: the standards' hexBinary trap makes it exit non-zero."""
    path, _, _ = bundle_path
    document = json.loads(path.read_text())
    for node in document["@graph"]:
        if node["@type"] == "uco-types:Hash":
            node["uco-types:hashValue"] = node["uco-types:hashValue"]["@value"]
    broken = tmp_path / "broken.jsonld"
    broken.write_text(json.dumps(document))
    result = _validate(broken)
    assert result.returncode != 0
    assert "hexBinary" in result.stdout
