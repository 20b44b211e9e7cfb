"""The pages where an owner answers a footage request: reached from the emailed link (no
account, only the link's token) or, signed in, from their Requests page. Both ways run the
same views and the same services; only how the recipient is found, and the URLs, differ.

A wrong token, or a token of another request, is 404; so is a request not sent to the signed-in
owner. An expired request answers 410 and says so; a used one (every camera answered) says so
and shows the receipt.
"""

from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portal.decorators import requires
from registry.footage import selectors as sel
from registry.footage import services as rs
from registry.policies import can_own_cameras


@dataclass(frozen=True)
class Via:
    """How the owner reached the request: its pages' URL names, and the link's token if any."""

    names: dict[str, str]
    token: str = ""

    def url(self, page: str, recipient, *args) -> str:
        path = reverse(self.names[page], args=[recipient.request_id, *args])
        return f"{path}?{urlencode({'t': self.token})}" if self.token else path


LINK_PAGES = {
    page: f"registry_owner:{page}" for page in ("respond", "answer", "upload", "grant", "receipt")
}
ACCOUNT_PAGES = {
    "respond": "cameras:request",
    "answer": "cameras:request_answer",
    "upload": "cameras:request_upload",
    "grant": "cameras:request_grant",
    "receipt": "cameras:request_receipt",
}


def _token(request) -> str:
    return request.GET.get("t", "") or request.POST.get("t", "")


def with_recipient(view):
    """Resolve the link to its recipient (404 otherwise); never cache the page or leak its link."""

    @wraps(view)
    def wrapped(request, request_id, *args, **kwargs):
        token = _token(request)
        recipient = rs.recipient_for_link(request_id=request_id, token=token)
        response = view(request, recipient, Via(LINK_PAGES, token), *args, **kwargs)
        response["Cache-Control"] = "no-store"
        # same-origin, not no-referrer: the token stays off any other site's Referer, and the
        # owner's own form posts carry their real Origin (with no-referrer Chromium sends
        # `Origin: null`, which Django's CSRF check refuses).
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapped


def with_own_recipient(view):
    """The signed-in owner's part of the request (404 for a request not sent to them)."""

    @wraps(view)
    @requires(can_own_cameras)
    def wrapped(request, request_id, *args, **kwargs):
        recipient = sel.owner_request_get_for(owner=request.user, request_id=request_id)
        response = view(request, recipient, Via(ACCOUNT_PAGES), *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    return wrapped


def _context(recipient, via: Via) -> dict:
    request = recipient.request
    cameras = [
        {
            "rc": rc,
            "window": sel.window_in_zones(request, rc.camera),
            "answered": rc.status in rc.ANSWERED,
            "upload_url": via.url("upload", recipient, rc.pk),
        }
        for rc in recipient.cameras.select_related("camera")
    ]
    return {
        "req": request,
        "asking": sel.asking_party(request),
        "cameras": cameras,
        "answered_count": sum(1 for c in cameras if c["answered"]),
        "token": via.token,
        "signed_in": not via.token,
        "urls": {page: via.url(page, recipient) for page in ("respond", "answer", "receipt")},
        "state": rs.link_state(recipient),
    }


def _respond(request, recipient, via: Via):
    context = _context(recipient, via)
    if context["state"] == "open":
        rs.recipient_open(recipient=recipient)
    context["request_map"] = sel.request_map(recipient)
    status = 410 if context["state"] == "expired" else 200
    return render(request, "registry/footage/owner_respond.html", context, status=status)


def _answer(request, recipient, via: Via):
    try:
        rc = rs.footage_answer(
            recipient=recipient,
            request_camera_id=request.POST.get("camera", ""),
            answer=request.POST.get("answer", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Thank you: your answer for %(name)s was sent.") % {"name": rc.camera.name}
        )
    return redirect(via.url("respond", recipient))


def _upload_page(request, recipient, via: Via, rc_id):
    context = _context(recipient, via)
    rc = next((c for c in context["cameras"] if c["rc"].pk == rc_id), None)
    if rc is None:
        return render(request, "404.html", status=404)
    if context["state"] != "open" or rc["rc"].status in (
        rc["rc"].Status.NO_FOOTAGE,
        rc["rc"].Status.DECLINED,
    ):
        return redirect(via.url("respond", recipient))
    context |= {
        "camera": rc,
        "grant_url": via.url("grant", recipient, rc_id),
        "receipt_url": via.url("receipt", recipient),
    }
    return render(request, "registry/footage/owner_upload.html", context)


def _grant(request, recipient, via: Via, rc_id):
    """The upload grant for one camera, as JSON for the uploader (same shape as the staff one)."""
    try:
        issued = rs.footage_upload_grant(recipient=recipient, request_camera_id=rc_id)
    except rs.LinkClosed as exc:
        return JsonResponse({"detail": " ".join(exc.messages)}, status=410)
    offer = issued.offer()
    offer.update(id=str(offer["id"]), expires_at=offer["expires_at"].isoformat())
    return JsonResponse(offer, status=201)


def _receipt(request, recipient, via: Via):
    rows = rs.footage_receipt_record(recipient=recipient)
    computing = any(not item.sha256 for row in rows for item in row["items"])
    context = _context(recipient, via) | {"rows": rows, "computing": computing}
    return render(request, "registry/footage/owner_receipt.html", context)


# The emailed link's pages (/footage/...).
respond = require_GET(with_recipient(_respond))
answer = require_POST(with_recipient(_answer))
upload_page = require_GET(with_recipient(_upload_page))
grant = require_POST(with_recipient(_grant))
receipt = require_GET(with_recipient(_receipt))

# The same pages in the signed-in owner's account (/cameras/requests/...).
account_respond = require_GET(with_own_recipient(_respond))
account_answer = require_POST(with_own_recipient(_answer))
account_upload_page = require_GET(with_own_recipient(_upload_page))
account_grant = require_POST(with_own_recipient(_grant))
account_receipt = require_GET(with_own_recipient(_receipt))


@requires(can_own_cameras)
def requests_page(request):
    """The signed-in owner's Requests page: every request sent to them, with its state."""
    rows = sel.owner_request_rows(owner=request.user)
    return render(request, "registry/footage/owner_requests.html", {"rows": rows})
