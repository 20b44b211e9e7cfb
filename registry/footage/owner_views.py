"""The pages an owner reaches from a footage request email: no account, only the link's token.

A wrong token, or a token of another request, is 404. An expired link answers 410 and says
so; a used one (every camera answered) says so and shows the receipt.
"""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from registry.footage import selectors as sel
from registry.footage import services as rs


def _token(request) -> str:
    return request.GET.get("t", "") or request.POST.get("t", "")


def with_recipient(view):
    """Resolve the link to its recipient (404 otherwise); never cache the page or leak its link."""

    @wraps(view)
    def wrapped(request, request_id, *args, **kwargs):
        recipient = rs.recipient_for_link(request_id=request_id, token=_token(request))
        response = view(request, recipient, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        # same-origin, not no-referrer: the token stays off any other site's Referer, and the
        # owner's own form posts carry their real Origin (with no-referrer Chromium sends
        # `Origin: null`, which Django's CSRF check refuses).
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapped


def _url(name: str, recipient, token: str, *args) -> str:
    return f"{reverse(name, args=[recipient.request.pk, *args])}?{urlencode({'t': token})}"


def _back(recipient, token: str):
    return redirect(_url("registry_owner:respond", recipient, token))


def _context(recipient, token: str) -> dict:
    request = recipient.request
    cameras = [
        {
            "rc": rc,
            "window": sel.window_in_zones(request, rc.camera),
            "answered": rc.status in rc.ANSWERED,
        }
        for rc in recipient.cameras.select_related("camera")
    ]
    return {
        "req": request,
        "asking": sel.asking_party(request),
        "cameras": cameras,
        "token": token,
        "state": rs.link_state(recipient),
    }


@require_GET
@with_recipient
def respond(request, recipient):
    context = _context(recipient, _token(request))
    if context["state"] == "open":
        rs.recipient_open(recipient=recipient)
    status = 410 if context["state"] == "expired" else 200
    return render(request, "registry/footage/owner_respond.html", context, status=status)


@require_POST
@with_recipient
def answer(request, recipient):
    token = _token(request)
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
    return _back(recipient, token)


@require_GET
@with_recipient
def upload_page(request, recipient, rc_id):
    token = _token(request)
    context = _context(recipient, token)
    rc = next((c for c in context["cameras"] if c["rc"].pk == rc_id), None)
    if rc is None:
        return render(request, "404.html", status=404)
    if context["state"] != "open" or rc["rc"].status in (
        rc["rc"].Status.NO_FOOTAGE,
        rc["rc"].Status.DECLINED,
    ):
        return _back(recipient, token)
    context |= {
        "camera": rc,
        "grant_url": _url("registry_owner:grant", recipient, token, rc_id),
        "receipt_url": _url("registry_owner:receipt", recipient, token),
    }
    return render(request, "registry/footage/owner_upload.html", context)


@require_POST
@with_recipient
def grant(request, recipient, rc_id):
    """The upload grant for one camera, as JSON for the uploader (same shape as the staff one)."""
    try:
        issued = rs.footage_upload_grant(recipient=recipient, request_camera_id=rc_id)
    except rs.LinkClosed as exc:
        return JsonResponse({"detail": " ".join(exc.messages)}, status=410)
    offer = issued.offer()
    offer.update(id=str(offer["id"]), expires_at=offer["expires_at"].isoformat())
    return JsonResponse(offer, status=201)


@require_GET
@with_recipient
def receipt(request, recipient):
    rows = rs.footage_receipt_record(recipient=recipient)
    computing = any(not item.sha256 for row in rows for item in row["items"])
    context = _context(recipient, _token(request)) | {"rows": rows, "computing": computing}
    return render(request, "registry/footage/owner_receipt.html", context)
