"""The findings' summary on the agency's public transparency page, in English and Spanish and
in the open data: counted again here from the findings themselves, under the small-count rule."""

import json
from collections import Counter

import pytest
from django.test import Client
from django.urls import reverse

from review import services as review_services
from review.models import Finding
from tests.review.helpers import drawn, staff, this_month
from transparency import services

pytestmark = pytest.mark.django_db


def _cells(text: str, month: str) -> dict[str, str]:
    cells = {}
    for chunk in text.split('data-metric="review_findings" data-dimension="')[1:]:
        dimension, rest = chunk.split('"', 1)
        if f'data-month="{month}">' in rest.split(">", 1)[0] + ">":
            cells[dimension] = rest.split(">", 1)[1].split("</td>", 1)[0]
    return cells


def _expected(agency) -> Counter:
    return Counter(
        f"{f.item.kind}.{f.outcome}"
        for f in Finding.objects.select_related("item").filter(item__sample__agency=agency)
    )


def test_the_summary_is_published_per_month_and_kind_under_the_small_count_rule(police):
    sample = drawn(police, searches=6, recordings=5)
    first, second = staff(police), staff(police)
    for item in sample.items.all():
        review_services.finding_record(actor=first, item=item, outcome="within_policy", text="")
    services.figures_materialise_recent()
    month = f"{this_month(police):%Y-%m}"
    url = reverse("transparency:agency", args=[police.slug])

    counted = _expected(police)
    assert counted == {"registry_search.within_policy": 6, "bodycam_recording.within_policy": 5}
    cells = _cells(Client().get(url).content.decode(), month)
    assert cells[""] == "11"
    assert cells["registry_search.within_policy"] == "6"
    assert cells["bodycam_recording.within_policy"] == "5"

    # One concern: a part of 1 beside the total, so every non-zero part is withheld.
    review_services.finding_record(
        actor=second, item=sample.items.first(), outcome="concern", text="Too wide a window"
    )
    services.figures_materialise_recent()
    assert sum(_expected(police).values()) == 12
    cells = _cells(Client().get(url).content.decode(), month)
    assert cells[""] == "12"
    assert {cells[d] for d in _expected(police)} == {"withheld"}

    body = json.loads(
        Client().get(reverse("transparency:data", args=[police.slug, "figures", "json"])).content
    )
    rows = {
        (r["dimension"]): r["value"]
        for r in body["rows"]
        if r["metric"] == "review_findings" and r["month"] == month
    }
    assert rows[""] == 12 and set(rows) - {""} == set(_expected(police))
    assert {rows[d] for d in _expected(police)} == {"withheld"}
    drawn_rows = {
        r["dimension"]: r["value"]
        for r in body["rows"]
        if r["metric"] == "review_items_drawn" and r["month"] == month
    }
    assert drawn_rows == {"": 11, "registry_search": 6, "bodycam_recording": 5}
    assert "review_findings" in body["metrics"]
    csv_text = (
        Client()
        .get(reverse("transparency:data", args=[police.slug, "figures", "csv"]))
        .content.decode()
    )
    assert f"{month},review_findings,,count,12" in csv_text


def test_the_summary_speaks_spanish(police):
    sample = drawn(police, searches=1, recordings=1)
    reviewer = staff(police)
    for item in sample.items.all():
        review_services.finding_record(actor=reviewer, item=item, outcome="concern", text="x")
    services.figures_materialise_recent()
    client = Client(HTTP_ACCEPT_LANGUAGE="es-US,es;q=0.9")
    text = client.get(reverse("transparency:agency", args=[police.slug])).content.decode()
    for spanish in (
        "Conclusiones de la revisión comunitaria",
        "Elementos sorteados para la revisión comunitaria",
        "Grabaciones de cámaras corporales: Motivo de preocupación",
        "Revisor comunitario",
    ):
        assert spanish in text, spanish
    assert "<h3>Community review findings</h3>" not in text
