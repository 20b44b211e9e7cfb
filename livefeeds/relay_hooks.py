"""The relay's callbacks into Django (nginx-rtmp's on_publish/on_update/on_publish_done, and
the HTTP server's auth_request for every HLS playlist and segment), mounted at /relay/.

Accepted only from this host with RELAY_SECRET in the query (nginx-rtmp cannot add headers);
anything else is a 403, and so is every "no". nginx refuses when Django does not answer, so
the relay fails closed. Thin: the decisions are livefeeds.services'.
"""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from livefeeds import services
from portal.decorators import not_user_activity


def _from_relay(request: HttpRequest) -> bool:
    secret = request.GET.get("secret", "")
    return (
        services.is_loopback(request.META.get("REMOTE_ADDR", ""))
        and bool(secret)
        and hmac.compare_digest(secret.encode(), settings.RELAY_SECRET.encode())
    )


def _call(request: HttpRequest) -> services.PublishCall:
    form = request.POST
    return services.PublishCall(
        app=form.get("app", ""),
        stream=form.get("name", ""),
        client_id=form.get("clientid", ""),
        addr=form.get("addr", ""),
        key=form.get("key", ""),
        relay_key=form.get("relay", ""),
    )


def _answer(allowed: bool) -> HttpResponse:
    return HttpResponse(status=200 if allowed else 403)


@csrf_exempt
@require_POST
def on_publish(request):
    if not _from_relay(request):
        return _answer(False)
    return _answer(services.publish_start(call=_call(request)))


@csrf_exempt
@require_POST
def on_update(request):
    if not _from_relay(request):
        return _answer(False)
    if request.POST.get("call") != "update_publish":
        return _answer(False)  # nobody plays RTMP from the relay
    return _answer(services.publish_update(call=_call(request)))


@csrf_exempt
@require_POST
def on_publish_done(request):
    if not _from_relay(request):
        return _answer(False)
    services.publish_done(call=_call(request))
    return _answer(True)


def auth_hls_answer(request: HttpRequest) -> HttpResponse:
    """auth_request: 204 serves the file, 403 refuses it (nginx allows only 2xx/401/403)."""
    if not _from_relay(request):
        return HttpResponse(status=403)
    allowed = services.hls_allowed(request.headers.get("X-Original-URI", ""))
    return HttpResponse(status=204 if allowed else 403)


@not_user_activity
@require_GET
def auth_hls(request):
    return auth_hls_answer(request)


AUTH_HLS_PATH = "/relay/auth/hls"


class RelayAuthMiddleware:
    """Answers nginx's auth_request for every HLS playlist and segment before the rest of the
    middleware (sessions, CSRF, sign-in, CSP, languages) runs: the call carries no cookie and
    no page, and its cost is added to every segment a viewer fetches (goal: ≤ 2 ms)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == AUTH_HLS_PATH and request.method == "GET":
            return auth_hls_answer(request)
        return self.get_response(request)
