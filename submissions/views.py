"""The public tip pages: the agencies, the tip form (works without JavaScript), the receipt and
the return page. No account, no session: a returning tipster holds a short-lived signed cookie
naming their tip, nothing else. CSRF does not apply (no cookie identifies anyone when a tip is
sent; the return cookie is SameSite=Strict, so another site cannot post with it)."""

import zoneinfo

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from portal import geocoding
from portal.models import Agency
from submissions import abuse, selectors, services
from submissions.api import WRONG_RECEIPT
from submissions.forms import (
    CHOOSE_CATEGORY,
    SAY_WHAT_HAPPENED,
    SAY_WHEN,
    ReceiptForm,
    TipForm,
    TipsterMessageForm,
)
from submissions.limits import rate_limited, refuse_if_limited
from submissions.models import Tip, TipMessage

RETURN_COOKIE = "canvass_tip"
_RETURN_SALT = "canvass.tip-return"
_RETURN_PATH = "/tips/return/"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _too_many_page(request, limited) -> HttpResponse:
    response = render(request, "submissions/too_many.html", status=429)
    response["Retry-After"] = limited["Retry-After"]
    return _no_store(response)


def _offline_script() -> bool:
    return bool(finders.find("dist/tip-offline.js"))


def _js_strings() -> dict:
    return {
        "sending": _("Sending your tip…"),
        "checking": _("Checking this is not an automated sender… (a few seconds)"),
        "sendingFile": _("Sending: %(name)s"),
        "receivedFile": _("Received: %(name)s"),
        "failedFile": _("Not received: %(name)s — %(reason)s"),
        "progressOf": _("Upload progress of %(name)s"),
        "locating": _("Finding your location…"),
        "located": _("Place set from your location."),
        "noLocation": _("Your location is not available. Tap the map or type an address."),
        "searching": _("Looking up the address…"),
        "found": _("Found: %(label)s"),
        "placeSet": _("Place set on the map."),
        "failed": _("Your tip was not sent: %(reason)s"),
        "offline": _("The server could not be reached."),
        "filesDone": _("All files were received."),
        "filesNone": _("No files were added."),
        "fileWaiting": _(
            "1 file waiting to upload — keep this page open or come back to it later."
        ),
        "filesWaiting": _(
            "%(count)s files waiting to upload — keep this page open or come back to it later."
        ),
        "fileRefused": _("Not received: %(name)s — %(reason)s. It stays on this phone."),
        "removeFile": _("Remove it from this phone"),
        "chooseCategory": str(CHOOSE_CATEGORY),
        "sayWhatHappened": str(SAY_WHAT_HAPPENED),
        "sayWhen": str(SAY_WHEN),
        "addPhotos": _("Add photos or videos"),
        "copied": _("Copied. Paste it somewhere safe, such as a note on your phone."),
        "copyFailed": _(
            "Copying did not work here. The receipt is selected: copy it, or write it down."
        ),
        "savedFile": _("Saved as a file in your downloads."),
        "printed": _("Sent to the printer."),
        "leaveWarning": _("Your receipt is not saved yet. Leave anyway?"),
        "receiptFile": _(
            "Your tip receipt: %(receipt)s\n"
            "Tip reference: %(reference)s\n"
            "To come back to your tip, open %(url)s and enter the receipt.\n"
            "Keep this file private: anyone with the receipt can open your tip."
        ),
    }


def _return_url(request) -> str:
    """Where a tipster comes back with the receipt (printed and saved with it)."""
    return request.build_absolute_uri(reverse("submissions:return_start"))


def _agencies_taking_tips():
    return Agency.objects.filter(kind="police").exclude(tip_settings__accepting_tips=False)


def landing(request):
    """Pick the agency to send a tip to, or come back with a receipt."""
    agencies = list(_agencies_taking_tips().defer("jurisdiction"))
    return render(request, "submissions/landing.html", {"agencies": agencies})


def _agency_now(agency: Agency):
    return timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(agency.time_zone))


def _geocode_fallback(form_data: dict) -> tuple[float | None, float | None, str]:
    """No-JS path: place a typed address on the map if we can; a note for the receipt if not."""
    if form_data.get("latitude") is not None or not form_data.get("address"):
        return form_data.get("latitude"), form_data.get("longitude"), ""
    try:
        place = geocoding.geocode(form_data["address"])
    except (geocoding.GeocoderUnavailable, ValueError):
        return (
            None,
            None,
            _("Address search was not available, so your address was kept as you wrote it."),
        )
    if place is None:
        return (
            None,
            None,
            _("The address was not found on the map, so it was kept as you wrote it."),
        )
    return place.latitude, place.longitude, ""


