"""Stylesheets belong in <head>: a <link rel="stylesheet"> in the body makes the parser stop
there until the sheet loads, so a browser (or a test) sees a page cut short after it."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
STYLESHEET = re.compile(r"<link[^>]*rel=\"stylesheet\"", re.IGNORECASE)
HEAD_BLOCK = re.compile(r"{% block head %}.*?{% endblock %}", re.DOTALL)
HEAD_ELEMENT = re.compile(r"<head>.*?</head>", re.DOTALL | re.IGNORECASE)


def _outside_head(source: str) -> str:
    return HEAD_ELEMENT.sub("", HEAD_BLOCK.sub("", source))


def test_no_template_links_a_stylesheet_outside_head():
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in sorted(TEMPLATES.rglob("*.html"))
        if STYLESHEET.search(_outside_head(path.read_text()))
    ]
    assert offenders == []


@pytest.mark.django_db
def test_the_tip_page_sends_its_stylesheets_in_head(client, police):
    html = client.get(reverse("submissions:tip_form", args=[police.slug])).content.decode()
    head, body = html.split("</head>", 1)
    assert "leaflet/leaflet.css" in head and "tip.css" in head
    assert not STYLESHEET.search(body)
