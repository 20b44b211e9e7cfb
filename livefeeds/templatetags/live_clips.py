"""`{% live_clip_panel session %}`: the viewer page's clip buttons and the clips asked for."""

from django import template
from django.conf import settings

from livefeeds import clip_services
from livefeeds.clip_forms import ClipForm
from livefeeds.clip_views import clip_rows

register = template.Library()


@register.inclusion_tag("livefeeds/_clips.html", takes_context=True)
def live_clip_panel(context, session):
    user = context["request"].user
    may = clip_services.may_clip(user, session)
    cases = clip_services.writable_cases(user) if may else []
    initial = {"case_number": session.case_ref if session.case_ref in cases else ""}
    return {
        "session": session,
        "may": may,
        "open": may and clip_services.can_still_clip(session),
        "deadline": clip_services.clip_deadline(session),
        "form": ClipForm(initial=initial, time_zone=user.agency.time_zone),
        "cases": cases,
        "choices": clip_services.CHOICES_SECONDS,
        "max_seconds": settings.LIVE_CLIP_MAX_SECONDS,
        "ring_seconds": clip_services.ring_seconds(),
        "clips": clip_rows(session),
        "zone": user.agency.time_zone,
        "csrf_token": context.get("csrf_token"),
    }
