"""The tips API: create with proof-of-work, receipts, return, messages, grants, and abuse limits."""

import json
import re

import pytest
from argon2.low_level import Type, hash_secret_raw
from django.urls import reverse
from django.utils.crypto import salted_hmac

from evidence.models import Upload, UploadGrant
from portal.models import AuditEvent
from submissions.api import WRONG_RECEIPT
from submissions.models import ReceiptStyle, SubmissionSettings, Tip, TipMessage
from tests.submissions.helpers import send_tip, solved, tip_body, tipster_client

pytestmark = pytest.mark.django_db


def argon2id_receipt_hash(normalised: str) -> str:
    """The stored form the receipts module promises, computed here independently: Argon2id
    (not Argon2i/d, not a fast hash) with m=4 MiB, t=1, p=1, a 32-byte output and the salt
    derived from SECRET_KEY, tagged with the hash version "a1"."""
    raw = hash_secret_raw(
        secret=normalised.encode(),
        salt=salted_hmac("canvass.tip-receipt-salt", "argon2id").digest()[:16],
        time_cost=1,
        memory_cost=4096,
        parallelism=1,
        hash_len=32,
        type=Type.ID,
    )
    return f"a1${raw.hex()}"


def _mine(client, receipt, path="/api/tips/mine/", method="get", **data):
    call = getattr(client, method)
    kwargs = {"HTTP_CANVASS_RECEIPT": receipt}
    if method == "post":
        return call(path, json.dumps(data), content_type="application/json", **kwargs)
    return call(path, **kwargs)


def test_a_tip_is_created_with_a_receipt_shown_once_and_an_upload_grant(tips_agency):
    client = tipster_client()
    response = send_tip(client, tips_agency, contact="me@example.org", share_file_metadata=True)

    assert response.status_code == 201, response.content
    body = response.json()
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", body["receipt"])
    assert set(body["upload"]) == {
        "endpoint", "header", "grant", "max_files", "max_file_bytes", "media_types", "expires_at"
    }  # fmt: skip
    assert body["upload"]["endpoint"] == "/api/uploads/"
    assert body["upload"]["header"] == "Canvass-Upload-Grant"
    assert body["upload"]["max_file_bytes"] == 4 * 1024**3
    assert body["upload"]["media_types"] == ["video/", "image/"]
    tip = Tip.objects.get(reference=body["tip"])
    assert tip.share_file_metadata is True
    assert tip.contact == "me@example.org"
    # The agency's zone: 21:30 in New York is 02:30 UTC the next day.
    assert tip.occurred_at.isoformat() == "2025-01-16T02:30:00+00:00"
    digits = body["receipt"].replace(" ", "")
    assert digits not in tip.receipt_hash
    assert tip.receipt_hash == argon2id_receipt_hash(digits)
    grant = UploadGrant.objects.get(source_ref=tip.reference)
    assert grant.flow == UploadGrant.Flow.TIP and grant.secret_hash
    event = AuditEvent.objects.get(action="tip.received")
    assert event.actor_label == f"anonymous tipster · {tip.reference}"
    assert (event.target_type, event.target_id) == ("submissions.tip", tip.reference)
    assert event.actor_id is None


def test_an_agency_can_choose_six_word_receipts(tips_agency):
    SubmissionSettings.objects.filter(agency=tips_agency).update(
        receipt_style=ReceiptStyle.PASSPHRASE
    )
    client = tipster_client()
    receipt = send_tip(client, tips_agency).json()["receipt"]

    assert re.fullmatch(r"[a-z]+( [a-z]+){5}", receipt)
    # Capitals and extra spaces do not make a receipt wrong.
    assert _mine(client, "  " + receipt.upper().replace(" ", "   ")).status_code == 200


