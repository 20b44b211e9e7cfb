"""Force scale (issue 17): every staff page a user opens daily, warm, over a large force's year.

Seeds, by COPY into its own database (canvass_bench_scale; never the test or demo ones), at
`--scale` times the issue's sizes (1.0 = 1,000,000 evidence items with two derivatives each,
10,000,000 audit events, 100,000 cases, 200,000 tips, 1,000,000 cameras, 50,000 footage requests
with one recipient each). One case always holds 200 items, whatever the scale. The audit chain
is synthetic (md5 stand-ins for the hashes; the pages read it, nobody verifies it here) and ends
where the pages' own audit rows append to it. A database already seeded at that scale is reused
(a marker table says which scale it holds); another scale is seeded afresh.

Then each page is fetched through Django's whole stack in-process (test client, a signed-in
staff user with a verified second factor): once to warm, then `--repeats` times; p50, p95 and
the query count of one request. One JSON line per page, with the 200 ms goal and the ratio
p95 / goal, then one line for the seeding.

    .venv/bin/python bench/scale.py --scale 0.01 --repeats 30
"""

import argparse
import datetime as dt
import io
import json
import math
import os
import random
import statistics
import time
import uuid

import harness

DB_NAME = "canvass_bench_scale"
# The pages are fetched with Django's test client, whose host is "testserver".
harness.django_setup(DB_NAME, ALLOWED_HOSTS="testserver")

from django.contrib.gis.geos import MultiPolygon, Polygon  # noqa: E402
from django.db import DatabaseError, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from portal.models import Agency, User  # noqa: E402
from portal.roles import AgencyKind, Role  # noqa: E402

GOAL_MS = 200.0
FULL = {
    "items": 1_000_000,
    "audit_events": 10_000_000,
    "cases": 100_000,
    "tips": 200_000,
    "cameras": 1_000_000,
    "footage_requests": 50_000,
}
BIG_CASE_ITEMS = 200
RNG = random.Random(2026)  # noqa: S311 - repeatable synthetic data
HOME = (40.7128, -74.0060)  # lat, lon
JURISDICTION = (HOME[1] - 0.15, HOME[0] - 0.12, HOME[1] + 0.15, HOME[0] + 0.12)
MERC = 20037508.342789244
YEAR_S = 365 * 86400
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
ITEM = "evidence.evidenceitem"
CUSTODY_ACTIONS = ["evidence.viewed", "evidence.downloaded", "evidence.metadata_viewed"]
OTHER_ACTIONS = [
    "registry.camera_search",
    "share.created",
    "evidence.legal_hold_set",
    "tip.transitioned",
    "case.viewed",
    "auth.login",
]


def uid(kind: int, i: int) -> str:
    """A repeatable UUID per (kind, row), so rows can name each other without a lookup."""
    return str(uuid.UUID(int=(kind << 96) | i, version=4))


def at(i: int, n: int) -> str:
    """The i-th of n moments spread over the year before NOW, oldest first."""
    return (NOW - dt.timedelta(seconds=YEAR_S * (n - i) / max(n, 1))).isoformat()


# --- seeding --------------------------------------------------------------------------------


def _fillers(cursor, table: str, given: list[str]) -> tuple[list[str], list[str]]:
    """The table's NOT NULL columns without a default that `given` leaves out, with a neutral
    value for each (empty text, 0, false, {} or [], now): the rows stay valid as the models
    grow columns."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL"
        " AND is_identity = 'NO'",
        [table],
    )
    names, values = [], []
    for name, kind in cursor.fetchall():
        if name in given:
            continue
        names.append(name)
        if kind in ("character varying", "text"):
            values.append("")
        elif kind in ("integer", "bigint", "smallint", "numeric", "double precision"):
            values.append("0")
        elif kind == "boolean":
            values.append("f")
        elif kind == "jsonb":
            values.append("{}")
        elif kind.startswith("timestamp"):
            values.append(NOW.isoformat())
        else:
            raise RuntimeError(f"{table}.{name} ({kind}) needs a value in the seeder")
    return names, values


# A seed drops the big tables' secondary indexes while it COPYs (without_indexes) and skips
# the foreign-key checks of its COPYs (its rows name rows it made; session_replication_role
# turns off the checks' triggers, a superuser's setting). BENCH_SCALE_PLAIN_SEED=1 seeds the
# plain way, to compare.
FAST_SEED = not os.environ.get("BENCH_SCALE_PLAIN_SEED")


def copy(table: str, columns: list[str], rows) -> int:
    """COPY the rows (tuples of already-formatted text, \\N for NULL) into the table."""
    count = 0
    with connection.cursor() as cursor:
        unchecked = False
        if FAST_SEED:
            try:
                cursor.execute("SET session_replication_role = replica")
                unchecked = True
            except DatabaseError:  # not a superuser: the checks run, only slower
                pass
        try:
            count = _copy(cursor, table, columns, rows)
        finally:
            if unchecked:
                cursor.execute("SET session_replication_role = DEFAULT")
    return count


def _copy(cursor, table: str, columns: list[str], rows) -> int:
    count = 0
    extra_names, extra_values = _fillers(cursor, table, columns)
    tail = ("\t" + "\t".join(extra_values)) if extra_names else ""
    names = ", ".join(columns + extra_names)
    with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as out:  # noqa: S608
        buf = io.StringIO()
        for row in rows:
            buf.write("\t".join(row) + tail + "\n")
            count += 1
            if count % 50_000 == 0:
                out.write(buf.getvalue())
                buf = io.StringIO()
        out.write(buf.getvalue())
    return count


def restore_indexes() -> int:
    """Create again every index a seed dropped and did not get to make again (it was cut
    short); returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_scale_dropped_index"
            " (name text PRIMARY KEY, definition text NOT NULL)"
        )
        cursor.execute("SELECT name, definition FROM bench_scale_dropped_index ORDER BY name")
        dropped = cursor.fetchall()
        for name, definition in dropped:
            cursor.execute("SELECT to_regclass(%s)", [f"public.{name}"])
            if cursor.fetchone()[0] is None:
                cursor.execute(definition)
            cursor.execute("DELETE FROM bench_scale_dropped_index WHERE name = %s", [name])
    return len(dropped)


