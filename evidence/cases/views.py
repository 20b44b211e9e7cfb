"""Staff pages for cases: list, form, members, items, timeline, map, custody, activity,
shares with prosecuting offices and their disclosure log; retention and deletion."""

import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from evidence import policies, selectors
from evidence.cases import policies as case_policies
from evidence.cases import selectors as case_selectors
from evidence.cases import services as case_services
from evidence.cases.activity import activity_in_words
from evidence.cases.forms import (
    AddToCaseForm,
    CaseForm,
    ClockShiftForm,
    ItemAddForm,
    MemberAddForm,
)
from evidence.disclosure import policies as share_policies
from evidence.disclosure import selectors as share_selectors
from evidence.models import Case, EvidenceItem, MediaKind, Source
from evidence.sources import case_links_for
from portal.decorators import requires
from portal.models import User
from portal.pagination import BoundedPaginator
from portal.templatetags.portal_time import local_and_utc, local_and_utc_seconds
from portal.text import errors_text, visible_controls


@requires(policies.can_view_evidence)
def case_list(request):
    cases = case_selectors.cases_for(actor=request.user)
    status = request.GET.get("status", "")
    if status in Case.Status.values:
        cases = cases.filter(status=status)
    # Counted to the cap, as the evidence list is: a force's every case was counted per page.
    page = BoundedPaginator(cases, 25).get_page(request.GET.get("page"))
    case_services.cases_record_list(actor=request.user, count=page.paginator.count)
    return render(
        request,
        "evidence/cases/case_list.html",
        {
            "page": page,
            "status": status,
            "can_create": case_policies.can_manage_cases(request.user),
        },
    )


def _form_map(request) -> dict:
    jurisdiction = request.user.agency.jurisdiction
    return {
        "map_bounds": jurisdiction.extent if jurisdiction else None,
    }


@requires(case_policies.can_manage_cases)
def case_create(request):
    # The lead defaults to whoever opens the case.
    form = CaseForm(
        request.POST or None, agency=request.user.agency, initial={"lead": request.user.pk}
    )
    if form.is_bound and form.is_valid():
        try:
            case = case_services.case_create(actor=request.user, **form.values())
        except ValidationError as exc:
            form.add_error(None, errors_text(exc))
        else:
            messages.success(request, f"Case {case.number} opened.")
            return redirect("evidence:case_detail", case.pk)
    return render(
        request,
        "evidence/cases/case_form.html",
        {"form": form, "case": None, **_form_map(request)},
    )


@requires(case_policies.can_manage_cases)
def case_edit(request, case_id):
    case = case_selectors.case_get_for(actor=request.user, id=case_id, write=True)
    form = CaseForm(request.POST or None, agency=case.agency, initial=CaseForm.initial_for(case))
    if form.is_bound and form.is_valid():
        try:
            changed = case_services.case_update(
                actor=request.user, case=case, status=form.cleaned_data["status"], **form.values()
            )
        except ValidationError as exc:
            form.add_error(None, errors_text(exc))
        else:
            messages.success(request, f"Changed: {', '.join(changed) or 'nothing'}.")
            return redirect("evidence:case_detail", case.pk)
    return render(
        request,
        "evidence/cases/case_form.html",
        {"form": form, "case": case, **_form_map(request)},
    )


def _url_of_each(name: str, *fixed) -> Callable[[Any], str]:
    """reverse(name, args=[*fixed, pk]) for many pks at the cost of one reverse (a case page
    names four URLs for each of its items; reverse() itself was a tenth of its time)."""
    marker = str(uuid.UUID(int=0))
    head, tail = reverse(name, args=[*fixed, marker]).rsplit(marker, 1)
    return lambda pk: f"{head}{pk}{tail}"


# The case page's activity shows its latest lines; "Show all" loads the rest (case_activity).
ACTIVITY_SHOWN = 10


def _item_names(items) -> dict[str, str]:
    """What this reader calls each item in activity and custody lines (`.facts`): its file
    name, or its exhibit number when the sender withheld it."""
    return {str(i.pk): i.facts.original_filename or f"exhibit {i.exhibit}" for i in items}


