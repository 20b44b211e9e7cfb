"""Live-feed reads, scoped to the person asking."""

from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from devices.models import Alert, CadIncident, Device, TriggerKind
from livefeeds.models import Publish, ViewSession
from livefeeds.policies import can_revoke_views, can_see_live, can_watch_live
from portal.models import User


def live_devices_for(*, actor: User) -> QuerySet[Device]:
    """The agency's body cameras streaming to the relay now."""
    if not can_see_live(actor) or actor.agency_id is None:
        return Device.objects.none()
    streaming = Publish.objects.filter(app="live", ended_at__isnull=True).values("device_id")
    return Device.objects.filter(agency_id=actor.agency_id, pk__in=streaming).order_by("serial")


def watchable_device_get_for(*, actor: User, id: UUID | str) -> Device:
    """A body camera of the actor's agency, to watch: 404 for anyone else, 403 for a colleague
    who may not watch."""
    if actor.agency_id is None:
        raise Http404
    try:
        device = Device.objects.filter(pk=id, agency_id=actor.agency_id).first()
    except (ValueError, ValidationError) as exc:
        raise Http404 from exc
    if device is None:
        raise Http404("No such device.")
    if not can_watch_live(actor):
        raise PermissionDenied
    return device


def views_for(*, actor: User) -> QuerySet[ViewSession]:
    """The live views the actor may see: the whole agency's for a supervisor, one's own else."""
    if actor.agency_id is None or not can_see_live(actor):
        return ViewSession.objects.none()
    views = ViewSession.objects.filter(agency_id=actor.agency_id).select_related(
        "viewer", "device", "camera", "officer", "ended_by"
    )
    if not can_revoke_views(actor):
        views = views.filter(viewer=actor)
    return views


def view_get_for(*, actor: User, id: UUID | str) -> ViewSession:
    """One live view of the actor's agency: its viewer's, or any for a supervisor. 404 for
    another agency (or another viewer's, for a dispatcher); 403 for a colleague with no part
    in live feeds."""
    if actor.agency_id is None:
        raise Http404
    try:
        session = (
            ViewSession.objects.filter(pk=id, agency_id=actor.agency_id)
            .select_related("viewer", "device", "camera", "officer", "ended_by", "agency")
            .first()
        )
    except (ValueError, ValidationError) as exc:
        raise Http404 from exc
    if session is None:
        raise Http404("No such live view.")
    if not can_see_live(actor):
        raise PermissionDenied
    if session.viewer_id != actor.pk and not can_revoke_views(actor):
        raise Http404("No such live view.")
    return session


def open_views_for(*, actor: User) -> QuerySet[ViewSession]:
    return views_for(actor=actor).filter(ended_at__isnull=True, expires_at__gt=timezone.now())


def watched_me(*, officer: User) -> QuerySet[ViewSession]:
    """Who watched the officer's camera live, when and why (the officer's own page)."""
    return (
        ViewSession.objects.filter(officer=officer)
        .select_related("viewer", "device", "ended_by")
        .order_by("-started_at")
    )


def watch_me_alerts_for(*, actor: User) -> QuerySet[Alert]:
    """Open "Watch me" alerts of the agency with a camera: each opens viewing for those who may
    watch, with the reason filled in as officer-requested."""
    if not can_watch_live(actor) or actor.agency_id is None:
        return Alert.objects.none()
    return (
        Alert.objects.filter(
            agency_id=actor.agency_id,
            kind=TriggerKind.WATCH_ME,
            state=Alert.State.OPEN,
            expires_at__gt=timezone.now(),
            device__isnull=False,
        )
        .select_related("device", "officer")
        .order_by("-raised_at")
    )


def open_incidents_for(*, actor: User) -> QuerySet[CadIncident]:
    """The agency's open CAD incidents with a place: each has a live wall."""
    if not can_watch_live(actor) or actor.agency_id is None:
        return CadIncident.objects.none()
    return CadIncident.objects.filter(
        agency_id=actor.agency_id, cleared_at__isnull=True, point__isnull=False
    ).order_by("-dispatched_at")