def without_indexes(tables: list[str], fill) -> None:
    """Run `fill` (the COPYs into these tables, empty now) with the tables' secondary indexes
    dropped, then create each again from its own definition as pg_indexes gives it: one sort
    an index instead of an insertion a row. Indexes that back a constraint (the primary key,
    a unique constraint) stay, so no foreign key needs to let go. The definitions are kept in
    a table until made again: a seed cut short restores them on its next run."""
    restore_indexes()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT x.indexname, x.indexdef FROM pg_indexes x"
            " JOIN pg_class c ON c.relname = x.indexname AND c.relkind = 'i'"
            " JOIN pg_namespace s ON s.oid = c.relnamespace AND s.nspname = x.schemaname"
            " WHERE x.schemaname = 'public' AND x.tablename = ANY(%s)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid"
            " AND k.contype IN ('p', 'u', 'x'))"
            " ORDER BY x.indexname",
            [tables],
        )
        indexes = cursor.fetchall()
        for name, definition in indexes:
            cursor.execute(
                "INSERT INTO bench_scale_dropped_index VALUES (%s, %s)", [name, definition]
            )
            cursor.execute(f'DROP INDEX "{name}"')  # noqa: S608 - names from pg_indexes
    fill()
    restore_indexes()


def sizes(scale: float) -> dict[str, int]:
    found = {k: max(1, int(v * scale)) for k, v in FULL.items()}
    found["items"] = max(found["items"], BIG_CASE_ITEMS + 10)
    found["cases"] = max(found["cases"], 2)
    return found


def people():
    """The agency, its staff (a supervisor, an auditor), a camera owner."""
    w, s, e, n = JURISDICTION
    agency, _ = Agency.objects.get_or_create(
        slug="scale-pd",
        defaults={
            "name": "Scale PD",
            "kind": AgencyKind.POLICE,
            "jurisdiction": MultiPolygon(Polygon.from_bbox((w, s, e, n)), srid=4326),
            "time_zone": "America/New_York",
        },
    )

    def user(email, role, agency=agency, name="Bench"):
        return User.objects.filter(email=email).first() or User.objects.create_user(
            email, None, full_name=name, role=role, agency=agency
        )

    supervisor = user("supervisor@scale.example", Role.SUPERVISOR, name="Sgt. Scale")
    auditor = user("auditor@scale.example", Role.AUDITOR, name="Auditor Scale")
    owner = user("owner@scale.example", Role.BUSINESS, agency=None, name="Shop owner")
    return agency, supervisor, auditor, owner


def seeded_scale() -> float | None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_scale_seeded (scale float8 NOT NULL)")
        cursor.execute("SELECT scale FROM bench_scale_seeded")
        row = cursor.fetchone()
    return row[0] if row else None


def wipe() -> None:
    seeded_scale()  # the marker table exists (a first --reseed)
    devices_seeded_scale()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM bench_scale_seeded")
        # The recordings name items: the body cameras are seeded again after the rest.
        cursor.execute("DELETE FROM bench_scale_devices_seeded")
        # The audit table refuses UPDATE and DELETE (its trigger), not TRUNCATE.
        cursor.execute(
            "TRUNCATE portal_auditevent, evidence_auditleaf, transparency_monthlyfigure,"
            " evidence_caseitem, evidence_casemember, evidence_case, evidence_derivative,"
            " evidence_evidenceitem, submissions_tip, registry_footagerequestrecipient,"
            " registry_footagerequest, registry_camera CASCADE"
        )