def _lines(lines) -> list[dict]:
    """Activity or custody lines as the page prints them: the text with unsafe characters
    shown, whether it was refused, the time in the agency's zone and UTC."""
    return [
        {"text": visible_controls(line.text), "refused": line.refused, "at": local_and_utc(line.at)}
        for line in lines
    ]


def _exhibit_rows(items, case, custody, names) -> list[dict]:
    """Each item as the case page's exhibit table and timeline print it, made in one pass as
    plain values (in timeline order). The page lists 200 items with their latest custody
    lines: a template finds a dict's key at once, where an attribute chain through a model
    (item.facts.capture_time) fails a key lookup first at every step, and calls each
    get_…_display; the rows' text and times are formatted here once instead."""
    detail = _url_of_each("evidence:detail")
    report = _url_of_each("evidence:custody_report")
    whole_custody = _url_of_each("evidence:case_item_custody", case.pk)
    remove = _url_of_each("evidence:case_item_remove", case.pk)
    # get_FOO_display builds its field's choices dict on every call: 600 times here.
    kinds, sources, states = (
        {value: str(label) for value, label in choices}
        for choices in (MediaKind.choices, Source.choices, EvidenceItem.State.choices)
    )
    rows = []
    for item in items:
        facts = item.facts
        if facts.capture_time:
            when = local_and_utc_seconds(facts.capture_time)
            when_from = (
                f"from {str(facts.get_capture_time_source_display()).lower()},"
                f" {facts.capture_time_confidence} confidence"
            )
        else:
            hidden_time = facts.identifying_hidden and item.capture_time
            when = "capture time withheld" if hidden_time else "capture time unknown"
            when_from = ""
        tail = custody[str(item.pk)]
        total = tail.total
        lines = _lines(activity_in_words(events=tail.events, item_names=names))
        more = total > len(lines)
        kind = kinds.get(item.media_kind, item.media_kind)
        source = sources.get(item.source, item.source)
        rows.append(
            {
                "exhibit": item.exhibit,
                "url": detail(item.pk),
                "name": visible_controls(facts.original_filename) or str(item.pk),
                "hidden": facts.identifying_hidden,
                "when": when,
                "when_from": when_from,
                "kind": kind,
                "source": source,
                "kind_and_source": f"{kind or 'item'} · {source}",
                "state": item.state,
                "state_label": states.get(item.state, item.state),
                "do_not_disclose": item.do_not_disclose,
                "legal_hold": item.legal_hold,
                "custody_summary": f"Custody ({total} event{pluralize(total)})",
                "custody": lines,
                "custody_shown": f"The latest {len(lines)} of {total}:" if more else "",
                "custody_all": f"Show all {total}" if more else "",
                "custody_url": whole_custody(item.pk),
                "custody_report_url": report(item.pk),
                "remove_url": remove(item.pk),
            }
        )
    return rows


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
    case = case_selectors.case_get_for(actor=request.user, id=case_id)
    case_services.case_record_view(actor=request.user, case=case, via="page")
    items = selectors.items_with_facts(
        actor=request.user, items=case_selectors.items_of_case(case=case)
    )
    links = case_links_for(actor=request.user, case=case)
    editable = case_policies.can_edit_case(request.user, case)
    names = _item_names(items)
    playback = case_selectors.case_playback(actor=request.user, case=case, items=items)
    custody = selectors.custody_tails_of_items(items=items)
    rows = _exhibit_rows(items, case, custody, names)
    activity = case_selectors.case_activity(case=case)
    context = {
        "case": case,
        "timeline": rows,
        "any_withheld": any(i.facts.identifying_hidden for i in items),
        "members": case.memberships.select_related("user"),
        "activity": _lines(activity_in_words(events=activity[:ACTIVITY_SHOWN], item_names=names)),
        "activity_total": activity.count(),
        "exhibits": sorted(rows, key=lambda row: row["exhibit"]),
        "shares": share_selectors.shares_of_case(case=case),
        "disclosure_log": share_selectors.disclosure_log(case=case)[:300],
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
        "editable": editable,
        "can_share": share_policies.can_share_case(request.user, case),
        "member_form": MemberAddForm(case=case) if editable else None,
        "item_form": ItemAddForm() if editable else None,
        "package_available": editable and any(i.state != EvidenceItem.State.DELETED for i in items),
        "playback": playback,
        "sync_on_map": any(v["track"] or v["camera"] for v in playback if v["start"]),
        "clock_form": ClockShiftForm() if editable else None,
        "remove_confirm": f"Remove this item from case {case.number}? The item itself stays"
        " in evidence.",
        # The CSRF field {% csrf_token %} writes, made once for the page's 200 remove forms.
        "csrf_field": format_html(
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request)
        ),
    }
    return render(request, "evidence/cases/case_detail.html", context)


