"""Staff pages for cases: list, form, members, items, timeline, map, custody, activity,
shares with prosecuting offices and their disclosure log; retention and deletion."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from evidence import packages, policies, selectors, services
from evidence.case_links import case_links_for
from evidence.forms import (
    CaseForm,
    FlagForm,
    ItemAddForm,
    ItemRetentionForm,
    MemberAddForm,
    ReasonForm,
    RetentionCategoryForm,
    ShareForm,
)
from evidence.models import Case, EvidenceItem
from portal import storage
from portal.decorators import requires
from portal.models import User
from portal.text import clean_text


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@requires(policies.can_view_evidence)
def case_list(request):
    cases = selectors.cases_for(actor=request.user)
    status = request.GET.get("status", "")
    if status in Case.Status.values:
        cases = cases.filter(status=status)
    page = Paginator(cases, 25).get_page(request.GET.get("page"))
    services.cases_record_list(actor=request.user, count=page.paginator.count)
    return render(
        request,
        "evidence/case_list.html",
        {"page": page, "status": status, "can_create": policies.can_manage_cases(request.user)},
    )


@requires(policies.can_manage_cases)
def case_create(request):
    form = CaseForm(request.POST or None, agency=request.user.agency)
    if form.is_bound and form.is_valid():
        try:
            case = services.case_create(actor=request.user, **form.values())
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        else:
            messages.success(request, f"Case {case.number} opened.")
            return redirect("evidence:case_detail", case.pk)
    return render(request, "evidence/case_form.html", {"form": form, "case": None})


@requires(policies.can_manage_cases)
def case_edit(request, case_id):
    case = selectors.case_get_for(actor=request.user, id=case_id, write=True)
    form = CaseForm(request.POST or None, agency=case.agency, initial=CaseForm.initial_for(case))
    if form.is_bound and form.is_valid():
        try:
            changed = services.case_update(
                actor=request.user, case=case, status=form.cleaned_data["status"], **form.values()
            )
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        else:
            messages.success(request, f"Changed: {', '.join(changed) or 'nothing'}.")
            return redirect("evidence:case_detail", case.pk)
    return render(request, "evidence/case_form.html", {"form": form, "case": case})


def _map_points(items, case) -> list[dict]:
    """Item places as this viewer may see them (`.facts`): a place read from a file whose
    sender withheld its metadata is not on the map."""
    points = [
        {
            "lat": i.facts.location.y,
            "lon": i.facts.location.x,
            "label": i.facts.original_filename or str(i.pk),
            "url": f"/staff/evidence/{i.pk}/",
            "kind": "item",
        }
        for i in items
        if i.facts.location
    ]
    if case.incident_point:
        points.append(
            {
                "lat": case.incident_point.y,
                "lon": case.incident_point.x,
                "label": "Incident",
                "kind": "incident",
            }
        )
    return points


@requires(policies.can_view_evidence)
def case_detail(request, case_id):
    case = selectors.case_get_for(actor=request.user, id=case_id)
    services.case_record_view(actor=request.user, case=case, via="page")
    items = selectors.items_with_facts(actor=request.user, items=selectors.items_of_case(case=case))
    links = case_links_for(actor=request.user, case=case)
    editable = policies.can_edit_case(request.user, case)
    context = {
        "case": case,
        "items": items,
        "timeline": [(i, list(selectors.custody_of(item=i))) for i in items],
        "any_withheld": any(i.facts.identifying_hidden for i in items),
        "members": case.memberships.select_related("user"),
        "activity": selectors.case_activity(case=case),
        "shares": selectors.shares_of_case(case=case),
        "disclosure_log": selectors.disclosure_log(case=case)[:300],
        "case_links": [link for link in links if link.kind != "camera"],
        "map_points": _map_points(items, case)
        + [
            {
                "lat": link.lat,
                "lon": link.lon,
                "label": link.label,
                "url": link.url,
                "kind": "camera",
            }
            for link in links
            if link.lat is not None
        ],
        "incident_area": case.incident_area.geojson if case.incident_area else "",
        "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        "editable": editable,
        "can_share": policies.can_share_case(request.user, case),
        "member_form": MemberAddForm(case=case) if editable else None,
        "item_form": ItemAddForm() if editable else None,
        "package_available": editable and any(i.state != EvidenceItem.State.DELETED for i in items),
    }
    return render(request, "evidence/case_detail.html", context)


@requires(policies.can_manage_cases)
def case_package(request, case_id):
    """The investigator's case package: every item of the case, streamed (custody per item)."""
    case = selectors.case_get_for(actor=request.user, id=case_id, write=True)
    items = [i for i in selectors.items_of_case(case=case) if i.state != EvidenceItem.State.DELETED]
    if not items:
        raise Http404("This case has no items to package.")
    return package_response(
        actor=request.user,
        case=case,
        items=items,
        via="case page",
        include_proxies=request.GET.get("proxies") == "1",
    )


