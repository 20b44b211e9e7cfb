"""Staff pages for evidence: list, upload, item (playback, metadata, map, custody), report,
downloads."""

import json

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from evidence import playback, policies, selectors, services
from evidence.cases import policies as case_policies
from evidence.cases import selectors as case_selectors
from evidence.cases.forms import ClockShiftForm
from evidence.custody import proof as custody_proof_service
from evidence.forms import (
    FlagForm,
    ItemFilterForm,
    ItemRetentionForm,
    MetadataChangeForm,
    ReasonForm,
    RetentionCategoryForm,
)
from evidence.models import CaseItem, Derivative, EvidenceItem
from evidence.selectors import ItemFilters
from portal import storage
from portal.decorators import requires
from portal.pagination import BoundedPaginator
from portal.text import clean_text, errors_text

# What the evidence list shows as a thumbnail: a video's poster frame or an image's preview.
THUMBNAIL_KINDS = (Derivative.Kind.POSTER, Derivative.Kind.IMAGE_PREVIEW)
PLAYBACK_KINDS = (
    Derivative.Kind.HLS_PLAYLIST,
    Derivative.Kind.PROXY_MP4,
    Derivative.Kind.AUDIO_PROXY,
)


@requires(policies.can_view_evidence)
def item_list(request):
    form = ItemFilterForm(request.GET or None)
    filters = (
        ItemFilters(**form.cleaned_data) if form.is_bound and form.is_valid() else ItemFilters()
    )
    items = selectors.items_for(actor=request.user, filters=filters).prefetch_related(
        Prefetch(
            "derivatives",
            queryset=Derivative.objects.filter(kind__in=THUMBNAIL_KINDS).order_by("kind"),
            to_attr="thumbs",
        ),
        Prefetch(
            "case_items",
            # Only the cases this reader may open: a case column is no window into others.
            queryset=CaseItem.objects.filter(
                case__in=case_selectors.cases_for(actor=request.user).values("pk")
            )
            .select_related("case")
            .order_by("case__number"),
            to_attr="visible_case_items",
        ),
    )
    page = BoundedPaginator(items, 25).get_page(request.GET.get("page"))
    for item in page:
        item.facts = selectors.item_facts_for(actor=request.user, item=item)
    services.items_record_list(
        actor=request.user, filters=filters.__dict__, count=page.paginator.count
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "evidence/item_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_add_to_case": case_policies.can_manage_cases(request.user),
        },
    )


@requires(policies.can_upload_evidence)
def upload_page(request):
    """The uploader; the page asks for its upload grant itself, so a reload never reuses one."""
    return render(
        request,
        "evidence/upload.html",
        {"can_file_into_case": case_policies.can_manage_cases(request.user)},
    )


@requires(policies.can_view_evidence)
def item_detail(request, item_id):
    item = selectors.item_get_for(actor=request.user, id=item_id)
    services.item_record_view(actor=request.user, item=item, via="page")
    derivatives = {d.kind: d for d in item.derivatives.exclude(kind=Derivative.Kind.HLS_SEGMENT)}
    context = {
        "item": item,
        "facts": selectors.item_facts_for(actor=request.user, item=item),
        "track": selectors.item_track_for(actor=request.user, item=item),
        "derivatives": derivatives,
        "downloadable": [d for k, d in derivatives.items() if k != Derivative.Kind.HLS_PLAYLIST],
        "custody": selectors.custody_of(item=item),
        "checks": item.checks.all()[:5],
        "item_cases": CaseItem.objects.filter(
            item=item, case__in=case_selectors.cases_for(actor=request.user).values("pk")
        ).select_related("case"),
        "can_add_to_case": case_policies.can_manage_cases(request.user)
        and item.state != EvidenceItem.State.DELETED,
        "redactions": selectors.redactions_of(item=item),
        "can_redact": policies.can_upload_evidence(request.user)
        and item.state == EvidenceItem.State.READY
        and item.media_kind in ("video", "image"),
        "metadata_form": MetadataChangeForm()
        if policies.can_upload_evidence(request.user)
        else None,
        "item_admin": {
            "retention_form": ItemRetentionForm(
                agency=item.agency, initial={"category": item.retention_category_id}
            ),
            "can_hold": policies.can_manage_retention(request.user),
            "can_delete": policies.can_request_deletion(request.user),
        }
        if case_policies.can_manage_cases(request.user)
        else None,
    }
    return render(request, "evidence/item_detail.html", context)


