"""Public pages of the audit chain's daily checkpoints: anyone may list and download them.

They publish nothing but a sequence number, a hash and a time, the same for every agency, so
no sign-in is asked and reading them is not audited: an audit row per anonymous download
would let anyone grow the log at will.
"""

import json

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from portal.checkpoints import checkpoint_document
from portal.models import Agency, AuditCheckpoint


def _json_download(checkpoint: AuditCheckpoint) -> HttpResponse:
    text = json.dumps(checkpoint_document(checkpoint), indent=2, sort_keys=True) + "\n"
    response = HttpResponse(text, content_type="application/json")
    name = f"{checkpoint.agency.slug}-audit-checkpoint-{checkpoint.day:%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
def checkpoint_list(request, agency_slug):
    """An agency's checkpoints, newest first, with how to check one."""
    agency = get_object_or_404(Agency, slug=agency_slug)
    page = Paginator(AuditCheckpoint.objects.filter(agency=agency).order_by("-day"), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "portal/audit_checkpoints.html", {"agency": agency, "page": page})


@require_GET
def checkpoint_download(request, agency_slug, checkpoint_id):
    """One checkpoint as the JSON file `manage.py audit_verify --checkpoint` reads."""
    checkpoint = get_object_or_404(
        AuditCheckpoint.objects.select_related("agency"),
        agency__slug=agency_slug,
        pk=checkpoint_id,
    )
    return _json_download(checkpoint)


@require_GET
def checkpoint_latest(request, agency_slug):
    """The agency's newest checkpoint, for whoever fetches one a day to keep."""
    checkpoint = (
        AuditCheckpoint.objects.select_related("agency")
        .filter(agency__slug=agency_slug)
        .order_by("-day")
        .first()
    )
    if checkpoint is None:
        raise Http404("No checkpoint yet.")
    return _json_download(checkpoint)