@requires(policies.can_view_evidence)
def case_item_custody(request, case_id, item_id):
    """One item's whole custody, in words, for the case page's "Show all" (JSON; the page
    builds it from text nodes). Scoped to the case and audited as a read of the custody."""
    case = case_selectors.case_get_for(actor=request.user, id=case_id)
    item = case_selectors.case_item_get(case=case, id=item_id)
    case_services.case_item_record_custody_view(actor=request.user, case=case, item=item)
    (item,) = selectors.items_with_facts(actor=request.user, items=[item])
    names = _item_names([item])
    lines = activity_in_words(events=selectors.custody_of(item=item), item_names=names)
    # As the page prints them (_lines: a file name's unsafe characters shown as their codes).
    response = JsonResponse({"total": len(lines), "lines": _lines(lines)})
    response["Cache-Control"] = "private, no-store"
    return response


@requires(policies.can_view_evidence)
def case_activity(request, case_id):
    """The case's activity in words, newest first (as far back as case_activity reaches), for
    the case page's "Show all" (JSON; the page shows the latest ACTIVITY_SHOWN lines and builds
    these from text nodes). Scoped to the case and audited as a view of it."""
    case = case_selectors.case_get_for(actor=request.user, id=case_id)
    case_services.case_record_view(actor=request.user, case=case, via="activity")
    items = selectors.items_with_facts(
        actor=request.user, items=case_selectors.items_of_case(case=case)
    )
    lines = _lines(
        activity_in_words(
            events=case_selectors.case_activity(case=case), item_names=_item_names(items)
        )
    )
    response = JsonResponse({"total": len(lines), "lines": lines})
    response["Cache-Control"] = "private, no-store"
    return response


@requires(policies.can_view_evidence)
def case_playback(request, case_id):
    """The case's videos on one clock (JSON), as the case page's synchronized player reads them."""
    case = case_selectors.case_get_for(actor=request.user, id=case_id)
    case_services.case_record_view(actor=request.user, case=case, via="playback")
    response = JsonResponse({"videos": case_selectors.case_playback(actor=request.user, case=case)})
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@requires(case_policies.can_manage_cases)
def case_member_add(request, case_id):
    case = case_selectors.case_get_for(actor=request.user, id=case_id, write=True)
    form = MemberAddForm(request.POST, case=case)
    if form.is_valid():
        try:
            case_services.case_member_add(
                actor=request.user, case=case, user=form.cleaned_data["user"]
            )
        except ValidationError as exc:
            messages.error(request, errors_text(exc))
        else:
            messages.success(request, f"{form.cleaned_data['user']} now works this case.")
    else:
        messages.error(request, "Choose a colleague of your agency who can see evidence.")
    return redirect("evidence:case_detail", case.pk)


@require_POST
@requires(case_policies.can_manage_cases)
def case_member_remove(request, case_id, user_id):
    case = case_selectors.case_get_for(actor=request.user, id=case_id, write=True)
    member = get_object_or_404(User, pk=user_id, agency_id=case.agency_id)
    case_services.case_member_remove(actor=request.user, case=case, user=member)
    messages.success(request, f"{member} no longer sees this case.")
    return redirect("evidence:case_detail", case.pk)


