"""An investigator shares a case; a prosecutor signs in with MFA, plays a video and downloads
the case package. Real login and TOTP pages, a Celery worker running the media pipeline,
ffmpeg, the streaming package and Debian's Chromium on a phone-sized screen."""

import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from PIL import Image
from playwright.sync_api import expect

from evidence.models import EvidenceItem, Share
from portal.models import AuditEvent
from portal.roles import Role
from tests.e2e.conftest import ARTIFACTS, open_menu, wait_until
from tests.e2e.test_evidence_upload_browser import (
    _assert_fits_the_phone,
    _make_clip,
    _play,
    _sign_in,
    _watch_for_trouble,
)
from tests.evidence.cases_helpers import make_case, verified
from tests.evidence.helpers import ingest, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]


def _tile_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (230, 236, 240)).save(out, "PNG")
    return out.getvalue()


def _serve_tiles(page) -> list[str]:
    """The configured tile server, played by the test: one generated PNG for every tile."""
    served: list[str] = []
    png = _tile_png()

    def fulfil(route):
        served.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=png)

    page.route("**/test-tiles/**", fulfil)
    return served


def test_investigator_shares_and_the_prosecutor_plays_and_downloads_the_package(
    live_server, celery_worker, make_staff, prosecution, police, browser, phone, settings, tmp_path
):
    settings.MAP_TILE_URL = "/test-tiles/{z}/{x}/{y}.png"
    investigator = make_staff(full_name="Ines Investigator")
    prosecutor = make_staff(role=Role.PROSECUTOR, agency=prosecution, full_name="Pat Prosecutor")
    item = wait_for(ingest(Path(_make_clip(tmp_path)), police))
    assert item.state == EvidenceItem.State.READY
    EvidenceItem.objects.filter(pk=item.pk).update(location=Point(-73.96, 40.75, srid=4326))
    case = make_case(lead=verified(investigator), items=[item], number="26-0417")
    base_url = live_server.url
    ARTIFACTS.mkdir(exist_ok=True)

    # The investigator shares the case (view and download) with the prosecuting office.
    trouble = _watch_for_trouble(phone, base_url)
    tiles = _serve_tiles(phone)
    _sign_in(phone, base_url, investigator)
    open_menu(phone)
    phone.get_by_role("link", name="Cases").click()
    phone.get_by_role("link", name="26-0417").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Case 26-0417")
    wait_until(phone, "() => document.getElementById('case-map').dataset.markers === '1'")
    wait_until(phone, "() => document.querySelector('#case-map img.leaflet-tile-loaded')")
    assert tiles and all("/test-tiles/" in url for url in tiles)
    _assert_fits_the_phone(phone)
    phone.get_by_role("link", name="Share with a prosecuting office").click()
    phone.get_by_label("Prosecuting office").select_option(label=prosecution.name)
    phone.get_by_label("View and download").check()
    phone.get_by_label("Note").fill("For the charging decision.")
    phone.get_by_role("button", name="Share").click()
    expect(phone.locator(".messages")).to_contain_text(f"Shared 1 item(s) with {prosecution.name}")
    _assert_fits_the_phone(phone)
    phone.screenshot(path=str(ARTIFACTS / "case-shared-390.png"), full_page=True)
    share = Share.objects.get(case=case)
    assert share.level == Share.Level.DOWNLOAD and share.note == "For the charging decision."
    assert trouble == []

    # The prosecutor, in a browser of their own, signs in with password and code.
    context = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        trouble = _watch_for_trouble(page, base_url)
        _sign_in(page, base_url, prosecutor)
        open_menu(page)
        page.get_by_role("link", name="Shared with me").click()
        page.get_by_role("link", name="26-0417").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Case 26-0417")
        expect(page.locator("main")).to_contain_text(f"Exhibit 1 · {item.original_filename}")
        item_link = page.get_by_role("link", name=item.original_filename)
        item_url = item_link.get_attribute("href")
        played = _play(page, f"{base_url}{item_url}")
        assert played.endswith("/index.m3u8"), played
        _assert_fits_the_phone(page)
        page.screenshot(path=str(ARTIFACTS / "shared-item-390.png"), full_page=True)

        page.get_by_role("link", name="← Case 26-0417").click()
        with page.expect_download() as info:
            page.get_by_role("link", name="Download case package (ZIP)").click()
        download = info.value
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        assert trouble == []
    finally:
        context.close()

    extracted = tmp_path / "package"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(extracted)
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=extracted, capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert item.sha256 in (extracted / "SHA256SUMS").read_text()
    # Files are named by exhibit number; the manifest keeps the item's id beside it.
    assert sorted(p.name for p in (extracted / "originals").iterdir()) == ["exhibit-001.mp4"]
    assert f"{item.sha256}  originals/exhibit-001.mp4" in (extracted / "SHA256SUMS").read_text()
    [entry] = [
        f
        for f in json.loads((extracted / "manifest.json").read_text())["files"]
        if f["role"] == "original"
    ]
    assert entry["item_id"] == str(item.pk) and entry["exhibit_number"] == 1
    assert entry["path"] == "originals/exhibit-001.mp4"

    # Everything the prosecutor did is in the sharing agency's disclosure log.
    done = set(
        AuditEvent.objects.filter(actor=prosecutor, details__share=str(share.pk)).values_list(
            "action", flat=True
        )
    )
    assert {
        "share.viewed",
        "evidence.viewed",
        "evidence.played",
        "share.package_downloaded",
    } <= done
    assert AuditEvent.objects.filter(
        actor=prosecutor, action="evidence.downloaded", target_id=str(item.pk)
    ).exists()
