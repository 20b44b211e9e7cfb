"""Every public figure, recomputed here from the raw facts and compared with what the page and
its JSON and CSV show; the small-count rule; the materialisation is idempotent."""

import csv
import datetime as dt
import io
import statistics
import zoneinfo
from collections import Counter, defaultdict

import pytest
from django.test import Client
from django.urls import reverse

from devices.models import Alert, Recording, Trigger
from livefeeds import clip_intake, clips
from livefeeds.models import ViewSession
from portal.models import AuditEvent
from portal.roles import Role
from registry.models import FootageRequest, FootageRequestCamera
from review.models import Finding, SampledItem
from submissions.models import Tip
from tests.evidence.cases_helpers import make_case
from tests.livefeeds.clips.conftest import lay_ring
from tests.transparency.facts import seed, staff
from transparency import services
from transparency.metrics import METRICS, page_metrics
from transparency.models import MonthlyFigure
from transparency.selectors import SUPPRESSED, WITHHELD, protect_breakdown, published_value

pytestmark = pytest.mark.django_db


def month_of(agency, at: dt.datetime) -> str:
    return f"{at.astimezone(zoneinfo.ZoneInfo(agency.time_zone)):%Y-%m}"


def expected_figures(agency) -> dict[tuple[str, str, str], tuple[float, int]]:
    """(month, metric, dimension) -> (value, basis), straight from the rows, in plain Python."""
    out: dict[tuple[str, str, str], tuple[float, int]] = {}

    def counts(metric, items):
        """items: (month, dimension) per fact; totals under ""."""
        c = Counter(items)
        for (month, dim), n in c.items():
            out[(month, metric, dim)] = (float(n), n)
        for month, n in Counter(m for m, _d in items).items():
            out[(month, metric, "")] = (float(n), n)

    events = [e for e in AuditEvent.objects.order_by("seq") if e.agency_id == agency.pk]
    ok = [e for e in events if e.outcome == "success"]
    counts(
        "registry_searches",
        [
            (month_of(agency, e.at), e.actor_role)
            for e in ok
            if e.action == "registry.camera_search"
        ],
    )
    counts(
        "registry_searches_by_reason",
        [
            (month_of(agency, e.at), e.details.get("reason_category", "unspecified"))
            for e in ok
            if e.action == "registry.camera_search"
        ],
    )
    sent = [
        r for r in FootageRequest.objects.filter(agency=agency) if r.status == "sent" and r.sent_at
    ]
    counts("footage_requests_sent", [(month_of(agency, r.sent_at), "") for r in sent])
    outcome = {
        "uploaded": "answered",
        "no_footage": "no_footage",
        "declined": "declined",
        "expired": "no_answer",
    }
    cams = [c for c in FootageRequestCamera.objects.select_related("request") if c.request in sent]
    counts(
        "footage_cameras",
        [(month_of(agency, c.request.sent_at), outcome.get(c.status, "waiting")) for c in cams],
    )
    by_month = defaultdict(list)
    for r in sent:
        by_month[month_of(agency, r.sent_at)].append(
            (r.window_end - r.window_start).total_seconds() / 60
        )
    for month, values in by_month.items():
        out[(month, "footage_median_window_minutes", "")] = (
            round(statistics.median(values), 1),
            len(values),
        )
    by_month = defaultdict(list)
    for c in cams:
        if c.status in ("uploaded", "no_footage", "declined"):
            by_month[month_of(agency, c.request.sent_at)].append(
                (c.answered_at - c.request.sent_at).total_seconds() / 86400
            )
    for month, values in by_month.items():
        out[(month, "footage_median_days_to_answer", "")] = (
            round(statistics.median(values), 1),
            len(values),
        )
    recordings = list(Recording.objects.filter(agency=agency))
    counts(
        "bwc_recordings",
        [(month_of(agency, r.started_at), r.trigger_on_source) for r in recordings],
    )
    hours = defaultdict(lambda: [0.0, 0])
    for r in recordings:
        h = hours[month_of(agency, r.started_at)]
        h[0] += (r.stopped_at - r.started_at).total_seconds() / 3600
        h[1] += 1
    for month, (total, n) in hours.items():
        out[(month, "bwc_hours_recorded", "")] = (round(total, 1), n)
    counts(
        "bwc_activations",
        [(month_of(agency, t.received_at), t.kind) for t in Trigger.objects.filter(agency=agency)],
    )
    alerts = list(Alert.objects.filter(agency=agency))
    counts("alerts", [(month_of(agency, a.raised_at), a.kind) for a in alerts])
    false = defaultdict(lambda: [0, 0])
    for a in alerts:
        f = false[month_of(agency, a.raised_at)]
        f[0] += a.state == "false"
        f[1] += 1
    for month, (n_false, n) in false.items():
        out[(month, "alerts_false_percent", "")] = (round(100 * n_false / n, 1), n)
    counts(
        "tips_received",
        [(month_of(agency, t.received_at), "") for t in Tip.objects.filter(agency=agency)],
    )
    actioned = {
        (month_of(agency, e.at), e.target_id)
        for e in ok
        if e.action == "tip.transitioned" and e.details.get("new") == "actionable"
    }
    counts("tips_actioned", [(month, "") for month, _t in actioned])
    counts(
        "prosecutor_shares",
        [(month_of(agency, e.at), "") for e in ok if e.action == "share.created"],
    )
    deleted = [e for e in ok if e.action == "evidence.deleted"]
    counts(
        "deletions",
        [
            (month_of(agency, e.at), "two_person" if "approved_by" in e.details else "retention")
            for e in deleted
        ],
    )
    holds = [e for e in ok if e.action == "evidence.legal_hold_set"]
    counts(
        "legal_holds",
        [
            (month_of(agency, e.at), "placed" if e.details["legal_hold"] else "lifted")
            for e in holds
        ],
    )
    views = list(ViewSession.objects.filter(agency=agency))
    counts(
        "live_view_sessions",
        [
            (
                month_of(agency, v.started_at),
                "officer_requested" if v.alert_id else "staff_initiated",
            )
            for v in views
        ],
    )
    counts(
        "live_view_reasons", [(month_of(agency, v.started_at), v.reason_category) for v in views]
    )
    minutes = defaultdict(lambda: [0.0, 0])
    for v in views:
        if v.ended_at is not None:
            m = minutes[month_of(agency, v.started_at)]
            m[0] += (v.ended_at - v.started_at).total_seconds() / 60
            m[1] += 1
    for month, (total, n) in minutes.items():
        out[(month, "live_view_minutes", "")] = (round(total, 1), n)
    asked = defaultdict(lambda: [0, 0])
    for v in views:
        a = asked[month_of(agency, v.started_at)]
        a[0] += v.alert_id is not None
        a[1] += 1
    for month, (n_officer, n) in asked.items():
        out[(month, "live_view_officer_requested_percent", "")] = (
            round(100 * n_officer / n, 1),
            n,
        )
    counts(
        "live_clips_saved",
        [(month_of(agency, e.at), "") for e in ok if e.action == "livefeeds.clip_saved"],
    )
    counts(
        "review_items_drawn",
        [
            (month_of(agency, i.sample.drawn_at), i.kind)
            for i in SampledItem.objects.select_related("sample").filter(sample__agency=agency)
        ],
    )
    counts(
        "review_findings",
        [
            (month_of(agency, f.recorded_at), f"{f.item.kind}.{f.outcome}")
            for f in Finding.objects.select_related("item").filter(item__sample__agency=agency)
        ],
    )
    return out


