"""Audit details whose JSON text PostgreSQL's jsonb gives back differently (issue 14).

jsonb keeps numbers as exact decimals and prints them without an exponent or a sign on zero,
so -0.0 came back as 0.0 and 1e21 as 1000000000000000000000: the verifier, rebuilding the
hashed bytes from what jsonb returns, found those rows "altered". Details are now put in the
form jsonb keeps before they are hashed; ordinary details hash exactly as before.
"""

import datetime as dt
import json
import math

import pytest
from django.db import connection

from portal import audit_actions as actions
from portal.audit import AuditError, audit_record, canonical_details, compute_hash, verify_chain
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def _record(details):
    return audit_record(action=actions.LOGOUT.name, actor_label="system", details=details)


def _jsonb_round_trip(value):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb::text", [json.dumps(value)])
        return json.loads(cursor.fetchone()[0])


AWKWARD = {
    "negative zero": -0.0,
    "1e21": 1e21,
    "1e16": 1e16,
    "big float": 1.7976931348623157e308,
    "negative big": -2.5e22,
    "small": 1.5e-07,
    "tiniest": 5e-324,
    "negative small": -1e-300,
    "beyond 2^53": 2**53 + 1,
    "huge int": 12345678901234567890123456789,
    "negative huge int": -(2**70),
    "ordinary float": 0.1,
    "whole float": 100.0,
    "nested": {"list": [-0.0, 1e21, {"deeper": [2e300, -0.0]}], "ok": 1},
    "unicode": 'é 漢字 😀 \u2028 \u2029 \x01 \x1f \x7f quote " backslash \\',
    "key order": {"b": 1, "aa": 2, "a": 3, "B": 4, "é": 5, "z": 6, "10": 7, "9": 8},
}


@pytest.mark.parametrize("name", sorted(AWKWARD))
def test_a_row_with_awkward_numbers_or_text_verifies(name):
    _record({"before": 1})
    event = _record({"value": AWKWARD[name]})
    _record({"after": 1})
    report = verify_chain()
    assert report.ok, (name, report.problem)
    assert report.count == 3
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.details == event.details  # what was hashed is what jsonb holds
    assert compute_hash(stored, stored.prev_hash) == event.hash


def test_all_awkward_values_in_one_row_verify_and_keep_their_values():
    event = _record(AWKWARD)
    assert verify_chain().ok
    details = AuditEvent.objects.get(pk=event.pk).details
    assert details["1e21"] == 10**21 and details["1e16"] == 10**16
    assert details["negative zero"] == 0.0 and math.copysign(1, details["negative zero"]) == 1
    assert details["small"] == 1.5e-07 and details["tiniest"] == 5e-324
    assert details["beyond 2^53"] == 2**53 + 1
    assert details["huge int"] == 12345678901234567890123456789
    assert details["nested"]["list"][2]["deeper"][0] == 2 * 10**300
    assert details["unicode"] == AWKWARD["unicode"]


@pytest.mark.parametrize(
    "value",
    [-0.0, 1e21, 1e22, 1.2345678901234567e25, -9.87e100, 1e-5, 1.5e-07, 5e-324, 2.0**60, 0.5],
)
def test_canonical_details_are_what_jsonb_gives_back(value):
    clean = canonical_details({"v": value, "l": [value]})
    assert _jsonb_round_trip(clean) == clean
    dumped = json.dumps(clean, sort_keys=True)
    assert json.dumps(_jsonb_round_trip(clean), sort_keys=True) == dumped
    assert canonical_details(clean) == clean  # idempotent


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, [1, {"x": math.nan}]])
def test_nan_and_infinity_are_refused(value):
    with pytest.raises(AuditError, match="NaN or Infinity"):
        _record({"value": value})
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize("value", ["nul \x00 inside", {"key \x00": 1}, "lone \ud800 surrogate"])
def test_text_jsonb_cannot_hold_is_refused(value):
    with pytest.raises(AuditError, match="cannot hold"):
        _record({"value": value})
    assert AuditEvent.objects.count() == 0


def test_an_ordinary_event_hashes_exactly_as_before():
    """Pinned: the hash main gave this event before details were canonicalised."""
    event = AuditEvent(
        seq=42,
        at=dt.datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=dt.UTC),
        actor_id=7,
        actor_label="Det. A. Example",
        actor_role="investigator",
        actor_agency="Riverton PD",
        agency_id=3,
        action="evidence.viewed",
        target_type="evidence.evidenceitem",
        target_id="00000000-0000-4000-8000-000000000042",
        reason="Case review",
        case_ref="2026-0042",
        request_id="0f3c2a9e8b7d4c1a",
        outcome="success",
        details=canonical_details(
            {
                "via": "page",
                "rows": 3,
                "share": 0.25,
                "tags": ["a", "é"],
                "nested": {"z": None, "a": True},
            }
        ),
    )
    assert (
        compute_hash(event, "ab" * 32)
        == "d8a3ba6a162d1e64f5a1c1fc6364049fa366296e48fb64d2a79e7014c2363a49"
    )


def test_ordinary_details_are_left_as_they_were():
    details = {"via": "page", "n": 3, "f": 0.1, "w": 2.0, "x": None, "l": [True, "s", -7, 1e-07]}
    assert canonical_details(details) == details
    assert json.dumps(canonical_details(details), sort_keys=True) == json.dumps(
        details, sort_keys=True
    )