@require_POST
@requires(case_policies.can_manage_cases)
def case_item_add(request, case_id):
    case = case_selectors.case_get_for(actor=request.user, id=case_id, write=True)
    form = ItemAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That is not an item id.")
        return redirect("evidence:case_detail", case.pk)
    try:
        # Scoped: an item of another agency is simply not found.
        item = selectors.item_get_for(actor=request.user, id=form.cleaned_data["item"])
        added = case_services.case_item_add(actor=request.user, case=case, item=item)
    except ValidationError as exc:
        messages.error(request, errors_text(exc))
    except Http404:
        messages.error(request, "No such item in your agency's evidence.")
    else:
        messages.success(request, "Item added." if added else "The item was already in the case.")
    return redirect("evidence:case_detail", case.pk)


@requires(case_policies.can_manage_cases)
def case_lookup(request):
    """The add-to-case autocomplete: open cases the user may add to, by number or title (JSON)."""
    query = request.GET.get("q", "")
    cases = list(case_selectors.cases_to_add_to(actor=request.user, query=query))
    case_services.cases_record_lookup(actor=request.user, query=query, count=len(cases))
    return JsonResponse(
        {
            "results": [
                {"id": str(c.pk), "number": c.number, "title": c.title, "lead": str(c.lead)}
                for c in cases
            ]
        }
    )


def _back(request) -> str:
    """Where an add-to-case form was sent from (this site only), else the evidence list."""
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return back
    return reverse("evidence:list")


def _chosen_case(request, form) -> Case | None:
    """The case by its id (404 for one the user may not see, 403 for one they only read), or
    by its number among their open cases."""
    if form.cleaned_data.get("case"):
        return case_selectors.case_get_for(
            actor=request.user, id=form.cleaned_data["case"], write=True
        )
    number = form.cleaned_data["case_number"].strip()
    return next(
        (
            c
            for c in case_selectors.cases_to_add_to(actor=request.user, query=number)
            if c.number.casefold() == number.casefold()
        ),
        None,
    )


@require_POST
@requires(case_policies.can_manage_cases)
def items_add_to_case(request):
    """Add the selected items to a case chosen by autocomplete (the evidence list's bulk
    action, an item's page): all of them or, with an error, none."""
    back = _back(request)
    form = AddToCaseForm(request.POST, max_items=case_services.MAX_ITEMS_PER_ADD)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(back)
    case = _chosen_case(request, form)
    if case is None:
        messages.error(request, "No open case of yours has that number.")
        return redirect(back)
    wanted = form.cleaned_data["items"]
    found = {i.pk: i for i in selectors.items_for(actor=request.user).filter(pk__in=wanted)}
    missing = len(wanted) - len(found)
    if missing:
        messages.error(
            request,
            f"{missing} of the selected items are not in your agency's evidence; "
            "nothing was added.",
        )
        return redirect(back)
    try:
        added, already = case_services.case_items_add(
            actor=request.user, case=case, items=[found[pk] for pk in wanted]
        )
    except ValidationError as exc:
        messages.error(request, errors_text(exc))
        return redirect(back)
    exhibits = dict(case.case_items.filter(item__in=added).values_list("item_id", "exhibit_number"))
    numbers = ", ".join(str(exhibits[i.pk]) for i in added)
    text = f"Added {len(added)} item(s) to case {case.number}"
    text += f" as exhibit(s) {numbers}." if added else "."
    if already:
        text += f" {len(already)} already in it."
    messages.success(request, text)
    return redirect(back)


@require_POST
@requires(case_policies.can_manage_cases)
def case_item_remove(request, case_id, item_id):
    case = case_selectors.case_get_for(actor=request.user, id=case_id, write=True)
    item = get_object_or_404(case.items, pk=item_id)
    case_services.case_item_remove(actor=request.user, case=case, item=item)
    messages.success(request, "Item removed from the case (it stays in the evidence store).")
    return redirect("evidence:case_detail", case.pk)


SUGGEST_MAX_QUERY = 50


@requires(policies.can_view_evidence)
def case_suggest(request):
    """Case numbers for an autocomplete (the tip panel's case field): the cases the user may see."""
    query = request.GET.get("q", "")[:SUGGEST_MAX_QUERY]
    cases = case_selectors.cases_matching(actor=request.user, query=query)
    case_services.cases_record_search(actor=request.user, query=query, count=len(cases))
    response = JsonResponse(
        {"results": [{"number": case.number, "title": case.title} for case in cases]}
    )
    response["Cache-Control"] = "private, no-store"
    return response
