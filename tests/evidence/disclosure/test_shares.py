"""Sharing a case with a prosecuting office: who sees it, levels, revocation, expiry,
do-not-disclose, resharing to defence counsel, and the disclosure log."""

import datetime as dt
import hashlib
import io
import zipfile
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from evidence.cases import services as case_services
from evidence.disclosure import services as share_services
from evidence.models import Derivative, Share, ShareLink
from portal import storage
from portal.models import AuditEvent
from portal.roles import AgencyKind, Role
from tests.evidence.cases_helpers import case_with_items, make_share, verified
from tests.factories import AgencyFactory, stored_item

pytestmark = pytest.mark.django_db


def _playlist(item):
    key = storage.new_object_key(f"evidence/{item.agency.slug}/derivatives")
    body = b"#EXTM3U\n#EXT-X-ENDLIST\n"
    storage.save_once(key, ContentFile(body))
    return Derivative.objects.create(
        item=item, kind=Derivative.Kind.HLS_PLAYLIST, name="index.m3u8", key=key,
        size=len(body), sha256=hashlib.sha256(body).hexdigest(),
        media_type="application/vnd.apple.mpegurl",
    )  # fmt: skip


@pytest.fixture
def world(make_staff, police, prosecution):
    lead, case, items = case_with_items(make_staff=make_staff, police=police)
    _playlist(items[0])
    prosecutor = make_staff(role=Role.PROSECUTOR, agency=prosecution)
    return {"lead": lead, "case": case, "items": items, "prosecutor": prosecutor}


def _share(world, **fields):
    return make_share(
        case=world["case"], by=world["lead"], office=world["prosecutor"].agency, **fields
    )


def _urls(share, item):
    return {
        "case": reverse("evidence:shared_case", args=[share.pk]),
        "item": reverse("evidence:shared_item", args=[share.pk, item.pk]),
        "media": reverse("evidence:shared_media", args=[share.pk, item.pk, "index.m3u8"]),
        "api": reverse("api-shared-case", args=[share.pk]),
    }


def test_the_prosecutor_sees_the_case_its_items_playback_metadata_and_custody(world, signed_in):
    share = _share(world)
    client = signed_in(world["prosecutor"])
    item = world["items"][0]
    listing = client.get(reverse("evidence:shared_list")).content.decode()
    assert world["case"].number in listing
    page = client.get(_urls(share, item)["case"]).content.decode()
    assert item.sha256 in page and world["items"][1].sha256 in page
    item_page = client.get(_urls(share, item)["item"]).content.decode()
    assert 'data-hls="/staff/evidence/shared/' in item_page
    assert "evidence.shared" in item_page  # custody shows the share itself
    media = client.get(_urls(share, item)["media"])
    assert media.status_code == 200 and b"".join(media.streaming_content).startswith(b"#EXTM3U")
    api = client.get(_urls(share, item)["api"]).json()
    assert {row["sha256"] for row in api["items"]} == {i.sha256 for i in world["items"]}


def test_another_office_and_an_unnamed_prosecutor_get_404_at_every_shared_url(
    world, make_staff, signed_in
):
    colleague = make_staff(role=Role.PROSECUTOR, agency=world["prosecutor"].agency)
    share = _share(world, recipients=[world["prosecutor"]])
    other_office = make_staff(
        role=Role.PROSECUTOR, agency=AgencyFactory(kind=AgencyKind.PROSECUTION)
    )
    item = world["items"][0]
    for user in (other_office, colleague):
        client = signed_in(user)
        for name, url in _urls(share, item).items():
            assert client.get(url).status_code == 404, name
        assert (
            world["case"].number not in client.get(reverse("evidence:shared_list")).content.decode()
        )
        download = reverse("evidence:shared_item_download", args=[share.pk, item.pk])
        assert client.post(download).status_code == 404
    assert signed_in(world["prosecutor"]).get(_urls(share, item)["case"]).status_code == 200


def test_another_agency_and_a_non_member_investigator_get_404_for_the_case_and_its_shares(
    world, make_staff, other_police, signed_in
):
    share = _share(world)
    for user in (make_staff(agency=other_police), make_staff()):
        client = signed_in(user)
        assert (
            client.get(reverse("evidence:case_detail", args=[world["case"].pk])).status_code == 404
        )
        revoke = reverse("evidence:share_revoke", args=[world["case"].pk, share.pk])
        assert client.post(revoke).status_code == 404
        assert client.get(reverse("api-case-shares", args=[world["case"].pk])).status_code == 404
        assert client.post(reverse("api-share-revoke", args=[share.pk])).status_code == 404
        # Police staff are not prosecutors: the shared area is refused whatever the id.
        assert client.get(_urls(share, world["items"][0])["case"]).status_code == 403
    share.refresh_from_db()
    assert share.revoked_at is None