def seed(scale: float, agency, supervisor, auditor, owner) -> dict[str, float]:
    """Seed every table at `scale`; returns the seconds each took."""
    n = sizes(scale)
    timings: dict[str, float] = {}
    wipe()

    def timed(name, fn):
        started = time.perf_counter()
        fn()
        timings[name] = round(time.perf_counter() - started, 1)

    a, sup = str(agency.pk), str(supervisor.pk)
    label = supervisor.label

    def items():
        kinds = ["video", "image", "audio"]
        copy(
            "evidence_evidenceitem",
            ["id", "agency_id", "source", "original_key", "original_filename", "size", "sha256",
             "media_type", "media_kind", "state", "capture_time", "capture_time_source",
             "capture_time_confidence", "location", "location_source", "metadata",
             "provenance_details", "provenance_status", "uploaded_by_id", "uploaded_by_label",
             "received_at", "created_at", "updated_at"],
            (
                (uid(1, i), a, "staff_upload", f"originals/scale/{i}", f"clip-{i}.mp4",
                 str(1_000_000 + i), f"{i:064x}", "video/mp4", kinds[i % 3], "ready",
                 at(i, n["items"]), "file_metadata", "high",
                 f"SRID=4326;POINT({HOME[1] + RNG.uniform(-0.1, 0.1):.6f}"
                 f" {HOME[0] + RNG.uniform(-0.1, 0.1):.6f})",
                 "file_metadata", "{}", "{}", "none", sup, label, at(i, n["items"]),
                 at(i, n["items"]), at(i, n["items"]))
                for i in range(n["items"])
            ),
        )  # fmt: skip
        copy(
            "evidence_derivative",
            ["id", "item_id", "kind", "name", "key", "size", "sha256", "media_type", "command",
             "tool_versions", "created_at"],
            (
                (uid(2, 2 * i + j), uid(1, i), kind, name, f"derivatives/scale/{i}/{name}",
                 "50000", f"{i:064x}", mt, "[]", "{}", at(i, n["items"]))
                for i in range(n["items"])
                for j, (kind, name, mt) in enumerate(
                    [("poster", "poster.jpg", "image/jpeg"), ("proxy_mp4", "proxy.mp4", "video/mp4")]
                )
            ),
        )  # fmt: skip

    def cases():
        nc = n["cases"]
        copy(
            "evidence_case",
            ["id", "agency_id", "number", "title", "status", "lead_id", "created_by_label",
             "last_exhibit_number", "created_at", "updated_at"],
            ((uid(3, c), a, f"2026-{c:06d}", f"Case {c}", "open" if c % 4 else "closed", sup,
              label, "0", at(c, nc), at(c, nc)) for c in range(nc)),
        )  # fmt: skip

        # Case 0 holds items 0..199; the others share the rest round-robin.
        def links():
            for i in range(n["items"]):
                if i < BIG_CASE_ITEMS:
                    yield (uid(3, 0), uid(1, i), str(i + 1), label, at(i, n["items"]))
                elif nc > 1:
                    c = 1 + (i - BIG_CASE_ITEMS) % (nc - 1)
                    exhibit = 1 + (i - BIG_CASE_ITEMS) // (nc - 1)
                    yield (uid(3, c), uid(1, i), str(exhibit), label, at(i, n["items"]))

        copy(
            "evidence_caseitem",
            ["case_id", "item_id", "exhibit_number", "added_by_label", "added_at"],
            links(),
        )
        copy(
            "evidence_casemember",
            ["case_id", "user_id", "added_by_label", "added_at"],
            ((uid(3, c), sup, label, at(c, nc)) for c in range(nc)),
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE evidence_case c SET last_exhibit_number = m.top FROM (SELECT case_id,"
                " max(exhibit_number) AS top FROM evidence_caseitem GROUP BY case_id) m"
                " WHERE m.case_id = c.id"
            )

    def audit():
        ne = n["audit_events"]
        ni = n["items"]
        start = 1
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(seq), 0) FROM portal_auditevent")
            start = cursor.fetchone()[0] + 1

        def rows():
            for k in range(ne):
                seq = start + k
                # Four in five events are an item's custody; the rest, the agency's other work.
                if k % 5:
                    action = CUSTODY_ACTIONS[k % 3]
                    target_type, target_id = ITEM, uid(1, k % ni)
                else:
                    action = OTHER_ACTIONS[(k // 5) % len(OTHER_ACTIONS)]
                    target_type, target_id = "bench", str(k)
                yield (str(seq), at(k, ne), sup, label, "supervisor", "Scale PD", a, action,
                       target_type, target_id, "", "", "", "success", "{}",
                       f"{seq - 1:064x}", f"{seq:064x}")  # fmt: skip

        copy(
            "portal_auditevent",
            ["seq", "at", "actor_id", "actor_label", "actor_role", "actor_agency", "agency_id",
             "action", "target_type", "target_id", "reason", "case_ref", "request_id", "outcome",
             "details", "prev_hash", "hash"],
            rows(),
        )  # fmt: skip

    def tips():
        from submissions.models import TipCategory

        category, _ = TipCategory.objects.get_or_create(
            agency=agency, slug="general", defaults={"name": "General"}
        )
        nt = n["tips"]
        statuses = ["new", "new", "in_review", "actionable", "closed"]
        copy(
            "submissions_tip",
            ["id", "reference", "agency_id", "category_id", "description", "occurred_at",
             "address", "contact", "receipt_hash", "receipt_style", "status", "priority",
             "received_at", "updated_at"],
            ((uid(4, t), f"S{t:010d}", a, str(category.pk), f"Tip number {t} about a car.",
              at(t, nt), "1 Main St", "", f"scale-{t}", "reference", statuses[t % 5], "2",
              at(t, nt), at(t, nt)) for t in range(nt)),
        )  # fmt: skip

    def footage():
        nf = n["footage_requests"]
        copy(
            "registry_footagerequest",
            ["id", "agency_id", "requested_by_id", "case_number", "reason", "window_start",
             "window_end", "deadline", "max_file_bytes", "status", "sent_at", "created_at"],
            ((uid(5, f), a, sup, f"2026-{f % max(n['cases'], 1):06d}", "Robbery nearby",
              at(f, nf), (dt.datetime.fromisoformat(at(f, nf)) + dt.timedelta(hours=1)).isoformat(),
              (dt.datetime.fromisoformat(at(f, nf)) + dt.timedelta(days=7)).isoformat(),
              str(2 << 30), "sent", at(f, nf), at(f, nf)) for f in range(nf)),
        )  # fmt: skip
        copy(
            "registry_footagerequestrecipient",
            ["request_id", "owner_id", "email_status"],
            ((uid(5, f), str(owner.pk), "sent") for f in range(nf)),
        )

    def cameras():
        from registry import services as registry_services

        nc = n["cameras"]

        def fill():
            copy(
                "registry_camera",
                ["id", "owner_id", "kind", "name", "location", "location_merc", "fov", "direction_deg",
                 "fov_angle_deg", "range_m", "retention_days", "records_always", "placement",
                 "participation", "is_public", "contact_method", "time_zone", "jurisdiction_ids",
                 "created_at", "updated_at"],
                _camera_rows(nc, str(owner.pk), a),
            )  # fmt: skip

        # The cells are counted with the camera indexes made again.
        if fast:
            without_indexes(["registry_camera"], fill)
        else:
            fill()
        registry_services.cells_rebuild()

    # Each part COPYs into its empty tables with their secondary indexes dropped, made again
    # before the next part (cells_rebuild and the backfill read them).
    fast = FAST_SEED
    parts = [
        ("items_s", items, ["evidence_evidenceitem", "evidence_derivative"]),
        ("cases_s", cases, ["evidence_case", "evidence_caseitem", "evidence_casemember"]),
        ("audit_s", audit, ["portal_auditevent"]),
        ("tips_s", tips, ["submissions_tip"]),
        ("footage_requests_s", footage, []),
        ("cameras_s", cameras, []),
    ]
    for name, fill, tables in parts:
        timed(name, (lambda f=fill, ts=tables: without_indexes(ts, f)) if fast and tables else fill)

    def analyse():
        with connection.cursor() as cursor:
            # As autovacuum leaves a table at rest: statistics, and the visibility map that lets
            # a count read only the index.
            cursor.execute("VACUUM ANALYZE")

    timed("vacuum_analyze_s", analyse)

    def figures():
        from transparency.services import figures_backfill

        figures_backfill(agency=agency)

    timed("transparency_backfill_s", figures)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_scale_seeded VALUES (%s)", [scale])
    return timings


def _camera_rows(count: int, owner: str, agency: str):
    w, s, e, n = JURISDICTION
    kinds = ["doorbell", "fixed", "ptz", "other"]
    parts = ["location_only", "contact_me", "upload_on_request", "live_feed_linkable"]
    for i in range(count):
        # Half in the jurisdiction, half spread along the coast.
        if i % 2:
            lat, lon = RNG.uniform(s, n), RNG.uniform(w, e)
        else:
            lat, lon = RNG.uniform(36.0, 44.0), RNG.uniform(-80.0, -71.0)
        # Web Mercator by its formula (a GDAL transform a row is slower than the rest together).
        mx = lon * MERC / 180
        my = math.log(math.tan(math.radians(90 + lat) / 2)) * MERC / math.pi
        inside = w <= lon <= e and s <= lat <= n
        # The field of view as a triangle about its range (the app draws an arc; a triangle is
        # as valid a polygon and cheaper to make here).
        d = 0.0003
        fov = (
            f"SRID=4326;POLYGON(({lon:.6f} {lat:.6f},{lon + d:.6f} {lat + d:.6f},"
            f"{lon - d:.6f} {lat + d:.6f},{lon:.6f} {lat:.6f}))"
        )
        yield (uid(6, i), owner, kinds[i % 4], f"Camera {i}", f"SRID=4326;POINT({lon:.6f} {lat:.6f})",
               f"SRID=3857;POINT({mx:.2f} {my:.2f})", fov, str(RNG.randrange(360)),
               str(RNG.choice((60, 90, 110))), str(RNG.choice((10, 25, 40))), "30", "t", "outdoor",
               parts[i % 4], "t" if i % 5 < 2 else "f", "email", "America/New_York",
               "{" + agency + "}" if inside else "{}", NOW.isoformat(), NOW.isoformat())  # fmt: skip


# --- body cameras (seeded apart: a database holding the rest at this scale gets only these) ---

DEVICES_FULL = 5_000
RECORDINGS_PER_DEVICE = 100  # a year's: about two a shift-week
TRACK_POINTS_PER_RECORDING = 10  # sparse: one fix a minute or two
TRIGGERS_PER_DEVICE = 2  # a year's alerts (TASER armed, holster drawn, ...), nearly all closed
OPEN_ALERTS = 20  # raised in the last hours, shown on the operations page (made live each run)
COMMAND_EVERY = 10  # one recording in ten was started by a CAD dispatch command
WEEK_S = 7 * 86400
YEAR_START = NOW - dt.timedelta(seconds=YEAR_S)
DEVICE_TABLES = (
    "devices_trackpoint, devices_devicecommand, devices_alert, devices_trigger,"
    " devices_recording, devices_deviceassignment, devices_devicecredential,"
    " devices_trainingrecord, devices_device"
)
OFFICER_EMAIL = "officer-%s@scale.example"


def device_sizes(scale: float, n: dict[str, int]) -> dict[str, int]:
    """5,000 devices a full scale (one officer each), a year of recordings each (as many as
    there are items left outside the 200-item case, at most), ten GPS fixes a recording."""
    devices = max(3, int(DEVICES_FULL * scale))
    recordings = min(devices * RECORDINGS_PER_DEVICE, n["items"] - BIG_CASE_ITEMS)
    return {
        "devices": devices,
        "officers": devices,
        "assignments": devices * (int(YEAR_S // WEEK_S) + 1),
        "recordings": recordings,
        "track_points": recordings * TRACK_POINTS_PER_RECORDING,
        "triggers": devices * TRIGGERS_PER_DEVICE,
    }


def devices_seeded_scale() -> float | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_scale_devices_seeded (scale float8 NOT NULL)"
        )
        cursor.execute("SELECT scale FROM bench_scale_devices_seeded")
        row = cursor.fetchone()
    return row[0] if row else None


def recordings_present() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM devices_recording)")
        return bool(cursor.fetchone()[0])


def recording_item(r: int, n: dict[str, int], nd: dict[str, int]) -> int:
    """The item recording r offloaded to: spread over the year's items (so its time is the
    item's), never one of the 200-item case's."""
    span = n["items"] - BIG_CASE_ITEMS
    return BIG_CASE_ITEMS + r * span // nd["recordings"]


def week_of(when: dt.datetime) -> int:
    return int((when - YEAR_START).total_seconds() // WEEK_S)


def officer_index(device: int, week: int, officers: int) -> int:
    """Who wore device d in week k: officers rotate a device a week; in any week no officer
    holds two devices (d -> d + k is one-to-one)."""
    return (device + week) % officers


def device_docked(device: int) -> bool:
    """One device in three is on its dock now (last week's assignment checked in)."""
    return device % 3 == 0


def seed_devices(scale: float, agency, supervisor) -> dict[str, float]:
    """Seed the body cameras at `scale` (wiping any earlier ones); returns the seconds each took."""
    n = sizes(scale)
    nd = device_sizes(scale, n)
    timings: dict[str, float] = {}
    a, sup = str(agency.pk), str(supervisor.pk)
    with connection.cursor() as cursor:
        devices_seeded_scale()  # the marker table exists
        cursor.execute("DELETE FROM bench_scale_devices_seeded")
        cursor.execute(f"TRUNCATE {DEVICE_TABLES} CASCADE")  # noqa: S608
        cursor.execute("DELETE FROM portal_user WHERE email LIKE %s", [OFFICER_EMAIL % "%"])

    def timed(name, fn):
        started = time.perf_counter()
        fn()
        timings[name] = round(time.perf_counter() - started, 1)

    officers: list[str] = []
    rng = random.Random(17)  # noqa: S311 - repeatable, and apart from RNG (the rest's data)

    def people():
        copy(
            "portal_user",
            ["password", "is_superuser", "is_staff", "is_active", "date_joined", "email",
             "full_name", "role", "disabled_reason", "agency_id"],
            (("!", "f", "f", "t", YEAR_START.isoformat(), OFFICER_EMAIL % f"{k:06d}",
              f"Officer {k:06d}", Role.OFFICER.value, "", a) for k in range(nd["officers"])),
        )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM portal_user WHERE email LIKE %s ORDER BY email",
                [OFFICER_EMAIL % "%"],
            )
            officers.extend(str(row[0]) for row in cursor.fetchall())
        today = NOW.date()
        copy(
            "devices_trainingrecord",
            ["agency_id", "officer_id", "course", "completed_on", "expires_on", "recorded_by_id",
             "recorded_at"],
            ((a, o, "Body-worn camera operation", str(today - dt.timedelta(days=200)),
              # One officer in twenty lets it lapse.
              str(today - dt.timedelta(days=10) if k % 20 == 0 else today + dt.timedelta(days=165)),
              sup, YEAR_START.isoformat()) for k, o in enumerate(officers)),
        )  # fmt: skip

    def devices():
        count = nd["devices"]
        copy(
            "devices_device",
            ["id", "agency_id", "serial", "make", "model", "firmware", "status", "state",
             "battery_percent", "storage_free_bytes", "last_heartbeat_at", "created_at"],
            ((uid(7, d), a, f"BWC{d:06d}", "Axon", "Body 4", "1.24.3",
              "in_repair" if d % 50 == 49 else "in_service", "idle", str(40 + d % 60),
              str(64 << 30), NOW.isoformat(), YEAR_START.isoformat()) for d in range(count)),
        )  # fmt: skip
        copy(
            "devices_devicecredential",
            ["device_id", "token_hash", "stream_key_hash", "created_at", "created_by_id"],
            ((uid(7, d), f"{d:064x}", f"{d + (1 << 40):064x}", YEAR_START.isoformat(), sup)
             for d in range(count)),
        )  # fmt: skip
        last = week_of(NOW)

        def assignments():
            for d in range(count):
                for k in range(last + 1):
                    out = YEAR_START + dt.timedelta(seconds=k * WEEK_S)
                    back = out + dt.timedelta(seconds=WEEK_S - 60)
                    still_out = k == last and not device_docked(d)
                    yield (uid(7, d), officers[officer_index(d, k, len(officers))],
                           out.isoformat(), sup, r"\N" if still_out else back.isoformat(),
                           r"\N" if still_out else sup, f"U{d:05d}")  # fmt: skip

        copy(
            "devices_deviceassignment",
            [
                "device_id",
                "officer_id",
                "checked_out_at",
                "checked_out_by_id",
                "checked_in_at",
                "checked_in_by_id",
                "unit",
            ],
            assignments(),
        )

    def recordings():
        nr, ni, count = nd["recordings"], n["items"], nd["devices"]

        def fixes(r: int, started: dt.datetime, stopped: dt.datetime):
            lat = HOME[0] + rng.uniform(-0.1, 0.1)
            lon = HOME[1] + rng.uniform(-0.1, 0.1)
            step = (stopped - started) / (TRACK_POINTS_PER_RECORDING - 1)
            for j in range(TRACK_POINTS_PER_RECORDING):
                yield started + step * j, lat + j * 0.0002, lon + j * 0.0003

        def rows():
            for r in range(nr):
                i = recording_item(r, n, nd)
                d = r % count
                started = dt.datetime.fromisoformat(at(i, ni))
                stopped = started + dt.timedelta(seconds=300 + (r * 37) % 900)
                lat, lon = (
                    HOME[0] + ((r * 7919) % 2000 - 1000) / 10_000,
                    HOME[1] + ((r * 104729) % 3000 - 1500) / 10_000,
                )
                officer = officers[officer_index(d, week_of(started), len(officers))]
                incident = f"I26-{r // 3:07d}" if r % 3 != 2 else ""  # a dispatch, two cameras
                yield (uid(8, r), a, uid(7, d), f"rec-{r:08d}", officer, started.isoformat(),
                       stopped.isoformat(), "30", "f",
                       "cad_dispatch" if r % COMMAND_EVERY == 0 else "button",
                       started.isoformat(), f"SRID=4326;POINT({lon:.6f} {lat:.6f})", "button",
                       stopped.isoformat(), f"SRID=4326;POINT({lon:.6f} {lat:.6f})", "[]",
                       f"{i:064x}", "{}", incident, "{}", "complete", uid(1, i), "f",
                       stopped.isoformat())  # fmt: skip

        copy(
            "devices_recording",
            ["id", "agency_id", "device_id", "device_recording_id", "officer_id", "started_at",
             "stopped_at", "pre_event_seconds", "pre_event_audio", "trigger_on_source",
             "trigger_on_at", "trigger_on_location", "trigger_off_source", "trigger_off_at",
             "trigger_off_location", "bookmarks", "device_sha256", "device_clock", "cad_event_id",
             "manifest", "status", "item_id", "hash_mismatch", "created_at"],
            rows(),
        )  # fmt: skip

        def points():
            for r in range(nr):
                i = recording_item(r, n, nd)
                started = dt.datetime.fromisoformat(at(i, ni))
                stopped = started + dt.timedelta(seconds=300 + (r * 37) % 900)
                for t, lat, lon in fixes(r, started, stopped):
                    yield (uid(8, r), t.isoformat(), f"SRID=4326;POINT({lon:.6f} {lat:.6f})", "8")

        copy("devices_trackpoint", ["recording_id", "t", "point", "accuracy_m"], points())

        def commands():
            for r in range(0, nr, COMMAND_EVERY):
                started = dt.datetime.fromisoformat(at(recording_item(r, n, nd), ni))
                yield (uid(11, r), uid(7, r % count), "start_recording", "CAD dispatch",
                       "started", (started - dt.timedelta(seconds=30)).isoformat(),
                       (started - dt.timedelta(seconds=25)).isoformat(),
                       (started - dt.timedelta(seconds=20)).isoformat())  # fmt: skip

        copy(
            "devices_devicecommand",
            [
                "id",
                "device_id",
                "kind",
                "reason",
                "outcome",
                "created_at",
                "delivered_at",
                "acknowledged_at",
            ],
            commands(),
        )

    def alerts():
        nt, count = nd["triggers"], nd["devices"]
        kinds = ["taser_armed", "holster_draw", "light_bar", "gunshot", "sos", "watch_me"]
        high = {"taser_armed", "gunshot", "sos", "watch_me"}

        def each():
            for t in range(nt):
                d = t % count
                when = dt.datetime.fromisoformat(at(t, nt))
                officer = officers[officer_index(d, week_of(when), len(officers))]
                where = (
                    f"SRID=4326;POINT({HOME[1] + rng.uniform(-0.1, 0.1):.6f}"
                    f" {HOME[0] + rng.uniform(-0.1, 0.1):.6f})"
                )
                yield t, d, when, officer, where, kinds[t % len(kinds)]

        rows = list(each())
        copy(
            "devices_trigger",
            ["id", "agency_id", "kind", "device_id", "officer_id", "unit", "occurred_at",
             "received_at", "location", "external_id", "payload"],
            ((uid(9, t), a, kind, uid(7, d), officer, f"U{d:05d}", when.isoformat(),
              when.isoformat(), where, "", "{}") for t, d, when, officer, where, kind in rows),
        )  # fmt: skip
        copy(
            "devices_alert",
            ["id", "agency_id", "trigger_id", "kind", "priority", "device_id", "officer_id",
             "location", "raised_at", "expires_at", "state", "closed_at", "closed_by_id",
             "reason"],
            ((uid(10, t), a, uid(9, t), kind, "high" if kind in high else "general", uid(7, d),
              officer, where, when.isoformat(), (when + dt.timedelta(hours=4)).isoformat(),
              *(("open", r"\N", r"\N", "") if t >= nt - OPEN_ALERTS else
                ("resolved", (when + dt.timedelta(minutes=10)).isoformat(), sup, "Checked."))
              ) for t, d, when, officer, where, kind in rows),
        )  # fmt: skip

    fast = FAST_SEED
    parts = [
        ("officers_s", people, ["devices_trainingrecord"]),
        ("devices_s", devices, ["devices_deviceassignment", "devices_devicecredential"]),
        ("recordings_s", recordings, ["devices_recording", "devices_trackpoint"]),
        ("alerts_s", alerts, ["devices_trigger", "devices_alert"]),
    ]
    for name, fill, tables in parts:
        timed(name, (lambda f=fill, ts=tables: without_indexes(ts, f)) if fast else fill)

    def analyse():
        with connection.cursor() as cursor:
            for table in DEVICE_TABLES.split(","):
                cursor.execute(f"VACUUM ANALYZE {table.strip()}")  # noqa: S608
            cursor.execute("VACUUM ANALYZE portal_user")

    timed("devices_vacuum_analyze_s", analyse)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_scale_devices_seeded VALUES (%s)", [scale])
    return timings


def devices_live(scale: float, n: dict[str, int]) -> None:
    """What is true only now, made so before each run: the open alerts raised in the last
    hours, and one in fifty checked-out cameras recording, heard from a moment ago."""
    nd = device_sizes(scale, n)
    nt = nd["triggers"]
    with connection.cursor() as cursor:
        for t in range(max(0, nt - OPEN_ALERTS), nt):
            cursor.execute(
                "UPDATE devices_alert SET raised_at = now() - make_interval(mins => %s),"
                " expires_at = now() - make_interval(mins => %s) + interval '4 hours'"
                " WHERE id = %s",
                [5 * (nt - 1 - t), 5 * (nt - 1 - t), uid(10, t)],
            )
        recording = [uid(7, d) for d in range(1, nd["devices"], 50) if not device_docked(d)]
        cursor.execute(
            "UPDATE devices_device SET state = 'idle', last_location = NULL,"
            " last_location_at = NULL WHERE state = 'recording'"
        )
        cursor.execute(
            "UPDATE devices_device SET state = 'recording', last_heartbeat_at = now(),"
            " last_location_at = now(), last_location = ST_SetSRID(ST_MakePoint(%s, %s),"
            " 4326)::geography WHERE id = ANY(%s::uuid[])",
            [HOME[1], HOME[0], recording],
        )


# --- timing ---------------------------------------------------------------------------------


def signed_in(user, device) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def pages(agency, n) -> list[tuple[str, str, str]]:
    """(name, who, url): every staff page and list/detail API opened daily."""
    big_case = uid(3, 0)
    item = uid(1, n["items"] // 2)
    w, s, e, nn = JURISDICTION
    bbox = f"{w},{s},{e},{nn}"
    day = (NOW - dt.timedelta(days=30)).date().isoformat()
    return [
        ("dashboard", "sup", "/staff/"),
        ("evidence_list", "sup", "/staff/evidence/"),
        ("evidence_list_filtered", "sup", "/staff/evidence/?media_kind=video&source=staff_upload"),
        ("evidence_list_search", "sup", "/staff/evidence/?q=clip-4242"),
        ("evidence_api_list", "sup", "/api/evidence/"),
        ("item_page", "sup", f"/staff/evidence/{item}/"),
        ("item_api", "sup", f"/api/evidence/{item}/"),
        ("case_list", "sup", "/staff/evidence/cases/"),
        ("case_page_200_items", "sup", f"/staff/evidence/cases/{big_case}/"),
        ("case_api", "sup", f"/api/evidence/cases/{big_case}/"),
        ("tips_inbox", "sup", "/staff/tips/"),
        ("tip_page", "sup", f"/staff/tips/S{n['tips'] // 2:010d}/"),
        ("footage_requests", "sup", "/staff/registry/requests/"),
        ("footage_request_page", "sup", f"/staff/registry/requests/{uid(5, n['footage_requests'] // 2)}/"),
        ("audit_log", "aud", "/staff/audit/"),
        ("audit_log_filtered", "aud", f"/staff/audit/?action=evidence.viewed&date_from={day}&date_to={day}"),
        ("audit_log_by_item", "aud", f"/staff/audit/?target_type={ITEM}&target_id={item}"),
        ("audit_export_filtered", "aud", f"/staff/audit/export.csv?date_from={day}&date_to={day}"),
        ("audit_api", "aud", "/api/audit-events/"),
        ("transparency", "anon", f"/transparency/{agency.slug}/"),
        ("agency_map", "sup", "/staff/registry/map/"),
        ("map_api_city", "sup", f"/api/registry/map/?bbox={bbox}&zoom=12"),
        ("public_map_api_city", "anon", f"/api/registry/public-map/?bbox={bbox}&zoom=12"),
        *device_pages(n),
    ]  # fmt: skip


def device_pages(n) -> list[tuple[str, str, str]]:
    """The body-camera pages a supervisor or dispatcher opens daily."""
    nd = n  # with device_sizes' counts (main adds them)
    out = nd["devices"] // 2 + (1 if device_docked(nd["devices"] // 2) else 0)
    docked = 0
    officer = User.objects.filter(email=OFFICER_EMAIL % f"{nd['officers'] // 2:06d}").first()
    officer_id = officer.pk if officer else 0
    recording = nd["recordings"] // 2
    item = uid(1, recording_item(recording, n, nd))
    incident = f"I26-{recording // 3:07d}"
    return [
        ("device_list", "sup", "/staff/devices/"),
        ("device_list_filtered", "sup", "/staff/devices/?assigned=yes&training=expired"),
        ("device_page", "sup", f"/staff/devices/{uid(7, out)}/"),
        ("device_page_docked", "sup", f"/staff/devices/{uid(7, docked)}/"),
        ("recordings", "sup", "/staff/devices/recordings/"),
        ("recordings_page_5", "sup", "/staff/devices/recordings/?page=5"),
        ("recordings_of_device", "sup", f"/staff/devices/recordings/?device={uid(7, out)}"),
        ("recordings_of_officer", "sup", f"/staff/devices/recordings/?officer={officer_id}"),
        ("recordings_of_incident", "sup", f"/staff/devices/recordings/?incident={incident}"),
        ("recordings_by_serial", "sup", f"/staff/devices/recordings/?serial=bwc{out:06d}"),
        ("recordings_by_officer_name", "sup", f"/staff/devices/recordings/?wearer=Officer+{nd['officers'] // 2:06d}"),
        ("officer_list", "sup", "/staff/devices/officers/"),
        ("officer_page", "sup", f"/staff/devices/officers/{officer_id}/"),
        ("operations", "disp", "/staff/devices/operations/"),
        ("operations_stream_first_event", "disp", "/staff/devices/operations/events"),
        ("recording_item_page", "sup", f"/staff/evidence/{item}/"),
        ("recording_item_api", "sup", f"/api/evidence/{item}/"),
    ]  # fmt: skip


def fetch(client: Client, url: str, first: bool = False) -> int:
    """GET the url and read the whole body, or only its first chunk when `first` (an event
    stream: the operations page's map and alerts arrive in its first event)."""
    response = client.get(url)
    if response.streaming:
        for _chunk in response.streaming_content:
            if first:
                break
        response.close()
    return response.status_code


def queries_of(client: Client, url: str, first: bool = False) -> int:
    """The number of SQL statements one request runs."""
    seen: list[str] = []

    def count(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        fetch(client, url, first)
    return len(seen)


def measure(clients, agency, n, repeats: int, only: set[str] | None) -> list[dict]:
    results = []
    for name, who, url in pages(agency, n):
        if only and name not in only:
            continue
        client = clients[who]
        first = name.endswith("_first_event")
        status = fetch(client, url, first)  # warm: templates, URL resolver, caches, plans
        queries = queries_of(client, url, first)
        times = []
        for _i in range(repeats):
            started = time.perf_counter()
            fetch(client, url, first)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, max(0, int(round(0.95 * len(times))) - 1))]
        results.append(
            {
                "bench": "scale",
                "page": name,
                "url": url,
                "status": status,
                "items": n["items"],
                "audit_events": n["audit_events"],
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(p95, 1),
                "queries": queries,
                "ours_ms": round(p95, 1),
                "goal_ms": GOAL_MS,
                "ratio": round(p95 / GOAL_MS, 3),
                "ours_is": "p95 of the page through Django's stack, in-process, warm",
                "load_average": round(os.getloadavg()[0], 2),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    return results


def export_rate(client: Client, auditor, repeats: int) -> dict:
    """The audit export of one day as rows per second, against its ceiling: PostgreSQL's own
    COPY of the same rows (same columns, filter and order) to CSV, read by psycopg. Both
    warm, median of `repeats`."""
    from portal.selectors import AuditFilters, audit_events_for
    from portal.views import CSV_COLUMNS

    auditor.is_verified = lambda: True  # as the signed-in client is (its second factor passed)
    day = (NOW - dt.timedelta(days=30)).date()
    url = f"/staff/audit/export.csv?date_from={day}&date_to={day}"
    events = audit_events_for(actor=auditor, filters=AuditFilters(date_from=day, date_to=day))
    sql, params = events.values_list(*CSV_COLUMNS).query.sql_with_params()

    def ours() -> tuple[float, int]:
        started = time.perf_counter()
        response = client.get(url)
        lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
        return time.perf_counter() - started, lines - 1  # less the header

    def bare() -> tuple[float, int]:
        started = time.perf_counter()
        lines = 0
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH CSV", params) as copy,
        ):
            for block in copy:
                lines += bytes(block).count(b"\n")
        return time.perf_counter() - started, lines

    ours(), bare()  # warm
    our_runs = [ours() for _ in range(repeats)]
    bare_runs = [bare() for _ in range(repeats)]
    rows = our_runs[0][1]
    our_rate = rows / statistics.median(t for t, _ in our_runs)
    bare_rate = bare_runs[0][1] / statistics.median(t for t, _ in bare_runs)
    line = {
        "bench": "scale",
        "part": "audit_export_rate",
        "url": url,
        "rows": rows,
        "bare_rows": bare_runs[0][1],
        "ours_rows_per_s": round(our_rate),
        "peer_rows_per_s": round(bare_rate),
        "ratio": round(our_rate / bare_rate, 3),
        "ours_is": "rows/s of the day's CSV export through Django's stack, in-process, warm",
        "peer_is": "rows/s of COPY (the same SELECT) TO STDOUT WITH CSV, read by psycopg",
        "load_average": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(line), flush=True)
    return line


# The pages also timed over real HTTP: gunicorn as the Procfile's web line, started here.
HTTP_PAGES = ("dashboard", "evidence_list", "case_page_200_items")


def measure_http(clients, agency, n, repeats: int, only: set[str] | None) -> list[dict]:
    """HTTP_PAGES through gunicorn (the Procfile's web line) on this machine, with the same
    signed-in sessions as the in-process clients: p50 and p95 of the whole response, warm."""
    import requests

    wanted = [p for p in pages(agency, n) if p[0] in HTTP_PAGES and (not only or p[0] in only)]
    if not wanted:
        return []
    server, port = harness.start_canvass(harness.procfile_web(), ALLOWED_HOSTS="127.0.0.1")
    results = []
    try:
        base = f"http://127.0.0.1:{port}"
        harness.wait_for(f"{base}/healthz", server)
        for name, who, url in wanted:
            session = requests.Session()
            for cookie in clients[who].cookies.values():
                session.cookies.set(cookie.key, cookie.value)
            status = session.get(base + url, timeout=120).status_code  # warm this worker
            session.get(base + url, timeout=120)  # and the other (2 workers)
            times = []
            for _i in range(repeats):
                started = time.perf_counter()
                response = session.get(base + url, timeout=120)
                response.content  # noqa: B018 - the whole body, as a browser reads it
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            p95 = times[min(len(times) - 1, max(0, int(round(0.95 * len(times))) - 1))]
            results.append(
                {
                    "bench": "scale",
                    "page": name,
                    "via": "http",
                    "url": url,
                    "status": status,
                    "items": n["items"],
                    "audit_events": n["audit_events"],
                    "p50_ms": round(statistics.median(times), 1),
                    "p95_ms": round(p95, 1),
                    "ours_ms": round(p95, 1),
                    "goal_ms": GOAL_MS,
                    "ratio": round(p95 / GOAL_MS, 3),
                    "ours_is": "p95 over HTTP from gunicorn (the Procfile's web line), warm",
                    "load_average": round(os.getloadavg()[0], 2),
                }
            )
            print(json.dumps(results[-1]), flush=True)
    finally:
        harness.stop(server)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "0.01")))
    parser.add_argument(
        "--repeats", type=int, default=int(os.environ.get("BENCH_SCALE_REPEATS", "30"))
    )
    parser.add_argument("--reseed", action="store_true", help="seed again even if seeded")
    parser.add_argument("--only", default="", help="comma-separated page names")
    parser.add_argument("--no-http", action="store_true", help="skip the pages over HTTP")
    args = parser.parse_args()

    agency, supervisor, auditor, owner = people()
    dispatcher = User.objects.filter(email="dispatcher@scale.example").first() or (
        User.objects.create_user(
            "dispatcher@scale.example",
            None,
            full_name="Dispatch Scale",
            role=Role.DISPATCHER,
            agency=agency,
        )
    )
    n = sizes(args.scale)
    n.update(device_sizes(args.scale, n))
    seeding: dict[str, float] = {}
    if args.reseed or seeded_scale() != args.scale:
        started = time.perf_counter()
        seeding = seed(args.scale, agency, supervisor, auditor, owner)
        seeding["total_s"] = round(time.perf_counter() - started, 1)
    # A reseed of the rest by an older copy of this script empties the recordings (they name
    # items) without knowing of the marker: seed the cameras again then too.
    if args.reseed or devices_seeded_scale() != args.scale or not recordings_present():
        started = time.perf_counter()
        seeding.update(seed_devices(args.scale, agency, supervisor))
        seeding["devices_total_s"] = round(time.perf_counter() - started, 1)
    devices_live(args.scale, n)
    devices = {
        user: TOTPDevice.objects.filter(user=user).first()
        or TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
        for user in (supervisor, auditor, dispatcher)
    }
    clients = {
        "sup": signed_in(supervisor, devices[supervisor]),
        "aud": signed_in(auditor, devices[auditor]),
        "disp": signed_in(dispatcher, devices[dispatcher]),
        "anon": Client(),
    }
    only = set(filter(None, args.only.split(",")))
    results = measure(clients, agency, n, args.repeats, only)
    if not only or "audit_export_rate" in only:
        export_rate(clients["aud"], auditor, max(3, args.repeats // 5))
    if not args.no_http:
        results += measure_http(clients, agency, n, args.repeats, only)
    over = [
        r["page"] + (" (http)" if r.get("via") == "http" else "")
        for r in results
        if r["p95_ms"] > GOAL_MS or r["status"] != 200
    ]
    print(
        json.dumps(
            {
                "bench": "scale",
                "part": "seeding",
                "scale": args.scale,
                **n,
                "seeded_now": bool(seeding),
                **{f"seed_{k}": v for k, v in seeding.items()},
                "pages": len(results),
                "pages_over_goal_or_failing": over,
            }
        )
    )


if __name__ == "__main__":
    main()
