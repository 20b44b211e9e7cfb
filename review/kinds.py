"""The kinds of recorded fact a review sample draws from: a registry, one small entry a kind.

A kind names its population (the ids of one agency's facts in a month) and the facts a
reviewer may see of one of them: metadata only (who, when, reason, counts), never a raw
recording, never a camera owner's or a tipster's identity. Case numbers are hashed while the
case is open, as on the public footage-request log.

To add a kind: one `@sample_kind(...)` population
function and its `facts` function below, over livefeeds' models. Nothing else changes: the
draw, the pages, the findings and the published summary all read this registry.

Redacted copies: a body-camera recording whose item has a releasable redacted copy
(evidence.selectors.releasable_redaction: solid fill, approved) offers it to the reviewer, played
through review.services.sampled_redacted_copy_open (audited); every other kind is metadata only.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.crypto import salted_hmac
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from devices.models import Recording
from evidence.models import Case
from evidence.selectors import releasable_redaction
from livefeeds.models import ViewSession
from portal.models import Agency, User
from portal.templatetags.portal_time import local_and_utc
from registry.models import CameraSearch, FootageRequest

Population = Callable[[Agency, dt.datetime, dt.datetime], list[str]]
Fact = tuple[str | Promise, str | Promise]
Facts = Callable[[Agency, str], list[Fact] | None]


@dataclass(frozen=True)
class SampleKind:
    name: str
    label: str | Promise
    population: Population
    facts: Facts


KINDS: dict[str, SampleKind] = {}


def sample_kind(
    name: str, *, label: str | Promise, facts: Facts
) -> Callable[[Population], Population]:
    """Register `population` as the named kind (the registration order is the pages')."""

    def register(population: Population) -> Population:
        if name in KINDS:
            raise ValueError(f"Sample kind {name!r} is already registered.")
        KINDS[name] = SampleKind(name, label, population, facts)
        return population

    return register


def kind_label(name: str) -> str | Promise:
    kind = KINDS.get(name)
    return kind.label if kind else name


# --- shared helpers --------------------------------------------------------------------------


def when(agency: Agency, moment: dt.datetime | None) -> str:
    """A time in the agency's zone with UTC beside it."""
    return local_and_utc(moment, agency.time_zone)


def case_shown(agency: Agency, number: str) -> str:
    """The case number while the case is closed; a keyed hash of it while it is open (the
    same hash the public footage-request log shows, so the two can be matched)."""
    if not number:
        return "—"
    if Case.objects.filter(agency=agency, number=number, status=Case.Status.CLOSED).exists():
        return number
    digest = salted_hmac(
        "canvass.transparency.case", f"{agency.pk}:{number}", algorithm="sha256"
    ).hexdigest()
    return f"h:{digest[:16]}"


def person(user: User | None, fallback: str) -> str:
    """A staff member by name and role (never an email address)."""
    if user is None:
        return fallback.split(" <", 1)[0] or "—"
    return f"{user.full_name or '—'} ({user.get_role_display()})"


def _minutes(start: dt.datetime, end: dt.datetime) -> str:
    return str(round((end - start).total_seconds() / 60))


def _get(model, agency: Agency, object_id: str):
    try:
        return model.objects.filter(agency=agency, pk=object_id).first()
    except (ValidationError, ValueError):
        return None


# --- registry searches -----------------------------------------------------------------------


def search_facts(agency: Agency, object_id: str) -> list[Fact] | None:
    search = _get(CameraSearch, agency, object_id)
    if search is None:
        return None
    requests = FootageRequest.objects.filter(search=search)
    return [
        (_("Searched by"), person(search.actor, search.actor_label)),
        (_("When"), when(agency, search.created_at)),
        (_("Case"), case_shown(agency, search.case_number)),
        (_("Reason given"), search.reason),
        (_("Video window (minutes)"), _minutes(search.window_start, search.window_end)),
        (_("Search radius (metres)"), str(search.radius_m)),
        (_("Cameras returned"), str(len(search.camera_ids))),
        (_("Footage requests sent from it"), str(requests.count())),
    ]


@sample_kind("registry_search", label=_("Registry searches"), facts=search_facts)
def searches(agency: Agency, start: dt.datetime, end: dt.datetime) -> list[str]:
    return [
        str(pk)
        for pk in CameraSearch.objects.filter(
            agency=agency, created_at__gte=start, created_at__lt=end
        ).values_list("pk", flat=True)
    ]


# --- body-camera recordings ------------------------------------------------------------------


def recording_facts(agency: Agency, object_id: str) -> list[Fact] | None:
    recording = _get(Recording, agency, object_id)
    if recording is None:
        return None
    item = recording.item
    return [
        (_("Worn by"), person(recording.officer, "—")),
        (_("Started"), when(agency, recording.started_at)),
        (_("Stopped"), when(agency, recording.stopped_at)),
        (_("Length (minutes)"), _minutes(recording.started_at, recording.stopped_at)),
        (_("Started by"), recording.trigger_on_source or "—"),
        (_("Stopped by"), recording.trigger_off_source or "—"),
        (_("Linked to a dispatched incident"), _("yes") if recording.cad_event_id else _("no")),
        (_("Bookmarks"), str(len(recording.bookmarks or []))),
        (
            _("Category"),
            item.retention_category.name if item and item.retention_category else _("none"),
        ),
        (_("Offloaded"), recording.get_status_display()),
        (
            _("Redacted copy"),
            _("released: play it below")
            if item and not item.do_not_disclose and releasable_redaction(item=item)
            else _("none released: metadata only"),
        ),
    ]


@sample_kind("bodycam_recording", label=_("Body-camera recordings"), facts=recording_facts)
def recordings(agency: Agency, start: dt.datetime, end: dt.datetime) -> list[str]:
    return [
        str(pk)
        for pk in Recording.objects.filter(
            agency=agency, started_at__gte=start, started_at__lt=end
        ).values_list("pk", flat=True)
    ]


# --- live-view sessions ----------------------------------------------------------------------


def live_view_facts(agency: Agency, object_id: str) -> list[Fact] | None:
    session = _get(ViewSession, agency, object_id)
    if session is None:
        return None
    ended = session.ended_at
    return [
        (_("Watched by"), person(session.viewer, "—")),
        (_("Feed"), _("Body camera") if session.app == "live" else _("CCTV camera")),
        (_("Camera worn by"), person(session.officer, "—") if session.officer_id else "—"),
        (_("Started"), when(agency, session.started_at)),
        (_("Ended"), when(agency, ended) if ended else _("not yet")),
        (
            _("Length (minutes)"),
            _minutes(session.started_at, ended) if ended else _("still open"),
        ),
        (_("How it ended"), session.get_end_display() if session.end else "—"),
        (_("Officer-requested (Watch me)"), _("yes") if session.alert_id else _("no")),
        (_("Reason given"), session.reason),
        (_("Case or incident"), case_shown(agency, session.case_ref)),
        (_("Video"), _("not shown: metadata only")),
    ]


@sample_kind("live_view", label=_("Live-view sessions"), facts=live_view_facts)
def live_views(agency: Agency, start: dt.datetime, end: dt.datetime) -> list[str]:
    return [
        str(pk)
        for pk in ViewSession.objects.filter(
            agency=agency, started_at__gte=start, started_at__lt=end
        ).values_list("pk", flat=True)
    ]