def published(expected, metric, value_basis):
    value, basis = value_basis
    return published_value(value=value, basis=basis, unit=METRICS[metric].unit)


def published_all(expected) -> dict[tuple[str, str, str], object]:
    """Every expected figure as published: the small-count rule, then, per metric and month,
    the secondary rule over the breakdown (tested on its own below)."""
    shown = {k: published(expected, k[1], v) for k, v in expected.items()}
    for month, metric in {(k[0], k[1]) for k in shown}:
        if METRICS[metric].unit != "count":
            continue
        parts = {k[2]: v for k, v in shown.items() if k[:2] == (month, metric) and k[2]}
        for d, v in protect_breakdown(parts, shown.get((month, metric, ""))).items():
            shown[(month, metric, d)] = v
    return shown


@pytest.fixture
def facts(police, encoded_segments, relay_dir):
    facts = seed(police)
    # A live clip saved from a body camera's ring into a case (the real clip maker and intake).
    ring = lay_ring(encoded_segments[:6], relay_dir)
    investigator = staff(police, Role.INVESTIGATOR)
    clip_intake.live_clip_save(
        requester=investigator,
        case_id=make_case(lead=investigator).pk,
        app=ring.app,
        stream=ring.stream,
        window=clips.window_last(4, now=ring.end),
    )
    services.figures_materialise_recent()
    return facts


