"""The viewer page's clip buttons (/staff/live/views/<id>/clips/): queue a clip of the view
into a case, and the state of the clips asked for from it. Thin: livefeeds.clip_services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from livefeeds import clip_services
from livefeeds import selectors as sel
from livefeeds.clip_forms import ClipForm
from livefeeds.policies import can_see_live
from portal.decorators import not_user_activity, requires


def _wants_json(request) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


def _errors(exc: ValidationError) -> list[str]:
    return exc.messages


def clip_rows(session) -> list[dict]:
    return [
        {
            "clip": clip.clip_id,
            "asked": clip.asked,
            "case": clip.case_number,
            "state": clip.state,
            "label": str(clip_services.STATE_LABELS.get(clip.state, clip.state)),
            "message": clip.message,
            "item_url": reverse("evidence:detail", args=[clip.item_id]) if clip.item_id else "",
        }
        for clip in clip_services.view_clips(session=session)
    ]


@require_POST
@requires(can_see_live)
def clip_save(request, view_id):
    session = sel.view_get_for(actor=request.user, id=view_id)
    form = ClipForm(request.POST, time_zone=request.user.agency.time_zone)
    errors: list[str] = []
    if form.is_valid():
        data = form.cleaned_data
        try:
            clip_services.clip_request(
                actor=request.user,
                session=session,
                case_number=data["case_number"],
                seconds=data["seconds"],
                start=data["start"],
                end=data["end"],
            )
        except ValidationError as exc:
            errors = _errors(exc)
    else:
        errors = [e for field_errors in form.errors.values() for e in field_errors]
    if _wants_json(request):
        if errors:
            return JsonResponse({"errors": errors}, status=400)
        return JsonResponse({"clips": clip_rows(session)}, status=202)
    for error in errors:
        messages.error(request, error)
    if not errors:
        messages.success(request, _("Clip queued: it is being cut from the relay."))
    return redirect(reverse("livefeeds:view", args=[session.pk]) + "#live-clips")


@never_cache
@not_user_activity
@require_GET
@requires(can_see_live)
def clip_status(request, view_id):
    session = sel.view_get_for(actor=request.user, id=view_id)
    return JsonResponse({"clips": clip_rows(session)})