def test_a_missing_proof_of_work_is_refused_and_nothing_is_kept(tips_agency):
    client = tipster_client()
    body = tip_body(tips_agency)
    response = client.post("/api/tips/", json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("altcha:")
    assert not Tip.objects.exists() and not UploadGrant.objects.exists()


def test_a_replayed_proof_of_work_is_refused(tips_agency):
    client = tipster_client()
    payload = solved(client)
    first = send_tip(client, tips_agency, altcha=payload)
    again = send_tip(client, tips_agency, altcha=payload)

    assert first.status_code == 201
    assert again.status_code == 403
    assert again.json() == {"detail": "This anti-spam check was already used. Try sending again."}
    assert Tip.objects.count() == 1


def test_a_forged_proof_of_work_is_refused(tips_agency):
    client = tipster_client()
    payload = json.loads(__import__("base64").b64decode(solved(client)))
    payload["challenge"]["parameters"]["keyPrefix"] = ""  # make any answer fit
    forged = __import__("base64").b64encode(json.dumps(payload).encode()).decode()

    response = send_tip(client, tips_agency, altcha=forged)

    assert response.status_code == 403
    assert "failed" in response.json()["detail"]
    assert not Tip.objects.exists()


def test_a_flood_of_tips_gets_429_and_nothing_half_created(tips_agency, settings):
    settings.TIPS_RATE_CREATE_PER_HOUR = 3
    client = tipster_client()
    answers = [send_tip(client, tips_agency) for _ in range(5)]

    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
    assert 0 < int(answers[3]["Retry-After"]) <= 3600
    assert answers[3].json()["detail"].startswith("Too many attempts")
    assert Tip.objects.count() == 3
    assert UploadGrant.objects.count() == 3
    assert AuditEvent.objects.filter(action="tip.received").count() == 3
    # Another connection is not held back by this one's flood.
    assert send_tip(tipster_client(), tips_agency).status_code == 201


def test_bad_fields_get_a_clear_error(tips_agency):
    client = tipster_client()
    cases = {
        "description": ("", "description:"),
        "category": ("no-such-category", "Choose one of this agency's categories."),
        "occurred_at": ("yesterday", "occurred_at: Give the time as ISO 8601"),
        "latitude": (123, "latitude:"),
    }
    for field, (value, message) in cases.items():
        response = send_tip(client, tips_agency, **{field: value})
        assert response.status_code == 400, field
        assert response.json()["detail"].startswith(message), response.json()
    future = send_tip(client, tips_agency, occurred_at="2999-01-01T00:00")
    assert future.json()["detail"] == "occurred_at: The time it happened cannot be in the future."
    assert send_tip(client, tips_agency, agency="nowhere").status_code == 404
    assert not Tip.objects.exists()


def test_the_receipt_brings_the_tipster_back_to_status_questions_and_files(tips_agency):
    client = tipster_client()
    created = send_tip(client, tips_agency).json()
    tip = Tip.objects.get(reference=created["tip"])
    TipMessage.objects.create(tip=tip, direction="to_tipster", body="What colour was the van?")
    Tip.objects.filter(pk=tip.pk).update(status="triaged", public_message="We are looking at it.")

    mine = _mine(client, created["receipt"]).json()
    answer = _mine(client, created["receipt"], "/api/tips/mine/messages/", "post", body="Grey.")
    grant = _mine(client, created["receipt"], "/api/tips/mine/uploads/", "post")

    assert mine["status"] == "under_review"
    assert mine["message"] == "We are looking at it."
    assert [m["body"] for m in mine["messages"]] == ["What colour was the van?"]
    assert answer.status_code == 201 and answer.json()["direction"] == "from_tipster"
    assert grant.status_code == 201 and grant.json()["grant"] != created["upload"]["grant"]
    assert UploadGrant.objects.filter(source_ref=tip.reference).count() == 2
    assert AuditEvent.objects.filter(action="tip.answered", target_id=tip.reference).exists()


def test_a_wrong_receipt_gets_one_generic_error(tips_agency):
    client = tipster_client()
    send_tip(client, tips_agency)
    for wrong in ("0000 0000 0000 0000", "not a receipt", "", "1" * 200):
        response = _mine(client, wrong)
        assert response.status_code == 404
        assert response.json() == {"detail": WRONG_RECEIPT}


def test_twenty_wrong_receipts_then_429_even_for_the_right_one(tips_agency):
    client = tipster_client()
    receipt = send_tip(client, tips_agency).json()["receipt"]
    wrong = [_mine(client, f"1234 5678 0000 {n:04d}").status_code for n in range(20)]
    blocked = _mine(client, receipt)

    assert wrong == [404] * 20
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert _mine(tipster_client(), receipt).status_code == 200


def test_tip_x_receipt_does_not_open_tip_y(tips_agency):
    client = tipster_client()
    x = send_tip(client, tips_agency).json()
    y = send_tip(client, tips_agency).json()

    assert _mine(client, x["receipt"]).json()["tip"] == x["tip"]
    assert _mine(client, y["receipt"]).json()["tip"] == y["tip"]
    _mine(client, x["receipt"], "/api/tips/mine/messages/", "post", body="about X")
    assert TipMessage.objects.get().tip.reference == x["tip"]


def test_a_file_type_outside_the_allowlist_is_refused_clearly(tips_agency, settings, tmp_path):
    settings.UPLOAD_STAGING_DIR = tmp_path
    client = tipster_client()
    grant = send_tip(client, tips_agency).json()["upload"]
    response = client.generic(
        "POST",
        "/api/uploads/",
        b"",
        content_type="application/offset+octet-stream",
        HTTP_TUS_RESUMABLE="1.0.0",
        HTTP_UPLOAD_LENGTH="100",
        HTTP_UPLOAD_METADATA="filename bm90ZXMucGRm,filetype YXBwbGljYXRpb24vcGRm",
        HTTP_CANVASS_UPLOAD_GRANT=grant["grant"],
    )

    assert response.status_code == 415
    assert response.content.decode().strip() == (
        "Files of type 'application/pdf' cannot be uploaded with this grant; it accepts video/, image/."
    )
    assert not Upload.objects.exists() and not list(tmp_path.iterdir())


def test_an_oversize_file_gets_413_before_any_byte_is_stored(tips_agency, settings, tmp_path):
    settings.UPLOAD_STAGING_DIR = tmp_path
    SubmissionSettings.objects.filter(agency=tips_agency).update(max_file_bytes=1000)
    client = tipster_client()
    grant = send_tip(client, tips_agency).json()["upload"]
    assert grant["max_file_bytes"] == 1000

    response = client.generic(
        "POST",
        "/api/uploads/",
        b"x" * 1001,
        content_type="application/offset+octet-stream",
        HTTP_TUS_RESUMABLE="1.0.0",
        HTTP_UPLOAD_LENGTH="1001",
        HTTP_CANVASS_UPLOAD_GRANT=grant["grant"],
    )

    assert response.status_code == 413
    assert "the limit is 1000 bytes" in response.content.decode()
    assert not Upload.objects.exists() and not list(tmp_path.iterdir())


def test_categories_and_challenge_are_public(tips_agency, other_tips_agency):
    client = tipster_client()
    categories = client.get(f"/api/tips/agencies/{tips_agency.slug}/categories/").json()
    challenge = client.get("/api/tips/challenge/").json()

    assert categories["agency"] == tips_agency.slug
    assert categories["time_zone"] == "America/New_York"
    assert categories["results"][0] == {"slug": "theft", "name": "Theft or burglary"}
    assert set(challenge) == {"parameters", "signature"}
    assert challenge["parameters"]["algorithm"] == "PBKDF2/SHA-256"
    assert client.get("/api/tips/agencies/nowhere/categories/").status_code == 404


def test_the_tips_api_is_in_the_openapi_schema(client):
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/tips/", "/api/tips/challenge/", "/api/tips/agencies/{slug}/categories/",
        "/api/tips/mine/", "/api/tips/mine/messages/", "/api/tips/mine/uploads/",
        "/api/tips/geocode/",
    ):  # fmt: skip
        assert path in schema["paths"], path
    created = schema["paths"]["/api/tips/"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("TipCreated")


def test_address_search_answers_or_says_why_not(tips_agency, geocoder, settings):
    client = tipster_client()
    found = client.get("/api/tips/geocode/", {"q": "100 Main Street, Riverton"})
    missing = client.get("/api/tips/geocode/", {"q": "Nowhere Lane 9"})
    settings.GEOCODER_URL = "http://127.0.0.1:9/"
    down = client.get("/api/tips/geocode/", {"q": "100 Main Street, Riverton"})

    assert found.json() == {
        "latitude": 40.7128,
        "longitude": -74.006,
        "label": "100 Main Street, Riverton",
    }
    assert missing.status_code == 404 and "Tap the map" in missing.json()["detail"]
    assert down.status_code == 503 and "Tap the map" in down.json()["detail"]


def test_a_tip_costs_one_lookup_for_its_category_agency_and_settings(
    tips_agency, django_assert_max_num_queries
):
    client = tipster_client()
    body = tip_body(tips_agency) | {"altcha": solved(client)}
    # One SELECT (category + agency + settings), the tip, the grant and two audit rows (one
    # call each: lock, head and insert); the rest are the nested blocks' savepoints.
    with django_assert_max_num_queries(17) as captured:
        response = client.post("/api/tips/", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    selects = [q["sql"] for q in captured.captured_queries if q["sql"].startswith('SELECT "')]
    # The lookup only: each audit row is one call that reads the chain's head itself.
    assert len(selects) == 1, selects
    assert "jurisdiction" not in selects[0]


def test_an_oversized_body_gets_a_clear_413_and_keeps_nothing(tips_agency, settings, caplog):
    client = tipster_client()
    body = tip_body(tips_agency, description="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1))
    response = client.post("/api/tips/", json.dumps(body), content_type="application/json")

    assert response.status_code == 413
    assert response.json()["detail"].startswith("This request is too large.")
    assert not Tip.objects.exists()
    assert "RequestDataTooBig" not in caplog.text


def test_returning_with_a_receipt_never_loads_the_agencys_boundary(tips_agency):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = tipster_client()
    receipt = send_tip(client, tips_agency).json()["receipt"]
    with CaptureQueriesContext(connection) as api:
        assert _mine(client, receipt).status_code == 200
    with CaptureQueriesContext(connection) as page:
        assert client.post("/tips/return/", {"receipt": receipt}).status_code == 302
        assert client.get("/tips/return/tip/").status_code == 200
    sql = [q["sql"] for q in api.captured_queries + page.captured_queries]
    assert any('"portal_agency"' in q for q in sql)
    assert not [q for q in sql if "jurisdiction" in q]
