"""Staff pages of CCTV live viewing and the incident live wall (mounted at /staff/live/), and
the owner's "who looked" page (at /cameras/mine/<id>/live/who-looked/: registry cannot import
livefeeds, so livefeeds serves it)."""

import functools

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from devices.models import CadIncident
from livefeeds import services, watching
from livefeeds import wall as live_wall
from livefeeds.forms import WallForm, WatchForm
from livefeeds.models import ViewSession
from livefeeds.policies import can_see_live, can_watch_live
from livefeeds.views import view_started
from portal.decorators import requires
from registry import selectors as registry_selectors
from registry.policies import can_own_cameras

_WALL_KEY = "live-wall:{}"


@never_cache
@requires(can_see_live)
def watch_camera(request, camera_id):
    """GET: the owner's decision now, and the form. POST: start the view and open it."""
    camera = watching.watchable_camera_get(actor=request.user, id=camera_id)
    decision = watching.decision_for(camera, request.user.agency)
    status = 200
    if request.method == "POST":
        form = WatchForm(request.POST)
        start = functools.partial(watching.watch_camera, actor=request.user, camera=camera)
        started, status = view_started(request, form, start, watching.CameraRefused)
        if started is not None:
            return started
    else:
        form = WatchForm()
    return render(
        request,
        "livefeeds/watch_camera.html",
        {
            "camera": camera,
            "form": form,
            "allowed": decision.allowed,
            "decision": watching.decision_words(decision),
            "code": decision.code,
        },
        status=status,
    )


def _incident_get(request, incident_id) -> CadIncident:
    incident = CadIncident.objects.filter(pk=incident_id, agency_id=request.user.agency_id).first()
    if incident is None:
        raise Http404("No such incident.")
    if not can_watch_live(request.user):
        raise PermissionDenied
    return incident


def _map_points(incident, tiles) -> list[dict]:
    points = [
        {
            "kind": "incident",
            "label": f"Incident {incident.incident_id}",
            "lat": incident.point.y,
            "lon": incident.point.x,
        }
    ]
    for i, tile in enumerate(tiles):
        if tile["lat"] is not None:
            kind = "camera" if tile["kind"] == "cam" else "item"
            points.append(
                {
                    "kind": kind,
                    "label": tile["label"],
                    "lat": tile["lat"],
                    "lon": tile["lon"],
                    "tile": i,
                }  # fmt: skip
            )
    return points


@never_cache
@requires(can_see_live)
def wall(request, incident_id):
    """An incident's live wall. GET: the start form, or the wall once started in this browser
    session. POST: start it (one reason, one case number, a distance) or stop every view."""
    incident = _incident_get(request, incident_id)
    key = _WALL_KEY.format(incident.pk)
    status = 200
    form = WallForm(initial={"case_ref": incident.incident_id, "distance_m": 300})
    if request.method == "POST" and request.POST.get("stop"):
        for tile in request.session.pop(key, {}).get("tiles", []):
            session = ViewSession.objects.filter(
                pk=tile["view_id"] or None, viewer=request.user
            ).first()
            if session is not None:
                services.view_end(actor=request.user, session=session)
        messages.success(request, "You stopped watching the wall.")
        return redirect("livefeeds:wall", incident.pk)
    if request.method == "POST":
        form = WallForm(request.POST)
        if form.is_valid():
            try:
                tiles = live_wall.wall_start(
                    actor=request.user, incident=incident, **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages)
                status = 400
            else:
                request.session[key] = {
                    "tiles": [t.as_dict() for t in tiles],
                    "distance_m": form.cleaned_data["distance_m"],
                }
                return redirect("livefeeds:wall", incident.pk)
    started = request.session.get(key)
    tiles = []
    if started:
        base = settings.RELAY_HLS_URL.rstrip("/")
        views = {
            str(v.pk): v
            for v in ViewSession.objects.filter(
                pk__in=[t["view_id"] for t in started["tiles"] if t["view_id"]]
            )
        }
        for tile in started["tiles"]:
            view = views.get(tile["view_id"])
            tile = dict(tile)
            if view is not None and view.ended_at is None:
                tile["hls"] = f"{base}/{tile['token']}/{view.app}/{view.stream}/index.m3u8"
                tile["view"] = view
            tile.pop("token", None)
            tiles.append(tile)
    return render(
        request,
        "livefeeds/wall.html",
        {
            "incident": incident,
            "form": form,
            "tiles": tiles,
            "started": bool(started),
            "distance_m": started["distance_m"] if started else None,
            "points": _map_points(incident, tiles) if incident.point else [],
        },
        status=status,
    )


@requires(can_own_cameras)
def who_looked(request, camera_id):
    """The owner's page: every live view of their camera, who, when, how long and why."""
    camera = registry_selectors.camera_get_for(actor=request.user, id=camera_id, write=True)
    response = render(
        request,
        "livefeeds/who_looked.html",
        {"camera": camera, "rows": watching.who_looked_rows(camera=camera)},
    )
    response["Cache-Control"] = "no-store"
    return response