def test_every_materialised_figure_is_the_one_recomputed_from_the_raw_facts(facts, police):
    expected = expected_figures(police)
    shown = {m.name for m in page_metrics()}
    assert {k[1] for k in expected} == shown, "every metric of the page has facts to check"
    # The goal-only metrics are recomputed in test_goals_recompute.py.
    stored = {
        (f"{f.month:%Y-%m}", f.metric, f.dimension): (f.value, f.basis)
        for f in MonthlyFigure.objects.filter(agency=police, metric__in=shown)
    }
    # Zero rows the metrics store (a breakdown with nothing in it) are not facts to recompute.
    nonzero = {k: v for k, v in stored.items() if v[1]}
    assert nonzero == expected


def test_the_json_shows_every_figure_under_the_small_count_rule(facts, police):
    expected = expected_figures(police)
    url = reverse("transparency:data", args=[police.slug, "figures", "json"])
    body = Client().get(url).json()
    shown = {
        (r["month"], r["metric"], r["dimension"]): r["value"]
        for r in body["rows"]
        if r["value"] != 0
    }
    assert shown == published_all(expected)
    assert set(body["metrics"]) == {m.name for m in page_metrics()}
    assert "registry.camera_search" in body["metrics"]["registry_searches"]["query"]
    # Known values from the seed: 7 searches, 6 by an investigator and 1 by a supervisor. Both
    # are withheld (7 - 6 would tell the one).
    month = max(k[0] for k in expected)
    assert shown[(month, "registry_searches", "")] == 7
    assert shown[(month, "registry_searches", "investigator")] == WITHHELD
    assert shown[(month, "registry_searches", "supervisor")] == WITHHELD
    # By reason category: 6 property crime and 1 violent crime, withheld the same way.
    assert shown[(month, "registry_searches_by_reason", "")] == 7
    assert shown[(month, "registry_searches_by_reason", "property_crime")] == WITHHELD
    assert shown[(month, "registry_searches_by_reason", "violent_crime")] == WITHHELD
    assert "reason_category" in body["metrics"]["registry_searches_by_reason"]["query"]
    assert shown[(month, "tips_received", "")] == 5
    assert shown[(month, "tips_actioned", "")] == SUPPRESSED
    assert shown[(month, "bwc_recordings", "holster")] == WITHHELD
    assert shown[(month, "bwc_recordings", "button")] == WITHHELD
    # 8 live views: 1 the officer asked for (Watch me), so both parts are withheld; two ran
    # their full 15 minutes before the sweep expired them.
    assert shown[(month, "live_view_sessions", "")] == 8
    assert shown[(month, "live_view_sessions", "officer_requested")] == WITHHELD
    assert shown[(month, "live_view_sessions", "staff_initiated")] == WITHHELD
    assert shown[(month, "live_view_officer_requested_percent", "")] == 12.5
    assert 30.0 <= shown[(month, "live_view_minutes", "")] < 31.0
    assert shown[(month, "live_clips_saved", "")] == SUPPRESSED
    # Beside a published total, no part is shown as "<5" and no hidden part sits beside an
    # exact one: nothing can be worked out by subtraction or from ranges.
    for month_, metric in {(k[0], k[1]) for k in shown}:
        parts = [v for k, v in shown.items() if k[:2] == (month_, metric) and k[2]]
        if isinstance(shown.get((month_, metric, "")), int) and WITHHELD in parts:
            assert SUPPRESSED not in parts, (month_, metric, parts)
            assert all(v in (WITHHELD, 0) for v in parts), (month_, metric, parts)


def test_the_csv_is_the_json(facts, police):
    base = reverse("transparency:data", args=[police.slug, "figures", "json"])
    rows = Client().get(base).json()["rows"]
    text = Client().get(base.replace(".json", ".csv")).content.decode()
    read = list(csv.DictReader(io.StringIO(text)))
    assert [(r["month"], r["metric"], r["dimension"], r["value"]) for r in read] == [
        (r["month"], r["metric"], r["dimension"], str(r["value"])) for r in rows
    ]