@require_POST
@requires(policies.can_upload_evidence)
def item_metadata(request, item_id):
    """Correct capture time or place (audited with old and new values and the reason)."""
    item = selectors.item_get_for(actor=request.user, id=item_id, write=True)
    form = MetadataChangeForm(request.POST)
    if form.is_valid():
        try:
            changed = services.item_metadata_change(
                actor=request.user, item=item, reason=form.cleaned_data["reason"], **form.changes()
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Changed: {', '.join(changed) or 'nothing (same values)'}.")
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("evidence:detail", item.pk)


@requires(policies.can_view_evidence)
def custody_report(request, item_id):
    item = selectors.item_get_for(actor=request.user, id=item_id)
    services.item_record_view(actor=request.user, item=item, via="custody")
    custody = list(selectors.custody_of(item=item))
    for event in custody:
        event.details = selectors.custody_details_for(
            actor=request.user, item=item, details=event.details
        )
    context = {
        "item": item,
        "custody": custody,
        "derivatives": item.derivatives.all(),
    }
    return render(request, "evidence/custody_report.html", context)


@requires(policies.can_view_evidence)
def custody_proof(request, item_id):
    """The item's custody proof as a file, to check offline with verify_custody.py."""
    item = selectors.item_get_for(actor=request.user, id=item_id)
    try:
        proof = custody_proof_service.item_proof_export(actor=request.user, item=item, via="page")
    except custody_proof_service.ProofExportsExceeded as exc:
        response = render(
            request,
            "evidence/custody_proof_refused.html",
            {"item": item, "message": str(exc)},
            status=429,
        )
        response["Retry-After"] = str(exc.retry_after)
        return response
    response = HttpResponse(
        custody_proof_service.proof_bytes(proof), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="custody-proof-{item.pk}.json"'
    return response


def custody_verifier(request):
    """The standalone verifier script (public: it is code, and holds no secret)."""
    response = HttpResponse(
        custody_proof_service.VERIFIER_PATH.read_bytes(), content_type="text/x-python"
    )
    response["Content-Disposition"] = 'attachment; filename="verify_custody.py"'
    return response


def custody_public_key(request):
    """The public half of the key that signs the audit log's checkpoints (published)."""
    response = HttpResponse(
        custody_proof_service.public_key_pem(), content_type="application/x-pem-file"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{custody_proof_service.PUBLIC_KEY_NAME}"'
    )
    return response


@require_POST
@requires(policies.can_view_evidence)
def download(request, item_id):
    """Issue a short-lived download link (audited) and send the browser to it."""
    item = selectors.item_get_for(actor=request.user, id=item_id)
    if item.state == EvidenceItem.State.DELETED:
        raise Http404("This item was deleted; only its record and custody remain.")
    derivative = None
    if name := request.POST.get("derivative"):
        derivative = selectors.derivative_get_for(actor=request.user, item_id=item.pk, name=name)
    elif not policies.can_see_identifying_metadata(request.user, item):
        raise PermissionDenied("The original keeps its metadata; you may download the copies.")
    url, _ = services.download_url_issue(actor=request.user, item=item, derivative=derivative)
    return redirect(url)


@requires(policies.can_view_evidence)
def download_signed(request):
    """Local-storage downloads: the signed link, for the user it was issued to, for 5 minutes.

    The token rides in the query string, which our access log leaves out.
    """
    try:
        key, name = services.download_token_read(token=request.GET.get("t", ""), actor=request.user)
    except signing.BadSignature as exc:
        raise Http404("This download link is wrong or expired.") from exc
    response = FileResponse(
        storage.open_object(key),
        as_attachment=True,
        filename=name,
        content_type="application/octet-stream",
    )
    response["Content-Disposition"] = storage.attachment_disposition(name)
    return response


@requires(policies.can_view_evidence)
def media_file(request, item_id, name):
    """Playback files (HLS playlist and segments, proxy, poster, preview), never served inline as HTML.

    Every fetch is a custody event except HLS segments, which are served only to a session
    whose playlist fetch for this item was recorded.
    """
    derivative = selectors.derivative_get_for(actor=request.user, item_id=item_id, name=name)
    item_key = str(derivative.item_id)
    if derivative.kind == Derivative.Kind.HLS_SEGMENT:
        if not playback.playback_granted(session=request.session, item_id=item_key):
            raise Http404("Start playback from the item's page.")
    else:
        services.item_record_media_fetch(
            actor=request.user, item=derivative.item, derivative=derivative
        )
        if derivative.kind == Derivative.Kind.HLS_PLAYLIST:
            playback.playback_grant(session=request.session, item_id=item_key)
    response = FileResponse(storage.open_object(derivative.key), content_type=derivative.media_type)
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _item_for_write(request, item_id) -> EvidenceItem:
    return selectors.item_get_for(actor=request.user, id=item_id)


@require_POST
@requires(policies.can_manage_retention)
def item_legal_hold(request, item_id):
    return item_flag_save(
        request,
        item_id,
        save=lambda item, on, reason: services.item_legal_hold_set(
            actor=request.user, item=item, hold=on, reason=reason
        ),
        saved="Legal hold saved.",
    )


def item_flag_save(request, item_id, *, save, saved: str):
    """An item flag set or cleared with a reason (legal hold, do not disclose), back to the item."""
    item = _item_for_write(request, item_id)
    form = FlagForm(request.POST)
    if form.is_valid():
        save(item, form.cleaned_data["on"], form.cleaned_data["reason"])
        messages.success(request, saved)
    else:
        messages.error(request, "Say why.")
    return redirect("evidence:detail", item.pk)


@require_POST
@requires(case_policies.can_manage_cases)
def item_retention(request, item_id):
    item = _item_for_write(request, item_id)
    form = ItemRetentionForm(request.POST, agency=item.agency)
    if form.is_valid():
        services.item_retention_set(
            actor=request.user, item=item, category=form.cleaned_data["category"]
        )
        messages.success(request, "Retention category saved.")
    else:
        messages.error(request, "Choose one of your agency's categories.")
    return redirect("evidence:detail", item.pk)


@require_POST
@requires(policies.can_request_deletion)
def item_deletion_request(request, item_id):
    item = _item_for_write(request, item_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the item should be deleted.")
        return redirect("evidence:detail", item.pk)
    try:
        services.deletion_request(actor=request.user, item=item, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, errors_text(exc))
    else:
        messages.success(request, "Deletion requested: a second person must approve it.")
    return redirect("evidence:detail", item.pk)


@requires(policies.can_view_evidence)
def retention_page(request):
    can_manage = policies.can_manage_retention(request.user)
    form = RetentionCategoryForm(request.POST or None) if can_manage else None
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.retention_category_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, errors_text(exc))
            else:
                messages.success(request, "Category created.")
                return redirect("evidence:retention")
    requests = selectors.deletion_requests_for(actor=request.user)[:100]
    return render(
        request,
        "evidence/retention.html",
        {
            "categories": selectors.retention_categories_for(actor=request.user),
            "form": form,
            "requests": [(r, policies.can_approve_deletion(request.user, r)) for r in requests],
        },
    )


@require_POST
@requires(policies.can_request_deletion)
def deletion_decide(request, request_id):
    deletion = selectors.deletion_request_get_for(actor=request.user, id=request_id)
    try:
        if request.POST.get("decision") == "approve":
            services.deletion_approve(actor=request.user, request=deletion)
            messages.success(request, "Deleted. The item's tombstone and custody remain.")
        else:
            services.deletion_refuse(
                actor=request.user,
                request=deletion,
                reason=clean_text(request.POST.get("reason", "")),
            )
            messages.success(request, "Deletion refused.")
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "You cannot decide this request.")
    except ValidationError as exc:
        messages.error(request, errors_text(exc))
    return redirect("evidence:retention")


@require_POST
@requires(policies.can_upload_evidence)
def item_redact(request, item_id):
    """Start a face-redacted copy: the analysis runs first, then the job waits for a person to
    review its draft in the editor and approve it."""
    item = selectors.item_get_for(actor=request.user, id=item_id, write=True)
    fill = request.POST.get("fill", "")
    try:
        job = services.redaction_start(actor=request.user, item=item, fill=fill)
    except ValidationError as exc:
        messages.error(request, errors_text(exc))
        return redirect("evidence:detail", item.pk)
    return redirect("evidence:redaction", item.pk, job.pk)


def _editor_sources(item: EvidenceItem) -> dict:
    """What the editor shows under its boxes: the item's own playback files (media route)."""
    kinds = (*PLAYBACK_KINDS, Derivative.Kind.POSTER, Derivative.Kind.IMAGE_PREVIEW)
    found = {d.kind: d for d in item.derivatives.filter(kind__in=kinds)}
    return {
        kind: reverse("evidence:media", args=[item.pk, d.name])
        for kind, d in found.items()
        if kind != Derivative.Kind.AUDIO_PROXY
    }


@requires(policies.can_view_evidence)
def redaction_page(request, item_id, redaction_id):
    """A job's progress (the page reloads itself while it runs), its editor while it waits
    for review, and its result."""
    job = selectors.redaction_get_for(actor=request.user, item_id=item_id, id=redaction_id)
    context = {"item": job.item, "job": job}
    if job.state == job.State.REVIEW and job.draft is not None:
        services.item_record_view(actor=request.user, item=job.item, via="redaction editor")
        context["editor"] = {
            "draft": job.draft,
            "sources": _editor_sources(job.item),
            "urls": {
                "draft": reverse("evidence:redaction_draft", args=[job.item_id, job.pk]),
                "track": reverse("evidence:redaction_track", args=[job.item_id, job.pk]),
            },
            "can_edit": policies.can_upload_evidence(request.user),
        }
        context["draft_sha256"] = services.draft_sha256(job.draft)
    return render(request, "evidence/redaction.html", context)


EDITS_MAX_BYTES = 512 * 1024  # a reviewer's whole draft edits; the detections are not sent


def _json_body(request):
    """The request's JSON body, or a JsonResponse refusing it (too big, not JSON)."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > EDITS_MAX_BYTES:
        return None, JsonResponse({"error": "The edits are too large to save."}, status=413)
    try:
        return json.loads(request.body), None
    except (ValueError, UnicodeDecodeError, RecursionError):  # (deep nesting: "[[[[...")
        return None, JsonResponse({"error": "The edits are not valid JSON."}, status=400)


def _review_state(job) -> dict:
    draft = job.draft or {}
    return {
        "fill": draft.get("params", {}).get("fill"),
        "manual_boxes": draft.get("manual_boxes", []),
        "suppressed": draft.get("suppressed", []),
        "mute_ranges": draft.get("mute_ranges", []),
        "reviewed_by": job.reviewed_by.get_username() if job.reviewed_by else None,
        "draft_sha256": services.draft_sha256(job.draft),
    }


@require_POST
@requires(policies.can_upload_evidence)
def redaction_draft(request, item_id, redaction_id):
    """Save a reviewer's edits to the draft (JSON); a refused edit leaves the saved draft."""
    job = selectors.redaction_get_for(actor=request.user, item_id=item_id, id=redaction_id)
    edits, refused = _json_body(request)
    if refused:
        return refused
    try:
        job = services.redaction_draft_save(actor=request.user, job=job, edits=edits)
    except ValidationError as exc:
        return JsonResponse({"error": errors_text(exc)}, status=400)
    return JsonResponse(_review_state(job))


@require_POST
@requires(policies.can_upload_evidence)
def redaction_track(request, item_id, redaction_id):
    """Track one saved manual box across its frames from its keyframes (JSON: {"box": id})."""
    job = selectors.redaction_get_for(actor=request.user, item_id=item_id, id=redaction_id)
    body, refused = _json_body(request)
    if refused:
        return refused
    box_id = body.get("box") if isinstance(body, dict) else None
    if not isinstance(box_id, str):
        return JsonResponse({"error": "Say which box to track."}, status=400)
    try:
        job = services.redaction_track(actor=request.user, job=job, box_id=box_id[:40])
    except ValidationError as exc:
        return JsonResponse({"error": errors_text(exc)}, status=400)
    return JsonResponse(_review_state(job))


@require_POST
@requires(policies.can_upload_evidence)
def redaction_approve(request, item_id, redaction_id):
    """Approve the reviewed draft; the job renders it on the media queue."""
    job = selectors.redaction_get_for(actor=request.user, item_id=item_id, id=redaction_id)
    try:
        services.redaction_approve(
            actor=request.user, job=job, seen=request.POST.get("draft_sha256", "")
        )
    except ValidationError as exc:
        messages.error(request, errors_text(exc))
    else:
        messages.success(request, "Approved: the redacted copy is being made.")
    return redirect("evidence:redaction", job.item_id, job.pk)


@require_POST
@requires(policies.can_upload_evidence)
def redaction_cancel(request, item_id, redaction_id):
    job = selectors.redaction_get_for(actor=request.user, item_id=item_id, id=redaction_id)
    services.redaction_cancel(actor=request.user, job=job)
    messages.success(request, "Redaction cancelled.")
    return redirect("evidence:redaction", job.item_id, job.pk)


@require_POST
@requires(case_policies.can_manage_cases)
def case_item_clock(request, case_id, item_id):
    """Shift one video's clock on the shared timeline (an audited capture-time correction)."""
    case = case_selectors.case_get_for(actor=request.user, id=case_id, write=True)
    item = get_object_or_404(case.items, pk=item_id)
    form = ClockShiftForm(request.POST)
    if form.is_valid():
        seconds = float(form.cleaned_data["seconds"])
        try:
            services.item_clock_shift_in_case(
                actor=request.user,
                case=case,
                item=item,
                seconds=seconds,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            messages.error(request, errors_text(exc))
        else:
            messages.success(request, f"Clock shifted by {seconds:+.1f} s.")
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect(f"{reverse('evidence:case_detail', args=[case.pk])}#sync")
