"""Helpers for footage request tests: a real search, a real request, the link from the email."""

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

from django.core import mail
from django.utils import timezone

from registry import services
from registry.footage import services as footage_services
from registry.search import SearchQuery
from tests.registry.cameras import INCIDENT, offset, register

LINK = re.compile(r"^(http://\S+/footage/\S+)$", re.MULTILINE)


def camera_facing_incident(person, **overrides):
    """A camera 20 m west of the incident, looking east at it."""
    lat, lon = INCIDENT
    fields = {"name": "Shop front", "direction_deg": 90} | overrides
    return register(person, *offset(lat, lon, 0, -20), **fields)


def search(actor, **overrides):
    lat, lon = INCIDENT
    now = timezone.now()
    fields = {
        "case_number": "RPD-2026-0042",
        "reason": "Burglary at 100 Main Street",
        "reason_category": "property_crime",
        "latitude": lat,
        "longitude": lon,
        "window_start": now - dt.timedelta(hours=3),
        "window_end": now - dt.timedelta(hours=2),
    } | overrides
    return services.camera_search(actor=actor, query=SearchQuery(**fields)).search


def ask(actor, found, cameras, **overrides):
    now = timezone.now()
    fields = {
        "case_number": "RPD-2026-0042",
        "reason": "Burglary at 100 Main Street",
        "message": "Please send anything from 21:00 on.",
        "window_start": now - dt.timedelta(hours=3),
        "window_end": now - dt.timedelta(hours=2),
        "deadline": now + dt.timedelta(days=3),
    } | overrides
    return footage_services.footage_request_create(
        actor=actor, search=found, camera_ids=[c.pk for c in cameras], **fields
    )


def links_in_outbox(to: str | None = None) -> list[str]:
    found = []
    for message in mail.outbox:
        if to is None or to in message.to:
            found += LINK.findall(message.body)
    return found


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["t"][0]


def path_of(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"