def test_revoked_share_is_404_at_once(world, signed_in):
    share = _share(world)
    prosecutor = signed_in(world["prosecutor"])
    urls = _urls(share, world["items"][0])
    assert prosecutor.get(urls["item"]).status_code == 200
    signed_in(world["lead"]).post(
        reverse("evidence:share_revoke", args=[world["case"].pk, share.pk])
    )
    for name, url in urls.items():
        assert prosecutor.get(url).status_code == 404, name
    assert prosecutor.get(reverse("evidence:shared_package", args=[share.pk])).status_code == 404
    assert AuditEvent.objects.filter(action="share.revoked", target_id=str(share.pk)).count() == 1


def test_expired_share_is_404_at_once(world, signed_in):
    share = _share(world)
    prosecutor = signed_in(world["prosecutor"])
    urls = _urls(share, world["items"][0])
    assert prosecutor.get(urls["case"]).status_code == 200
    Share.objects.filter(pk=share.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    for name, url in urls.items():
        assert prosecutor.get(url).status_code == 404, name


def test_default_expiry_is_90_days(world):
    share = _share(world)
    days = (share.expires_at - timezone.now()).total_seconds() / 86400
    assert 89.99 < days <= 90


def test_view_only_share_refuses_downloads_with_a_clear_message(world, signed_in):
    share = _share(world, level=Share.Level.VIEW)
    client = signed_in(world["prosecutor"])
    item = world["items"][0]
    response = client.post(reverse("evidence:shared_item_download", args=[share.pk, item.pk]))
    assert response.status_code == 403
    assert "view only" in response.content.decode()
    response = client.get(reverse("evidence:shared_package", args=[share.pk]))
    assert response.status_code == 403 and "view only" in response.content.decode()
    refused = AuditEvent.objects.filter(action="share.refused", target_id=str(share.pk))
    assert refused.count() == 2 and {e.outcome for e in refused} == {"denied"}
    assert not AuditEvent.objects.filter(action="evidence.downloaded").exists()


def test_download_share_gives_the_original_byte_for_byte(world, signed_in):
    share = _share(world, level=Share.Level.DOWNLOAD)
    item = world["items"][1]
    response = signed_in(world["prosecutor"]).post(
        reverse("evidence:shared_item_download", args=[share.pk, item.pk])
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == item.sha256
    assert response["Content-Disposition"].startswith("attachment;")


def test_the_prosecutor_downloads_the_package_of_the_shared_items_only(world, police, signed_in):
    extra = stored_item(agency=police, content=b"added after the share")
    share = _share(world, level=Share.Level.DOWNLOAD)
    case_services.case_item_add(actor=world["lead"], case=world["case"], item=extra)
    response = signed_in(world["prosecutor"]).get(
        reverse("evidence:shared_package", args=[share.pk])
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    data = b"".join(response.streaming_content)
    assert len(data) == int(response["Content-Length"])
    archive = zipfile.ZipFile(io.BytesIO(data))
    sums = archive.read("SHA256SUMS").decode()
    for item in world["items"]:
        assert item.sha256 in sums
    assert extra.sha256 not in sums


def test_do_not_disclose_items_cannot_be_shared_and_the_page_says_why(world, signed_in):
    secret = world["items"][1]
    share_services.item_do_not_disclose_set(
        actor=world["lead"], item=secret, flag=True, reason="Names a confidential informant"
    )
    page = signed_in(world["lead"]).get(reverse("evidence:share_create", args=[world["case"].pk]))
    assert "Names a confidential informant" in page.content.decode()
    with pytest.raises(ValidationError, match="confidential informant"):
        _share(world, items=[secret])
    response = signed_in(world["lead"]).post(
        reverse("evidence:share_create", args=[world["case"].pk]),
        {"office": world["prosecutor"].agency_id, "scope": "some", "items": [str(secret.pk)],
         "level": "view", "expires_on": (timezone.now() + dt.timedelta(days=5)).date()},
    )  # fmt: skip
    assert response.status_code == 200 and "cannot be shared" in response.content.decode()
    assert not Share.objects.exists()
    share = _share(world)  # "everything": the flagged item is left out
    assert list(share.share_items.values_list("item_id", flat=True)) == [world["items"][0].pk]


def test_share_form_refuses_a_police_agency_and_a_past_expiry(world, other_police, signed_in):
    client = signed_in(world["lead"])
    url = reverse("evidence:share_create", args=[world["case"].pk])
    base = {"office": world["prosecutor"].agency_id, "scope": "all", "level": "view",
            "expires_on": (timezone.now() + dt.timedelta(days=5)).date()}  # fmt: skip
    assert client.post(url, {**base, "office": other_police.pk}).status_code == 200
    agency_today = timezone.localdate(timezone=zoneinfo.ZoneInfo(world["lead"].agency.time_zone))
    past = {**base, "expires_on": agency_today - dt.timedelta(days=1)}  # the agency's yesterday
    assert "in the future" in client.post(url, past).content.decode()
    assert "at most 366" in client.post(url, {**base, "expires_on": "2099-01-01"}).content.decode()
    assert not Share.objects.exists()
    assert client.post(url, base).status_code == 302
    assert Share.objects.count() == 1


def test_a_member_without_share_rights_cannot_share(world, make_staff, signed_in):
    dispatcher = make_staff(role=Role.DISPATCHER)
    case_services.case_member_add(actor=world["lead"], case=world["case"], user=dispatcher)
    url = reverse("evidence:share_create", args=[world["case"].pk])
    assert signed_in(dispatcher).get(url).status_code == 403


def test_resharing_is_refused_where_not_allowed(world, signed_in):
    item_share = _share(world, level=Share.Level.DOWNLOAD, reshare_allowed=False)
    client = signed_in(world["prosecutor"])
    form = {"recipient_label": "A. Defender, Public Defender's Office", "max_downloads": 2,
            "expires_on": (timezone.now() + dt.timedelta(days=3)).date()}  # fmt: skip
    response = client.post(reverse("evidence:shared_link", args=[item_share.pk]), form)
    assert response.status_code == 403 and "does not allow resharing" in response.content.decode()
    view_only = _share(world, level=Share.Level.VIEW, reshare_allowed=True)
    response = client.post(reverse("evidence:shared_link", args=[view_only.pk]), form)
    assert response.status_code == 403 and "view-only" in response.content.decode()
    assert not ShareLink.objects.exists()
    assert AuditEvent.objects.filter(action="share.refused", outcome="denied").count() == 2


def _make_link(world, client, share, **overrides):
    form = {"recipient_label": "A. Defender", "max_downloads": 2,
            "expires_on": (timezone.now() + dt.timedelta(days=3)).date(), **overrides}  # fmt: skip
    response = client.post(reverse("evidence:shared_link", args=[share.pk]), form)
    assert response.status_code == 200, response.content[:300]
    body = response.content.decode()
    start = body.index('id="share-link">') + len('id="share-link">')
    return body[start : body.index("</code>", start)]


def test_defence_link_counts_downloads_and_stops_at_the_limit(world, client, signed_in):
    share = _share(world, level=Share.Level.DOWNLOAD, reshare_allowed=True)
    url = _make_link(world, signed_in(world["prosecutor"]), share, max_downloads=2)
    token = url.split("t=", 1)[1]
    link = ShareLink.objects.get()
    assert (
        token not in link.token_hash
        and link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    )
    path = reverse("evidence_public:link")
    assert "2 download(s) allowed" in client.get(path, {"t": token}).content.decode()
    for _ in range(2):
        response = client.post(path, {"t": token})
        assert response.status_code == 200 and response["Content-Type"] == "application/zip"
        b"".join(response.streaming_content)
    spent = client.post(path, {"t": token})
    assert spent.status_code == 410 and "used as many times" in spent.content.decode()
    assert client.get(path, {"t": token}).status_code == 410
    link.refresh_from_db()
    assert link.download_count == 2
    uses = AuditEvent.objects.filter(action="share.link_used").order_by("seq")
    assert [e.details["download"] for e in uses] == [1, 2]
    assert AuditEvent.objects.filter(action="share.link_refused", outcome="denied").count() == 1
    assert client.get(path, {"t": "wrong"}).status_code == 404


def test_defence_link_expires_and_dies_with_its_share(world, client, signed_in):
    share = _share(world, level=Share.Level.DOWNLOAD, reshare_allowed=True)
    prosecutor = signed_in(world["prosecutor"])
    token = _make_link(world, prosecutor, share).split("t=", 1)[1]
    path = reverse("evidence_public:link")
    ShareLink.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.post(path, {"t": token})
    assert response.status_code == 410 and "expired" in response.content.decode()
    token = _make_link(world, prosecutor, share).split("t=", 1)[1]
    share_services.share_revoke(actor=world["lead"], share=share)
    response = client.post(path, {"t": token})
    assert response.status_code == 410 and "withdrawn" in response.content.decode()
    with pytest.raises(ValidationError, match="no later than"):
        share_services.share_link_create(
            actor=verified(world["prosecutor"]), share=_share(world, level="download", reshare_allowed=True),
            recipient_label="x", max_downloads=1,
            expires_at=timezone.now() + dt.timedelta(days=400),
        )  # fmt: skip


def test_every_prosecutor_action_appears_in_the_disclosure_log(world, signed_in):
    share = _share(world, level=Share.Level.DOWNLOAD)
    client = signed_in(world["prosecutor"])
    item = world["items"][0]
    urls = _urls(share, item)
    client.get(urls["case"])
    client.get(urls["item"])
    b"".join(client.get(urls["media"]).streaming_content)
    b"".join(
        client.post(
            reverse("evidence:shared_item_download", args=[share.pk, item.pk])
        ).streaming_content
    )
    b"".join(client.get(reverse("evidence:shared_package", args=[share.pk])).streaming_content)
    client.post(reverse("evidence:shared_acknowledge", args=[share.pk]))

    log = services_log(world["case"])
    mine = [(e.action, e.actor_id) for e in log if e.actor_id == world["prosecutor"].pk]
    for action in (
        "share.viewed", "evidence.viewed", "evidence.played", "evidence.downloaded",
        "share.package_downloaded", "share.acknowledged",
    ):  # fmt: skip
        assert (action, world["prosecutor"].pk) in mine, action
    page = signed_in(world["lead"]).get(reverse("evidence:case_detail", args=[world["case"].pk]))
    section = page.content.decode().split('id="disclosure-log"', 1)[1].split("</div>", 1)[0]
    for action in ("share.created", "share.viewed", "evidence.played", "evidence.downloaded",
                   "share.package_downloaded", "share.acknowledged"):  # fmt: skip
        assert action in section, action
    assert world["prosecutor"].label.replace("<", "&lt;").replace(">", "&gt;") in section


def services_log(case):
    from evidence.disclosure.selectors import disclosure_log

    return list(disclosure_log(case=case))


def test_shares_api_create_list_revoke_and_shared_with_me(world, signed_in):
    lead = signed_in(world["lead"])
    url = reverse("api-case-shares", args=[world["case"].pk])
    bad = lead.post(url, {"office": world["prosecutor"].agency_id, "items": ["not-a-uuid"]},
                    content_type="application/json")  # fmt: skip
    assert bad.status_code == 400
    created = lead.post(
        url, {"office": world["prosecutor"].agency_id, "level": "download",
              "items": [str(world["items"][0].pk)]}, content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    share_id = created.json()["id"]
    assert created.json()["items"] == [str(world["items"][0].pk)]
    assert [s["id"] for s in lead.get(url).json()["results"]] == [share_id]
    prosecutor = signed_in(world["prosecutor"])
    assert [s["id"] for s in prosecutor.get(reverse("api-shared-list")).json()["results"]] == [
        share_id
    ]
    assert lead.post(reverse("api-share-revoke", args=[share_id])).json()["state"] == "revoked"
    assert prosecutor.get(reverse("api-shared-list")).json()["results"] == []
    assert prosecutor.get(reverse("api-shared-case", args=[share_id])).status_code == 404
    assert lead.get(reverse("api-shared-list")).status_code == 403


def test_acknowledging_issues_a_signed_receipt_that_verifies_and_lists_the_items(world, signed_in):
    from evidence.disclosure.receipts import receipt_verify
    from evidence.disclosure.signing import private_key_of, signing_key_for

    share = _share(world)
    client = signed_in(world["prosecutor"])
    receipt_url = reverse("evidence:shared_receipt", args=[share.pk])
    assert client.get(receipt_url).status_code == 404
    client.post(reverse("evidence:shared_acknowledge", args=[share.pk]))
    response = client.get(receipt_url)
    assert response.status_code == 200
    document = response.json()
    body = document["receipt"]
    assert body["recipient"]["user"] == world["prosecutor"].label
    assert sorted(i["sha256"] for i in body["items"]) == sorted(i.sha256 for i in world["items"])
    key = private_key_of(signing_key_for(agency=world["case"].agency)).public_key()
    assert receipt_verify(document, key)[0]
    body["items"][0]["sha256"] = "0" * 64
    assert not receipt_verify(document, key)[0]
    share.refresh_from_db()
    assert share.acknowledged_by == world["prosecutor"]
    # Acknowledging twice keeps the first receipt.
    client.post(reverse("evidence:shared_acknowledge", args=[share.pk]))
    assert (
        client.get(receipt_url).json()["receipt"]["receipt_id"]
        == (response.json()["receipt"]["receipt_id"])
    )
