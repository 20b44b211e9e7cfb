"""A package downloaded through a share speaks of that share only: another office's share, views
and downloads stay out of its manifest, custody report and CASE/UCO bundle; and every
prosecutor view, play and download (defence link included) is in the case's disclosure log."""

import datetime as dt
import io
import json
import zipfile
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from evidence.disclosure import selectors as share_selectors
from evidence.models import Share
from portal.roles import AgencyKind, Role
from tests.evidence.cases_helpers import case_with_items, make_share, verified
from tests.factories import AgencyFactory

pytestmark = pytest.mark.django_db


def _files(response) -> dict[str, str]:
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = ["manifest.json", "custody.html", "case.jsonld", "SHA256SUMS"]
        # The custody proofs hold every hashed field of the rows: they must speak of the
        # share only as much as the manifest does.
        proofs = [n for n in archive.namelist() if n.startswith("custody-proof/")]
        assert proofs
        return {n: archive.read(n).decode() for n in names + proofs}


@pytest.fixture
def two_offices(make_staff, police, prosecution):
    lead, case, items = case_with_items(make_staff=make_staff, police=police)
    other = AgencyFactory(name="Harbor County Public Integrity Unit", kind=AgencyKind.PROSECUTION)
    ours = verified(make_staff(role=Role.PROSECUTOR, agency=prosecution))
    theirs = verified(make_staff(role=Role.PROSECUTOR, agency=other))
    level = {"level": Share.Level.DOWNLOAD, "reshare_allowed": True}
    share_ours = make_share(case=case, by=lead, office=prosecution, note="For charging", **level)
    share_theirs = make_share(case=case, by=lead, office=other, note="Integrity review", **level)
    return {
        "lead": lead, "case": case, "items": items, "ours": ours, "theirs": theirs,
        "share_ours": share_ours, "share_theirs": share_theirs, "other": other,
    }  # fmt: skip


def test_a_prosecutors_package_leaves_out_the_other_offices_share_and_accesses(
    two_offices, signed_in
):
    w = two_offices
    theirs = signed_in(w["theirs"])
    item = w["items"][0]
    assert (
        theirs.get(
            reverse("evidence:shared_item", args=[w["share_theirs"].pk, item.pk])
        ).status_code
        == 200
    )
    _files(theirs.get(reverse("evidence:shared_package", args=[w["share_theirs"].pk])))

    files = _files(
        signed_in(w["ours"]).get(reverse("evidence:shared_package", args=[w["share_ours"].pk]))
    )
    for name, text in files.items():
        for secret in (str(w["share_theirs"].pk), w["other"].name, "Integrity review"):
            assert secret not in text, (name, secret)
    manifest = json.loads(files["manifest.json"])
    assert manifest["share"]["id"] == str(w["share_ours"].pk)
    custody = manifest["files"][0]["custody"]
    actions = [e["action"] for e in custody]
    assert "case.item_added" in actions and "evidence.shared" in actions  # collection, own share
    assert {e["details"].get("share") for e in custody} <= {None, str(w["share_ours"].pk)}
    assert "Riverton DA" in files["case.jsonld"] and "For charging" in files["custody.html"]

    # The sharing agency's own package still tells the whole story.
    files = _files(signed_in(w["lead"]).get(reverse("evidence:case_package", args=[w["case"].pk])))
    assert w["other"].name in files["custody.html"] and w["other"].name in files["case.jsonld"]
    manifest = json.loads(files["manifest.json"])
    shares_seen = {e["details"].get("share") for f in manifest["files"] for e in f["custody"]}
    assert str(w["share_theirs"].pk) in shares_seen


def test_every_view_play_and_download_through_a_share_is_in_the_disclosure_log(
    two_offices, signed_in
):
    w = two_offices
    share, item = w["share_ours"], w["items"][0]
    client = signed_in(w["ours"])
    before = share_selectors.disclosure_log(case=w["case"]).count()
    client.get(reverse("evidence:shared_case", args=[share.pk]))
    client.get(reverse("evidence:shared_item", args=[share.pk, item.pk]))
    client.get(reverse("api-shared-case", args=[share.pk]))
    assert (
        client.post(reverse("evidence:shared_item_download", args=[share.pk, item.pk])).status_code
        == 200
    )
    _files(client.get(reverse("evidence:shared_package", args=[share.pk])))
    made = client.post(
        reverse("evidence:shared_link", args=[share.pk]),
        {
            "recipient_label": "Defence counsel",
            "expires_on": (timezone.now() + dt.timedelta(days=5)).date().isoformat(),
            "max_downloads": 1,
        },
    )
    token = parse_qs(urlparse(made.context["url"]).query)["t"][0]
    _files(Client().post(reverse("evidence_public:link"), {"t": token}))

    log = list(share_selectors.disclosure_log(case=w["case"]))
    assert len(log) > before
    seen = [(e.action, e.target_id, e.details.get("via", "")) for e in log]
    for action, target in (
        ("share.viewed", str(share.pk)),
        ("evidence.viewed", str(item.pk)),
        ("share.package_downloaded", str(share.pk)),
        ("share.link_created", str(share.pk)),
        ("share.link_used", str(share.pk)),
    ):
        assert any(a == action and t == target for a, t, _ in seen), (action, seen)
    # The package's per-item custody rows join the log directly, for both the prosecutor's
    # download and the defence link's, one per item each.
    package_rows = [
        e
        for e in log
        if e.action == "evidence.downloaded" and e.details.get("in") == "case package"
    ]
    vias = sorted(e.details["via"].split(" ")[0] for e in package_rows)
    assert vias == ["reshare"] * len(w["items"]) + ["share"] * len(w["items"])
    assert all(e.details["share"] == str(share.pk) for e in package_rows)
    # The other office's share is no part of this share's rows.
    assert not [e for e in log if e.details.get("share") == str(w["share_theirs"].pk)
                and e.actor_agency == "Riverton DA"]  # fmt: skip
