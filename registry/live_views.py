"""The owner's live-feed pages: link the camera's stream, test it, choose the live policy,
pause; and the no-account page where the owner answers an agency's "may we watch?" link."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portal.decorators import requires
from registry import feeds, selectors
from registry.models import LiveAsk, LiveMode
from registry.policies import can_own_cameras


def _page(request, camera, *, status: int = 200):
    feed = feeds.feed_of(camera)
    source = feeds.feed_source(feed) if feed.pk else None
    response = render(
        request,
        "registry/camera_live.html",
        {
            "camera": camera,
            "feed": feed,
            "address": source.address if source else "",
            "username": source.username if source else "",
            "modes": LiveMode.choices,
            "agencies": feeds.policy_agencies(camera),
            "has_still": feed.test_state
            and feeds.feed_still(actor=request.user, camera_id=camera.pk),
            "asks": camera.live_asks.select_related("agency")[:10],
            "now": timezone.now(),
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


def _back(camera_id):
    return redirect("cameras:live", camera_id=camera_id)


@requires(can_own_cameras)
def live(request, camera_id):
    """GET: the camera's live page. POST: save the stream address and credentials."""
    camera = selectors.camera_get_for(actor=request.user, id=camera_id, write=True)
    if request.method != "POST":
        return _page(request, camera)
    try:
        if request.POST.get("remove"):
            feeds.feed_remove(actor=request.user, camera_id=camera.pk)
            messages.success(request, _("The stream is removed."))
        else:
            feeds.feed_set(
                actor=request.user,
                camera_id=camera.pk,
                address=request.POST.get("address", ""),
                username=request.POST.get("username", ""),
                password=request.POST.get("password", ""),
            )
            messages.success(request, _("The stream is saved. Test the connection next."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _page(request, camera, status=400)
    return _back(camera.pk)


@require_POST
@requires(can_own_cameras)
def live_test(request, camera_id):
    try:
        feed = feeds.feed_test(actor=request.user, camera_id=camera_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        say = messages.success if feed.test_state == "ok" else messages.error
        say(request, feed.test_detail)
    return _back(camera_id)


@require_GET
@requires(can_own_cameras)
def live_still(request, camera_id):
    """The still frame of the owner's last test, to the owner only, never cached."""
    still = feeds.feed_still(actor=request.user, camera_id=camera_id)
    if not still:
        return HttpResponseNotFound(_("No still frame: test the connection again."))
    response = HttpResponse(still, content_type="image/jpeg")
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@requires(can_own_cameras)
def live_policy(request, camera_id):
    camera = selectors.camera_get_for(actor=request.user, id=camera_id, write=True)
    try:
        agency_raw = request.POST.get("agency", "")
        distance_raw = request.POST.get("incident_distance_m", "") or "200"
        if not distance_raw.isdigit() or (agency_raw and not agency_raw.isdigit()):
            raise ValidationError(_("Enter whole numbers."))
        feed = feeds.live_policy_set(
            actor=request.user,
            camera_id=camera.pk,
            mode=request.POST.get("mode", ""),
            agency_id=int(agency_raw) if agency_raw else None,
            incident_distance_m=int(distance_raw),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Live sharing: %(mode)s.") % {"mode": feed.get_mode_display()})
    return _back(camera_id)


@require_POST
@requires(can_own_cameras)
def live_pause(request, camera_id):
    feeds.live_pause(actor=request.user, camera_id=camera_id, paused=True)
    messages.success(request, _("Live sharing is paused: nobody can watch until you resume."))
    return _back(camera_id)


@require_POST
@requires(can_own_cameras)
def live_resume(request, camera_id):
    feeds.live_pause(actor=request.user, camera_id=camera_id, paused=False)
    messages.success(request, _("Live sharing follows your policy again."))
    return _back(camera_id)


# --- the owner's answer to "may we watch?" (a link, no account) -----------------------------


def _token(request) -> str:
    return request.GET.get("t", "") or request.POST.get("t", "")


def with_ask(view):
    """Resolve the link to its ask (404 otherwise); never cache the page or leak its link."""

    @wraps(view)
    def wrapped(request, ask_id, *args, **kwargs):
        ask = feeds.live_ask_for_link(ask_id=ask_id, token=_token(request))
        response = view(request, ask, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        # same-origin: the token stays off other sites' Referer, and form posts keep their
        # real Origin (no-referrer makes Chromium send `Origin: null`, which CSRF refuses).
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapped


@require_GET
@with_ask
def live_ask(request, ask):
    now = timezone.now()
    expired = ask.status == LiveAsk.Status.PENDING and ask.expires_at <= now
    return render(
        request,
        "registry/live_ask.html",
        {
            "ask": ask,
            "token": _token(request),
            "minutes": feeds.ALLOW_MINUTES,
            "expired": expired,
            "watching": ask.status == LiveAsk.Status.ALLOWED and ask.allowed_until > now,
        },
        status=410 if expired else 200,
    )


@require_POST
@with_ask
def live_ask_answer(request, ask):
    choice = request.POST.get("answer", "")
    try:
        if choice == "decline":
            feeds.live_ask_answer(ask=ask, minutes=None)
            messages.success(request, _("You declined: they cannot watch."))
        else:
            minutes = int(choice) if choice.isdigit() else -1
            ask = feeds.live_ask_answer(ask=ask, minutes=minutes)
            messages.success(
                request,
                _(
                    "You allowed %(agency)s to watch for %(minutes)s minutes. "
                    "You can pause live sharing at any moment on your camera's page."
                )
                % {"agency": ask.agency.name, "minutes": minutes},
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    url = reverse("cameras:live_ask", args=[ask.pk])
    return redirect(f"{url}?{urlencode({'t': _token(request)})}")
