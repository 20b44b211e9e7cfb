"""Whether an agency may watch a resident's or business's camera live right now.

The owner's policy (registry.models.CameraFeed) decides, with the pause above it and, for
"during an incident near my camera", the agency's open CAD incidents (devices.CadIncident with
no cleared_at) within the owner's distance. Read fresh on every call: a pause or a cleared
incident refuses the next request (the relay's HLS check caches a decision for 1 s at most).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.gis.measure import D
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from devices.models import CadIncident
from portal.models import Agency, User
from registry import feeds
from registry.models import Camera, LiveAsk, LiveMode


@dataclass(frozen=True)
class Decision:
    """May the agency watch? `code` says why (see CODES); `until` when an allowance ends."""

    allowed: bool
    code: str
    until: dt.datetime | None = None


CODES = (
    "never",
    "ask_pending",
    "ask_allowed",
    "incident_near",
    "no_incident_near",
    "always",
    "paused",
    "no_stream",
    "other_agency",
)


def _serves(camera: Camera, agency: Agency, feed) -> bool:
    """The agencies an owner's policy can reach: those covering the camera, or the one named."""
    return agency.pk in (camera.jurisdiction_ids or []) or feed.agency_id == agency.pk


def incident_near(camera: Camera, agency: Agency, distance_m: int, at: dt.datetime):
    """The agency's open CAD incident within `distance_m` of the camera at `at`, if any."""
    return (
        CadIncident.objects.filter(
            agency=agency,
            cleared_at__isnull=True,
            dispatched_at__lte=at,
            point__isnull=False,
            point__dwithin=(camera.location, D(m=distance_m)),
        )
        .order_by("-dispatched_at")
        .first()
    )


def cctv_live_decision(camera: Camera, agency: Agency, at: dt.datetime | None = None) -> Decision:
    """The owner's answer for this agency at `at` (now by default)."""
    at = at or timezone.now()
    feed = feeds.feed_of(camera)
    camera = feed.camera
    if feed.mode == LiveMode.NEVER:
        return Decision(False, "never")
    if feed.paused_at is not None or camera.paused_at is not None or camera.deleted_at:
        return Decision(False, "paused")
    if not feed.has_source:
        return Decision(False, "no_stream")
    if not _serves(camera, agency, feed):
        return Decision(False, "other_agency")
    if feed.mode == LiveMode.ALWAYS:
        if feed.agency_id != agency.pk:
            return Decision(False, "other_agency")
        return Decision(True, "always")
    if feed.mode == LiveMode.ASK:
        allowed = feeds.live_ask_allowed(camera=camera, agency=agency, at=at)
        if allowed is not None:
            return Decision(True, "ask_allowed", allowed.allowed_until)
        return Decision(False, "ask_pending")
    if incident_near(camera, agency, feed.incident_distance_m, at) is not None:
        return Decision(True, "incident_near")
    return Decision(False, "no_incident_near")


def cctv_live_ask(
    *, actor: User, camera: Camera, reason: str, case_number: str = ""
) -> tuple[LiveAsk, bool]:
    """For "ask me each time": email the owner a link to allow the actor's agency for a time
    (an unanswered ask is reused, so the owner gets one email; a running allowance is
    returned as it is). True if a new ask was sent; ValidationError if the owner's policy is
    not "ask me each time" or sharing is paused."""
    if actor.agency is None:
        raise PermissionDenied
    decision = cctv_live_decision(camera, actor.agency)
    if decision.code == "ask_allowed":
        allowed = feeds.live_ask_allowed(camera=camera, agency=actor.agency, at=timezone.now())
        if allowed is not None:
            return allowed, False
    if decision.code != "ask_pending":
        # An owner who chose never, paused, or shares another way is not emailed.
        raise ValidationError("The camera's owner does not take requests to watch live now.")
    return feeds.live_ask_create(
        actor=actor, camera=camera, agency=actor.agency, reason=reason, case_number=case_number
    )