@csrf_exempt
@require_http_methods(["GET", "POST"])
def tip_form(request, slug):
    """The tip page. With JavaScript the script sends through the API (with files); without
    it, this view takes a plain POST of a text-only tip under a stricter rate limit."""
    agency = get_object_or_404(_agencies_taking_tips().defer("jurisdiction"), slug=slug)
    tip_settings = selectors.settings_for(agency)
    zone = zoneinfo.ZoneInfo(agency.time_zone)
    note = ""
    with timezone.override(zone):
        if request.method == "POST":
            limited = rate_limited(request, "create")
            payload = request.POST.get("altcha", "")
            if not limited and not payload:
                # No proof-of-work is possible without JavaScript: a much smaller allowance.
                limited = rate_limited(request, "nojs_create")
            if limited:
                return _too_many_page(request, limited)
            form = TipForm(request.POST, agency=agency)
            if form.is_valid():
                try:
                    if payload:
                        abuse.pow_spend(payload)
                    latitude, longitude, note = _geocode_fallback(form.cleaned_data)
                    new = services.tip_create(
                        agency=agency,
                        category=form.cleaned_data["category"],
                        description=form.cleaned_data["description"],
                        occurred_at=form.cleaned_data["occurred_at"],
                        latitude=latitude,
                        longitude=longitude,
                        address=form.cleaned_data["address"],
                        contact=form.cleaned_data["contact"],
                        share_file_metadata=form.cleaned_data["share_file_metadata"],
                    )
                except abuse.PowRefused as refused:
                    form.add_error(None, str(refused))
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    return _no_store(
                        render(
                            request,
                            "submissions/receipt.html",
                            {
                                "agency": agency,
                                "tip": new.tip,
                                "receipt": new.receipt,
                                "note": note,
                                "return_url": _return_url(request),
                                "js_strings": _js_strings(),
                            },
                        )
                    )
            status = 400
        else:
            # As text: base.html renders in UTC, and this is the agency's wall-clock time.
            now = _agency_now(agency).strftime("%Y-%m-%dT%H:%M")
            form = TipForm(agency=agency, initial={"occurred_at": now})
            status = 200
    context = {
        "agency": agency,
        "form": form,
        "max_file_bytes": tip_settings.max_file_bytes,
        "max_files": tip_settings.max_files,
        "upload_chunk_bytes": settings.TIPS_UPLOAD_CHUNK_BYTES,
        "upload_stall_seconds": settings.TIPS_UPLOAD_STALL_SECONDS,
        "geocoding": geocoding.is_configured(),
        "js_strings": _js_strings(),
        "offline_script": _offline_script(),
        "return_url": _return_url(request),
    }
    return _no_store(render(request, "submissions/tip_form.html", context, status=status))


# --- return -------------------------------------------------------------------------------


def _returning_tip(request) -> Tip | None:
    value = request.COOKIES.get(RETURN_COOKIE, "")
    if not value:
        return None
    try:
        tip_id = signing.loads(
            value, salt=_RETURN_SALT, max_age=settings.TIPS_RETURN_SESSION_SECONDS
        )
    except signing.BadSignature:
        return None
    return (
        Tip.objects.select_related("agency", "category")
        .defer("agency__jurisdiction")
        .filter(pk=tip_id)
        .first()
    )


def _set_return_cookie(response, tip: Tip) -> None:
    response.set_cookie(
        RETURN_COOKIE,
        signing.dumps(str(tip.pk), salt=_RETURN_SALT),
        max_age=settings.TIPS_RETURN_SESSION_SECONDS,
        path=_RETURN_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def return_start(request):
    """Enter the receipt. One generic error for any wrong receipt; 429 after too many."""
    form = ReceiptForm(request.POST or None)
    status = 200
    if request.method == "POST":
        limited = refuse_if_limited(request, "wrong_receipt")
        if limited:
            return _too_many_page(request, limited)
        tip = services.tip_find_by_receipt(receipt=request.POST.get("receipt", "")[:200])
        if tip is not None:
            services.tip_record_return(tip=tip)
            response = redirect("submissions:return_tip")
            _set_return_cookie(response, tip)
            return response
        rate_limited(request, "wrong_receipt")
        form = ReceiptForm(request.POST)
        form.is_valid()
        form.add_error(None, _(WRONG_RECEIPT))
        status = 400
    return _no_store(
        render(request, "submissions/return_start.html", {"form": form}, status=status)
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def return_tip(request):
    """Status, the investigators' questions, an answer box, and adding files."""
    tip = _returning_tip(request)
    if tip is None:
        return redirect("submissions:return_start")
    form = TipsterMessageForm()
    status = 200
    if request.method == "POST":
        limited = rate_limited(request, "return_action")
        if limited:
            return _too_many_page(request, limited)
        form = TipsterMessageForm(request.POST)
        if form.is_valid():
            try:
                services.tipster_message_add(tip=tip, body=form.cleaned_data["body"])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect(f"{request.path}?sent=1")
        status = 400
    # `conversation`, not `messages`: that name is Django's flash messages, which base.html shows.
    conversation = list(tip.messages.all())
    closes_at = services.conversation_closes_at(tip)
    context = {
        "conversation_closes_at": closes_at,
        "conversation_closed": timezone.now() >= closes_at,
        "tip": tip,
        "status": services.public_status(tip),
        "conversation": conversation,
        "waiting_question": bool(conversation)
        and conversation[-1].direction == TipMessage.Direction.TO_TIPSTER,
        "form": form,
        "sent": request.GET.get("sent") == "1",
        # The return page sends files in pieces of this size, as the tip form does.
        "upload_chunk_bytes": settings.TIPS_UPLOAD_CHUNK_BYTES,
        "upload_stall_seconds": settings.TIPS_UPLOAD_STALL_SECONDS,
        "js_strings": _js_strings(),
    }
    return _no_store(render(request, "submissions/return_tip.html", context, status=status))


@csrf_exempt
@require_POST
def return_upload_grant(request):
    """The return page's script asks here for a grant to add files (the cookie names the tip)."""
    tip = _returning_tip(request)
    if tip is None:
        return JsonResponse(
            {"detail": _("Your return session ended. Enter your receipt again.")}, status=403
        )
    limited = rate_limited(request, "return_action")
    if limited:
        return limited
    try:
        offer = services.tipster_upload_grant(tip=tip)
    except ValidationError as error:
        return JsonResponse({"detail": " ".join(error.messages)}, status=409)
    body = offer.as_dict() | {"expires_at": offer.expires_at.isoformat()}
    return JsonResponse(body, status=201)


@csrf_exempt
@require_POST
def return_leave(request):
    """Forget the return cookie on this device."""
    response = redirect("submissions:landing")
    response.delete_cookie(RETURN_COOKIE, path=_RETURN_PATH, samesite="Strict")
    return response
