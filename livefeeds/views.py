"""Staff pages of live feeds, mounted at /staff/live/: the live cameras, watching one (with a
reason and a case number), the viewer page and its status/renew/end calls, revoking a view,
and an officer's "who watched my camera"."""

import functools
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from livefeeds import selectors as sel
from livefeeds import services, watching
from livefeeds.forms import RevokeForm, WatchForm
from livefeeds.models import ViewSession
from livefeeds.policies import can_revoke_views, can_see_live
from portal.decorators import not_user_activity, requires
from portal.policies import is_verified_staff

# The viewer's token is kept in their Django session (server side) for the page to use.
_VIEW_KEY = "live-view-token:{}"


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "You may not do that."


@requires(can_see_live)
def live_list(request):
    return render(
        request,
        "livefeeds/live_list.html",
        {
            "devices": sel.live_devices_for(actor=request.user),
            "watch_me": sel.watch_me_alerts_for(actor=request.user)[:50],
            "incidents": sel.open_incidents_for(actor=request.user)[:50],
            "views": sel.open_views_for(actor=request.user)[:200],
            "can_revoke": can_revoke_views(request.user),
            "zone": request.user.agency.time_zone,
        },
    )


def view_started(
    request,
    form: WatchForm,
    start: Callable[..., tuple[ViewSession, str]],
    refused: type[Exception],
) -> tuple[HttpResponse | None, int]:
    """Start a view from a valid watch form: (the redirect to its viewer page, 200), or (None,
    the status) with the refusal (409) or the service's errors on the form. The token is kept
    in the session for the viewer page only."""
    if not form.is_valid():
        return None, 200
    try:
        session, token = start(**form.cleaned_data)
    except refused as exc:
        form.add_error(None, str(exc))
        return None, 409
    except ValidationError as exc:
        form.add_error(None, exc.messages)
        return None, 200
    request.session[_VIEW_KEY.format(session.pk)] = token
    return redirect("livefeeds:view", session.pk), 200


@never_cache
@requires(can_see_live)
def watch(request, device_id):
    """GET: the form (the reason filled in as officer-requested under a "Watch me" alert).
    POST: start the view, and open the viewer page."""
    device = sel.watchable_device_get_for(actor=request.user, id=device_id)
    alert = services.watch_me_alert_of(device)
    status = 200
    if request.method == "POST":
        form = WatchForm(request.POST)
        start = functools.partial(services.view_start, actor=request.user, device=device)
        started, status = view_started(request, form, start, services.ViewRefused)
        if started is not None:
            return started
    else:
        initial = (
            {"reason": services.WATCH_ME_REASON, "reason_category": "officer_requested"}
            if alert
            else {}
        )
        if alert:
            initial["case_ref"] = f"alert {str(alert.pk)[:8]}"
        form = WatchForm(initial=initial)
    return render(
        request,
        "livefeeds/watch.html",
        {
            "device": device,
            "form": form,
            "alert": alert,
            "live": services.is_live("live", services.stream_of(device)),
            "recording": services.is_recording(device),
        },
        status=status,
    )


def _status_of(session: ViewSession) -> dict:
    now = timezone.now()
    if session.ended_at is None and session.expires_at <= now:
        services.views_close_expired(now=now)
        session.refresh_from_db()
    if session.ended_at is not None:
        detail = session.get_end_display()
        if session.end_reason:
            detail = f"{detail}: {session.end_reason}"
        return {"state": "ended", "detail": detail}
    if session.app == "cam":
        return {**watching.cam_status(session), "expires_at": session.expires_at.isoformat()}
    if services.is_live(session.app, session.stream):
        return {
            "state": "live",
            "detail": "The camera is streaming.",
            "expires_at": session.expires_at.isoformat(),
        }
    return {
        "state": "connecting",
        "detail": "Waiting for the camera's stream.",
        "expires_at": session.expires_at.isoformat(),
    }


@never_cache
@requires(can_see_live)
def view(request, view_id):
    session = sel.view_get_for(actor=request.user, id=view_id)
    token = request.session.get(_VIEW_KEY.format(session.pk))
    mine = session.viewer_id == request.user.pk
    hls = None
    if mine and token and session.ended_at is None:
        base = settings.RELAY_HLS_URL.rstrip("/")
        hls = f"{base}/{token}/{session.app}/{session.stream}/index.m3u8"
    return render(
        request,
        "livefeeds/view.html",
        {
            "session": session,
            "mine": mine,
            "hls": hls,
            "status": _status_of(session),
            "can_revoke": can_revoke_views(request.user) and session.ended_at is None,
            "revoke_form": RevokeForm(),
            "zone": request.user.agency.time_zone,
            "renew_seconds": 60,
        },
    )


@never_cache
@not_user_activity
@require_GET
@requires(can_see_live)
def view_status(request, view_id):
    session = sel.view_get_for(actor=request.user, id=view_id)
    return JsonResponse(_status_of(session))


@never_cache
@not_user_activity
@require_POST
@requires(can_see_live)
def view_renew(request, view_id):
    session = sel.view_get_for(actor=request.user, id=view_id)
    try:
        session = services.view_renew(actor=request.user, session=session)
    except ValidationError as exc:
        return JsonResponse({"state": "ended", "detail": _message(exc)}, status=409)
    return JsonResponse({"state": "renewed", "expires_at": session.expires_at.isoformat()})


@require_POST
@requires(can_see_live)
def view_end(request, view_id):
    session = sel.view_get_for(actor=request.user, id=view_id)
    services.view_end(actor=request.user, session=session)
    request.session.pop(_VIEW_KEY.format(session.pk), None)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"state": "ended"})
    messages.success(request, "You stopped watching.")
    return redirect("livefeeds:view", session.pk)


@require_POST
@requires(can_revoke_views)
def view_revoke(request, view_id):
    session = sel.view_get_for(actor=request.user, id=view_id)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the view is revoked.")
        return redirect("livefeeds:view", session.pk)
    try:
        services.view_revoke(actor=request.user, session=session, **form.cleaned_data)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, "Revoked: the viewer's next request is refused.")
    return redirect("livefeeds:view", session.pk)


@requires(is_verified_staff)
def watched_me(request):
    """The officer's own page: who watched their camera live, when and why."""
    return render(
        request,
        "livefeeds/watched_me.html",
        {
            "views": sel.watched_me(officer=request.user)[:500],
            "zone": request.user.agency.time_zone,
        },
    )