def package_response(*, actor, case, items, via: str, include_proxies: bool = False, share=None):
    """A streaming download of the case package; its download is recorded first.

    Through a share, the package speaks of that share only and every custody row it writes
    carries the share's id (the case's disclosure log)."""
    package = packages.package_stream(
        actor=actor, case=case, items=items, include_proxies=include_proxies, share=share
    )
    packages.package_record_download(
        actor=actor,
        case=case,
        items=items,
        via=via,
        share=share,
        sealed=[f["item_id"] for f in package.manifest["files"] if f.get("sealed")],
    )
    response = StreamingHttpResponse(package, content_type="application/zip")
    response["Content-Length"] = str(package.size)
    response["Content-Disposition"] = storage.attachment_disposition(package.filename)
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@requires(policies.can_manage_cases)
def case_member_add(request, case_id):
    case = selectors.case_get_for(actor=request.user, id=case_id, write=True)
    form = MemberAddForm(request.POST, case=case)
    if form.is_valid():
        try:
            services.case_member_add(actor=request.user, case=case, user=form.cleaned_data["user"])
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            messages.success(request, f"{form.cleaned_data['user']} now works this case.")
    else:
        messages.error(request, "Choose a colleague of your agency who can see evidence.")
    return redirect("evidence:case_detail", case.pk)


@require_POST
@requires(policies.can_manage_cases)
def case_member_remove(request, case_id, user_id):
    case = selectors.case_get_for(actor=request.user, id=case_id, write=True)
    member = get_object_or_404(User, pk=user_id, agency_id=case.agency_id)
    services.case_member_remove(actor=request.user, case=case, user=member)
    messages.success(request, f"{member} no longer sees this case.")
    return redirect("evidence:case_detail", case.pk)


@require_POST
@requires(policies.can_manage_cases)
def case_item_add(request, case_id):
    case = selectors.case_get_for(actor=request.user, id=case_id, write=True)
    form = ItemAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That is not an item id.")
        return redirect("evidence:case_detail", case.pk)
    try:
        # Scoped: an item of another agency is simply not found.
        item = selectors.item_get_for(actor=request.user, id=form.cleaned_data["item"])
        added = services.case_item_add(actor=request.user, case=case, item=item)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    except Http404:
        messages.error(request, "No such item in your agency's evidence.")
    else:
        messages.success(request, "Item added." if added else "The item was already in the case.")
    return redirect("evidence:case_detail", case.pk)


@require_POST
@requires(policies.can_manage_cases)
def case_item_remove(request, case_id, item_id):
    case = selectors.case_get_for(actor=request.user, id=case_id, write=True)
    item = get_object_or_404(case.items, pk=item_id)
    services.case_item_remove(actor=request.user, case=case, item=item)
    messages.success(request, "Item removed from the case (it stays in the evidence store).")
    return redirect("evidence:case_detail", case.pk)


@requires(policies.can_manage_cases)
def share_create(request, case_id):
    case = selectors.case_get_for(actor=request.user, id=case_id, write=True)
    if not policies.can_share_case(request.user, case):
        raise PermissionDenied
    shareable, withheld = services.share_disclosable_items(case=case)
    form = ShareForm(request.POST or None, case=case, shareable=shareable, actor=request.user)
    if form.is_bound and form.is_valid():
        try:
            share = services.share_create(actor=request.user, case=case, **form.values())
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        else:
            messages.success(
                request,
                f"Shared {share.share_items.count()} item(s) with {share.recipient_agency} "
                f"until {share.expires_at:%Y-%m-%d} UTC.",
            )
            return redirect("evidence:case_detail", case.pk)
    return render(
        request,
        "evidence/share_form.html",
        {"case": case, "form": form, "shareable": shareable, "withheld": withheld},
    )


@require_POST
@requires(policies.can_manage_cases)
def share_revoke(request, case_id, share_id):
    share = selectors.share_get_for(actor=request.user, id=share_id, write=True)
    if str(share.case_id) != str(case_id) or not policies.can_share_case(request.user, share.case):
        raise PermissionDenied
    services.share_revoke(actor=request.user, share=share)
    messages.success(request, f"The share with {share.recipient_agency} is revoked.")
    return redirect("evidence:case_detail", share.case_id)


# Retention, legal hold, do-not-disclose and deletion (item and agency level)


def _item_for_write(request, item_id) -> EvidenceItem:
    return selectors.item_get_for(actor=request.user, id=item_id)


@require_POST
@requires(policies.can_manage_cases)
def item_do_not_disclose(request, item_id):
    item = _item_for_write(request, item_id)
    form = FlagForm(request.POST)
    if form.is_valid():
        services.item_do_not_disclose_set(
            actor=request.user,
            item=item,
            flag=form.cleaned_data["on"],
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, "Disclosure flag saved.")
    else:
        messages.error(request, "Say why.")
    return redirect("evidence:detail", item.pk)


@require_POST
@requires(policies.can_manage_retention)
def item_legal_hold(request, item_id):
    item = _item_for_write(request, item_id)
    form = FlagForm(request.POST)
    if form.is_valid():
        services.item_legal_hold_set(
            actor=request.user,
            item=item,
            hold=form.cleaned_data["on"],
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, "Legal hold saved.")
    else:
        messages.error(request, "Say why.")
    return redirect("evidence:detail", item.pk)


@require_POST
@requires(policies.can_manage_cases)
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
        messages.error(request, _errors(exc))
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
                form.add_error(None, _errors(exc))
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
        messages.error(request, _errors(exc))
    return redirect("evidence:retention")
