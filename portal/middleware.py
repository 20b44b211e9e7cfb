"""Request id for every request, the staff idle timeout (CJIS 5.9.5: 30 minutes), and the
agency time zone staff times are typed and shown in."""

import re
import time
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.urls import Resolver404, resolve

from portal.context import (
    agency_zone_reset,
    agency_zone_set,
    request_id_reset,
    request_id_set,
)

_VALID_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
LAST_SEEN_KEY = "canvass_last_seen"
# "Last seen" is written to the session at most this often. Writing it on every request made
# every request save the session, and concurrent ones (HLS segments, API fetches) raced each
# other's saves: 404s on segments and spurious sign-outs. The cost: a session can end up to
# this many seconds before the full idle timeout, never after it.
LAST_SEEN_WRITE_INTERVAL_SECONDS = 60


class RequestIdMiddleware:
    """Tags each request with an id (a proxy's X-Request-ID if well-formed) for logs and audit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_INCOMING_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_reset(token)
        response["X-Request-ID"] = request_id
        return response


def _background(request) -> bool:
    """A request the page makes on its own (portal.decorators.not_user_activity)."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return getattr(match.func, "not_user_activity", False)


def _last_seen_is_stale(last_seen: float | None, now: float) -> bool:
    """Whether "last seen" is missing or old enough to be written again (see the interval)."""
    return last_seen is None or now - last_seen >= LAST_SEEN_WRITE_INTERVAL_SECONDS


class StaffIdleTimeoutMiddleware:
    """Ends a staff session that has been idle longer than STAFF_IDLE_TIMEOUT_SECONDS."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and user.is_staff_member:
            now = time.time()
            last_seen = request.session.get(LAST_SEEN_KEY)
            if last_seen is not None and now - last_seen > settings.STAFF_IDLE_TIMEOUT_SECONDS:
                from portal.services import session_expire

                session_expire(request=request, idle_seconds=int(now - last_seen))
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": "Session expired after inactivity."}, status=401)
                messages.info(request, "Your session ended after a period without activity.")
                return redirect_to_login(request.get_full_path())
            if _last_seen_is_stale(last_seen, now) and not _background(request):
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)


class AgencyZoneMiddleware:
    """For a signed-in staff member, the agency's time zone is the request's wall clock:
    staff forms read typed times in it and pages show it beside UTC (architecture rule 9)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        zone = "UTC"
        if user.is_authenticated and user.is_staff_member and user.agency_id:
            zone = user.agency.time_zone or "UTC"
        request.agency_zone = zone
        token = agency_zone_set(zone)
        try:
            return self.get_response(request)
        finally:
            agency_zone_reset(token)
