"""Camera registry at a million cameras: (a) cameras near an incident, (b) the map bbox API.

Loads BENCH_CAMERAS (default 1,000,000) synthetic cameras by COPY into a database of its own
(created here, dropped at the end unless BENCH_KEEP_DB=1): 40 towns across the US east coast,
each a Gaussian cloud of about 5 km; the bench agency's jurisdiction is the first town.

(a) 500 m around random incidents in the jurisdiction, a one-hour window: p50/p95 of the
    service (`registry.services.camera_search`: the query, the CameraSearch row and the audit
    row in one transaction, i.e. what a search costs) against the same SQL run raw; the query
    through the selector alone is reported too.
(b) GET /api/registry/public-map/ and /api/registry/map/ through Django's full request stack
    for a 1280x800 viewport at zooms 5, 10, 13 and 16: p50/p95 latency and the largest payload.

One JSON line per part.
"""

import datetime as dt
import io
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "canvass_bench_registry"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("ENV_FILE", "/nonexistent")
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", f"postgis://postgres@127.0.0.1:5432/{DB_NAME}"
)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
# The bench calls the API in-process over plain HTTP (no TLS redirect).
os.environ.setdefault("SECURE_HTTPS", "false")
subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_db.py")], check=True, env=os.environ)

import django  # noqa: E402

django.setup()

from django.contrib.gis.geos import MultiPolygon, Point, Polygon  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from portal.models import Agency, User  # noqa: E402
from portal.roles import AgencyKind, Role  # noqa: E402
from registry import selectors, services  # noqa: E402
from registry.search import SearchQuery  # noqa: E402

N = int(os.environ.get("BENCH_CAMERAS", "1000000"))
SEARCHES = int(os.environ.get("BENCH_SEARCHES", "200"))
MAP_REPEATS = int(os.environ.get("BENCH_MAP_REPEATS", "30"))
RNG = random.Random(2026)  # noqa: S311 - repeatable synthetic data
TOWNS = [(RNG.uniform(36.0, 44.0), RNG.uniform(-80.0, -71.0)) for _ in range(40)]
SIGMA_DEG = 0.045  # about 5 km
HOME = TOWNS[0]
JURISDICTION = (HOME[1] - 0.15, HOME[0] - 0.12, HOME[1] + 0.15, HOME[0] + 0.12)
KINDS = ["doorbell", "fixed", "ptz", "other"]
PARTS = ["location_only", "contact_me", "upload_on_request", "live_feed_linkable"]
RETENTION = [1, 3, 7, 14, 30, 60]
VIEWPORT = (1280, 800)


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def setup():
    call_command("migrate", verbosity=0)
    w, s, e, n = JURISDICTION
    agency, _ = Agency.objects.get_or_create(
        slug="bench-pd",
        defaults={
            "name": "Bench PD",
            "kind": AgencyKind.POLICE,
            "jurisdiction": MultiPolygon(Polygon.from_bbox((w, s, e, n)), srid=4326),
            "time_zone": "America/New_York",
        },
    )
    owner = User.objects.filter(email="owner@bench.example").first() or User.objects.create_user(
        "owner@bench.example", None, full_name="Bench owner", role=Role.BUSINESS
    )
    staff = User.objects.filter(email="staff@bench.example").first() or User.objects.create_user(
        "staff@bench.example", None, full_name="Bench investigator", role=Role.INVESTIGATOR,
        agency=agency,
    )  # fmt: skip
    device = TOTPDevice.objects.filter(user=staff).first() or TOTPDevice.objects.create(
        user=staff, name="bench", confirmed=True
    )
    return agency, owner, staff, device


