"""The values of a search for cameras near an incident: what is asked, what came back, a refusal.

Plain data, no database access: the search form builds a SearchQuery, registry.services runs it.
"""

import datetime as dt
from dataclasses import dataclass

from django.contrib.gis.geos import Polygon

from registry.models import CameraSearch


class SearchRefused(ValueError):
    """A search that may not run: the message says why, plainly."""


@dataclass(frozen=True)
class SearchQuery:
    case_number: str
    reason: str
    reason_category: str  # one of registry.models.SEARCH_REASON_CHOICES
    window_start: dt.datetime
    window_end: dt.datetime
    latitude: float | None = None
    longitude: float | None = None
    address: str = ""
    area: Polygon | None = None
    radius_m: int = 300


@dataclass
class SearchOutcome:
    search: CameraSearch
    results: list