def test_the_page_shows_each_figure_and_fewer_than_5_for_small_counts(facts, police):
    expected = published_all(expected_figures(police))
    page = Client().get(reverse("transparency:agency", args=[police.slug]))
    assert page.status_code == 200
    text = page.content.decode()
    for (month, metric, dimension), value in expected.items():
        cell = f'data-metric="{metric}" data-dimension="{dimension}" data-month="{month}">'
        assert cell in text, cell
        shown = text.split(cell, 1)[1].split("</td>", 1)[0]
        if value == SUPPRESSED:
            assert shown == "fewer than 5", (metric, dimension, shown)
        elif value == WITHHELD:
            assert shown == "withheld", (metric, dimension, shown)
        elif METRICS[metric].unit == "count":
            assert shown == f"{value:,}", (metric, dimension, shown)
        else:
            assert shown.startswith(f"{value:.1f}"), (metric, dimension, shown)
    assert "<h3>Registry searches by reason category</h3>" in text
    assert "Property crime" in text and "Violent crime" in text
    assert 'id="not-yet-search_reason_categories"' not in text
    assert "Live-view sessions by reason category" in text
    assert 'id="not-yet-live_view_reason_categories"' not in text
    assert "Live-view sessions, by who asked for them" in text


@pytest.mark.parametrize(
    ("value", "basis", "unit", "shown"),
    [
        (0, 0, "count", 0),
        (1, 1, "count", SUPPRESSED),
        (4, 4, "count", SUPPRESSED),
        (5, 5, "count", 5),
        (37.5, 3, "minutes", WITHHELD),
        (37.5, 5, "minutes", 37.5),
        (50.0, 2, "percent", WITHHELD),
    ],
)
def test_counts_from_1_to_4_are_published_as_fewer_than_5_and_zero_as_0(value, basis, unit, shown):
    # A median or a share standing on 1-4 facts is withheld rather than shown as "<5".
    assert published_value(value=value, basis=basis, unit=unit) == shown


@pytest.mark.parametrize(
    ("parts", "total", "shown"),
    [
        ({"a": 6, "b": SUPPRESSED}, 7, {"a": WITHHELD, "b": WITHHELD}),
        (
            {"a": 6, "b": 9, "c": SUPPRESSED, "d": 0},
            16,
            {"a": WITHHELD, "b": WITHHELD, "c": WITHHELD, "d": 0},
        ),
        # Each of these was exact under a rule that withheld only the next smallest part:
        # 6 = 5 + 1; 7 = 5 + 1 + 1; 13 = 4 + 4 + 5.
        ({"a": 5, "b": SUPPRESSED}, 6, {"a": WITHHELD, "b": WITHHELD}),
        ({"a": 5, "b": SUPPRESSED, "c": SUPPRESSED}, 7, dict.fromkeys("abc", WITHHELD)),
        ({"a": SUPPRESSED, "b": SUPPRESSED, "c": 5}, 13, dict.fromkeys("abc", WITHHELD)),
        (
            {"a": SUPPRESSED, "b": SUPPRESSED, "c": 8},
            12,
            {"a": WITHHELD, "b": WITHHELD, "c": WITHHELD},
        ),
        ({"a": SUPPRESSED, "b": 0}, SUPPRESSED, {"a": SUPPRESSED, "b": 0}),
        ({"a": 5, "b": 7}, 12, {"a": 5, "b": 7}),
    ],
)
def test_a_small_part_of_a_published_total_withholds_every_non_zero_part(parts, total, shown):
    assert protect_breakdown(parts, total) == shown


def test_materialising_again_gives_the_same_rows(facts, police):
    before = set(
        MonthlyFigure.objects.filter(agency=police).values_list(
            "month", "metric", "dimension", "value", "basis"
        )
    )
    services.figures_materialise_recent()
    services.figures_backfill(agency=police)
    after = set(
        MonthlyFigure.objects.filter(agency=police).values_list(
            "month", "metric", "dimension", "value", "basis"
        )
    )
    assert after == before


def test_the_page_reads_only_the_materialised_table(police):
    seed(police, searches=1, owners=1, tips=1, recordings=1)
    url = reverse("transparency:agency", args=[police.slug])
    month = f"{services.current_month(agency=police):%Y-%m}"
    cell = f'data-metric="tips_received" data-dimension="" data-month="{month}">'

    # The tip exists, but nothing is materialised yet: no month has a figure to show.
    before = Client().get(url).content.decode()
    assert cell not in before and "Last computed:" not in before
    services.figures_materialise_recent()
    text = Client().get(url).content.decode()
    assert "Last computed:" in text
    assert text.split(cell, 1)[1].split("</td>", 1)[0] == "fewer than 5"