def load(agency, owner) -> float:
    """COPY the cameras into a staging table, then build the rows (cone, Mercator, jurisdiction)."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM registry_camera")
        if cursor.fetchone()[0] >= N:
            return 0.0
        cursor.execute("TRUNCATE registry_camera CASCADE")
        cursor.execute(
            "CREATE TEMP TABLE bench_cams (lon float8, lat float8, dir int, angle int, rng int,"
            " retention int, kind text, part text, public bool)"
        )
        raw = cursor.cursor  # psycopg 3 cursor under Django's wrapper
        with raw.copy("COPY bench_cams FROM STDIN") as copy:
            buf = io.StringIO()
            for i in range(N):
                lat0, lon0 = TOWNS[i % len(TOWNS)]
                lat = RNG.gauss(lat0, SIGMA_DEG)
                lon = RNG.gauss(lon0, SIGMA_DEG * 1.3)
                buf.write(
                    f"{lon:.7f}\t{lat:.7f}\t{RNG.randrange(360)}\t{RNG.choice((60, 90, 110, 360))}"
                    f"\t{RNG.choice((10, 15, 25, 40, 80))}\t{RNG.choice(RETENTION)}"
                    f"\t{RNG.choice(KINDS)}\t{RNG.choice(PARTS)}\t{'t' if RNG.random() < 0.4 else 'f'}\n"
                )
                if i % 50_000 == 49_999:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())
        # The cone as registry.mapshapes builds it (apex + 17 arc points), geodesically.
        cursor.execute(
            """
            INSERT INTO registry_camera (id, owner_id, kind, name, location, location_merc,
                direction_deg, fov_angle_deg, range_m, fov, retention_days, records_always,
                placement, participation, is_public, contact_method, contact_phone, time_zone,
                jurisdiction_ids, created_at, updated_at)
            SELECT gen_random_uuid(), %(owner)s, b.kind, 'Bench camera', g.pt, ST_Transform(g.pt::geometry, 3857),
                   b.dir, b.angle, b.rng,
                   (SELECT ST_MakePolygon(ST_MakeLine(
                        CASE WHEN b.angle >= 360
                             THEN array_agg(ST_Project(g.pt, b.rng, radians(360.0 * mod(i, 32) / 32))::geometry ORDER BY i)
                             ELSE ARRAY[g.pt::geometry]
                                  || array_agg(ST_Project(g.pt, b.rng, radians(b.dir - b.angle / 2.0 + b.angle * i / 16.0))::geometry ORDER BY i)
                                  || ARRAY[g.pt::geometry] END))::geography
                    FROM generate_series(0, CASE WHEN b.angle >= 360 THEN 32 ELSE 16 END) i),
                   b.retention, true, 'outdoor', b.part, b.public, 'email', '', 'America/New_York',
                   CASE WHEN b.lon BETWEEN %(w)s AND %(e)s AND b.lat BETWEEN %(s)s AND %(n)s
                        THEN ARRAY[%(agency)s]::bigint[] ELSE '{}'::bigint[] END,
                   now(), now()
            FROM bench_cams b
            CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(b.lon, b.lat), 4326)::geography AS pt) g
            """,
            {
                "owner": owner.id,
                "agency": agency.id,
                "w": JURISDICTION[0],
                "s": JURISDICTION[1],
                "e": JURISDICTION[2],
                "n": JURISDICTION[3],
            },
        )
        cursor.execute("DROP TABLE bench_cams")
        cursor.execute("ANALYZE registry_camera")
    services.cells_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE registry_cameracell")
    return time.perf_counter() - started


def incident():
    lat0, lon0 = HOME
    return RNG.gauss(lat0, SIGMA_DEG / 2), RNG.gauss(lon0, SIGMA_DEG / 2)


def bench_search(staff):
    staff.is_verified = lambda: True
    window_start = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    window_end = window_start + dt.timedelta(hours=1)
    now = dt.datetime.now(dt.UTC)
    service, selector, raw, counts = [], [], [], []
    for _ in range(SEARCHES):
        lat, lon = incident()
        q = SearchQuery(
            case_number="BENCH-1", reason="bench", reason_category="other",
            latitude=lat, longitude=lon,
            window_start=window_start, window_end=window_end, radius_m=500,
        )  # fmt: skip
        point = Point(lon, lat, srid=4326)
        sql, params = selectors.cameras_near_params(
            agency_id=staff.agency_id, point=point, area=None, radius_m=500,
            window_start=window_start, now=now,
        )  # fmt: skip
        t = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        raw.append(time.perf_counter() - t)
        t = time.perf_counter()
        selectors.cameras_near(
            agency_id=staff.agency_id, point=point, area=None, radius_m=500,
            window_start=window_start, window_end=window_end, now=now,
        )  # fmt: skip
        selector.append(time.perf_counter() - t)
        t = time.perf_counter()
        outcome = services.camera_search(actor=staff, query=q, now=now)
        service.append(time.perf_counter() - t)
        assert len(outcome.results) == len(rows)
        counts.append(len(rows))
    ms = lambda v: round(v * 1000, 2)  # noqa: E731
    result = {
        "bench": "registry_search",
        "cameras": N,
        "searches": SEARCHES,
        "radius_m": 500,
        "results_median": statistics.median(counts),
        "service_p50_ms": ms(pct(service, 50)),
        "service_p95_ms": ms(pct(service, 95)),
        "selector_only_p50_ms": ms(pct(selector, 50)),
        "selector_only_p95_ms": ms(pct(selector, 95)),
        "raw_sql_p50_ms": ms(pct(raw, 50)),
        "raw_sql_p95_ms": ms(pct(raw, 95)),
    }
    result["ratio_p95_service_vs_raw"] = round(pct(service, 95) / pct(raw, 95), 2)
    result["ratio_p95_selector_vs_raw"] = round(pct(selector, 95) / pct(raw, 95), 2)
    result["service_does"] = (
        "registry.services.camera_search: policy checks, the selector's query, a SearchHit per"
        " row, then in one transaction the CameraSearch row and its audit row (hash chain), commit"
    )
    result["peer_does"] = (
        "the selector's SELECT (same SQL, parameters, rows and columns) on the same connection,"
        " rows fetched; no objects, nothing written"
    )
    result["load_average"] = os.getloadavg()[0]
    result["goal"] = "service p95 <= 1.5x raw and < 20 ms"
    print(json.dumps(result), flush=True)


def viewport_bbox(lat, lon, zoom):
    scale = 256 * 2**zoom
    x = (lon + 180) / 360 * scale
    y = (
        (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi)
        / 2
        * scale
    )
    w, h = VIEWPORT

    def lonlat(px, py):
        lon_ = px / scale * 360 - 180
        lat_ = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * py / scale))))
        return lon_, lat_

    west, north = lonlat(x - w / 2, y - h / 2)
    east, south = lonlat(x + w / 2, y + h / 2)
    return f"{west:.6f},{south:.6f},{east:.6f},{north:.6f}"


def bench_maps(staff, device):
    public = Client()
    staff_client = Client()
    staff_client.force_login(staff)
    session = staff_client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    result = {"bench": "registry_map", "cameras": N, "viewport_px": list(VIEWPORT)}
    for zoom in (5, 10, 13, 16):
        for name, client, url in (
            ("public", public, "/api/registry/public-map/"),
            ("agency", staff_client, "/api/registry/map/"),
        ):
            times, sizes, items = [], [], []
            for _ in range(MAP_REPEATS):
                lat, lon = incident()
                bbox = viewport_bbox(lat, lon, zoom)
                t = time.perf_counter()
                response = client.get(url, {"bbox": bbox, "zoom": zoom})
                times.append(time.perf_counter() - t)
                assert response.status_code == 200, response.content[:300]
                sizes.append(len(response.content))
                body = json.loads(response.content)
                items.append(len(body["cells"]) + len(body["cameras"]))
            result[f"{name}_z{zoom}_p50_ms"] = round(pct(times, 50) * 1000, 1)
            result[f"{name}_z{zoom}_p95_ms"] = round(pct(times, 95) * 1000, 1)
            result[f"{name}_z{zoom}_max_kb"] = round(max(sizes) / 1024, 1)
            result[f"{name}_z{zoom}_items_median"] = statistics.median(items)
    result["goal"] = "each <= 150 ms and <= 300 KB"
    print(json.dumps(result), flush=True)


def drop_database():
    import psycopg

    connections.close_all()
    with psycopg.connect(
        host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def main():
    try:
        agency, owner, staff, device = setup()
        seconds = load(agency, owner)
        print(
            json.dumps({"bench": "registry_load", "cameras": N, "load_s": round(seconds, 1)}),
            flush=True,
        )
        bench_search(staff)
        bench_maps(staff, device)
    finally:
        if os.environ.get("BENCH_KEEP_DB") != "1" and "BENCH_DATABASE_URL" not in os.environ:
            drop_database()


if __name__ == "__main__":
    main()