def test_an_unknown_agency_or_table_is_404(police):
    assert Client().get("/transparency/no-such-agency/").status_code == 404
    assert Client().get(f"/transparency/{police.slug}/data/secrets.json").status_code == 404
    assert Client().get(f"/transparency/{police.slug}/data/figures.xml").status_code == 404


def test_the_page_speaks_spanish_to_a_spanish_browser(facts, police):
    client = Client(HTTP_ACCEPT_LANGUAGE="es-US,es;q=0.9")
    text = client.get(reverse("transparency:agency", args=[police.slug])).content.decode()
    assert '<html lang="es">' in text
    for spanish in (
        "Transparencia: Riverton PD",
        "menos de 5",
        "Búsquedas en el registro",
        "Búsquedas en el registro por categoría de motivo",
        "Delito contra la propiedad",
        "Delito violento",
    ):
        assert spanish in text, spanish
    assert "fewer than 5" not in text and "<h3>Registry searches</h3>" not in text
    log = client.get(reverse("transparency:footage_log", args=[police.slug])).content.decode()
    assert "Registro de solicitudes de video: Riverton PD" in log


def test_the_beat_job_and_the_backfill_command_materialise_the_same_figures(police, settings):
    from io import StringIO

    from django.core.management import call_command

    from transparency.tasks import materialise_figures

    seed(police, searches=1, owners=1, tips=1, recordings=1)
    assert any(
        job["task"] == "transparency.tasks.materialise_figures"
        for job in settings.CELERY_BEAT_SCHEDULE.values()
    )
    assert materialise_figures() > 0
    by_job = set(MonthlyFigure.objects.values_list("month", "metric", "dimension", "value"))
    MonthlyFigure.objects.all().delete()
    out = StringIO()
    call_command("transparency_backfill", agency=police.slug, stdout=out)
    assert police.slug in out.getvalue()
    backfilled = set(MonthlyFigure.objects.values_list("month", "metric", "dimension", "value"))
    # The backfill starts at the first fact's month (this one); the job also wrote the last.
    first = services.first_fact_month(agency=police)
    assert backfilled == {row for row in by_job if row[0] >= first}


def test_csv_numbers_stay_numbers_and_text_cannot_become_a_formula():
    from transparency.views import _csv_cell

    assert _csv_cell(-73.9537) == "-73.9537"  # a US longitude, not "'-73.9537"
    assert _csv_cell(-2) == "-2"
    assert _csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _csv_cell("-1+1") == "'-1+1"


def test_the_page_links_the_published_audit_checkpoints_and_keys(police):
    page = Client().get(reverse("transparency:agency", args=[police.slug])).content.decode()
    for url in (
        reverse("checkpoints:list", args=[police.slug]),
        reverse("checkpoints:latest", args=[police.slug]),
        reverse("receipts:keys", args=[police.slug]),
    ):
        assert f'href="{url}"' in page, url
    assert "Not yet published" not in page


def test_searches_from_before_categories_are_counted_as_not_recorded(police):
    """An audit row written before searches had a category (no reason_category in its
    details) is counted under "unspecified", labelled as not recorded, in both languages."""
    from portal.audit import audit_record
    from tests.transparency.facts import staff

    investigator = staff(police, "investigator")
    for i in range(5):
        audit_record(
            action="registry.camera_search",
            actor=investigator,
            target=("registry.camerasearch", f"old-{i}"),
            reason="Burglary",
            case_ref="RPD-2025-0001",
            details={"case_number": "RPD-2025-0001", "reason": "Burglary", "camera_ids": []},
        )
    services.figures_materialise_recent()
    month = f"{services.current_month(agency=police):%Y-%m}"
    figures = {
        f.dimension: f.value
        for f in MonthlyFigure.objects.filter(
            agency=police, metric="registry_searches_by_reason", month__gte=f"{month}-01"
        )
    }
    assert figures[""] == 5 and figures["unspecified"] == 5
    assert expected_figures(police)[(month, "registry_searches_by_reason", "unspecified")] == (
        5.0,
        5,
    )
    url = reverse("transparency:agency", args=[police.slug])
    cell = f'data-metric="registry_searches_by_reason" data-dimension="unspecified" data-month="{month}">'
    text = Client().get(url).content.decode()
    assert text.split(cell, 1)[1].split("</td>", 1)[0] == "5"
    assert "Not recorded (searches before categories)" in text
    spanish = Client(HTTP_ACCEPT_LANGUAGE="es").get(url).content.decode()
    assert "Sin registrar (búsquedas anteriores a las categorías)" in spanish
