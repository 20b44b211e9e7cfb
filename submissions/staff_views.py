"""The investigators' tip inbox: list and map, one tip with its files, notes and conversation."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from evidence.selectors import item_facts_for
from portal.decorators import requires
from submissions import policies, selectors, services
from submissions.forms import (
    AssignForm,
    InboxFilterForm,
    NoteForm,
    QuestionForm,
    TipDetailsForm,
    TransitionForm,
)
from submissions.selectors import TipFilters


@requires(policies.can_view_tips)
def inbox(request):
    agency = request.user.agency
    form = InboxFilterForm(request.GET or None, agency=agency)
    filters = TipFilters(**form.cleaned_data) if form.is_bound and form.is_valid() else TipFilters()
    tips = selectors.tips_for(actor=request.user, filters=filters)
    page = Paginator(tips, 25).get_page(request.GET.get("page"))
    services.tips_record_list(
        actor=request.user, filters=filters.__dict__, count=page.paginator.count
    )
    points = [
        {
            "ref": tip.reference,
            "lat": tip.location.y,
            "lon": tip.location.x,
            "label": f"{tip.reference} · {tip.category.name}",
        }
        for tip in page
        if tip.location
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "submissions/inbox.html",
        {
            "form": form,
            "page": page,
            "points": points,
            "query": query.urlencode(),
        },
    )


@requires(policies.can_view_tips)
def tip_detail(request, reference):
    tip = selectors.tip_get_for(actor=request.user, id=reference)
    services.tip_record_view(actor=request.user, tip=tip)
    can_work = policies.can_work_tips(request.user)
    context = {
        "tip": tip,
        "items": [
            (item, item_facts_for(actor=request.user, item=item))
            for item in selectors.tip_items_for(actor=request.user, tip=tip)
        ],
        "sees_metadata": policies.sees_identifying_metadata(request.user, tip),
        "conversation": tip.messages.select_related("author"),
        "notes": tip.notes.select_related("author"),
        "can_work": can_work,
        "allowed": sorted(services.ALLOWED_TRANSITIONS[tip.status]),
    }
    if can_work:
        context |= {
            "transition_form": TransitionForm(),
            "assign_form": AssignForm(agency=tip.agency, initial={"assignee": tip.assigned_to_id}),
            "details_form": TipDetailsForm(
                initial={
                    "priority": tip.priority,
                    "case_number": tip.case_number,
                    "public_message": tip.public_message,
                }
            ),
            "note_form": NoteForm(),
            "question_form": QuestionForm(),
        }
    return render(request, "submissions/inbox_tip.html", context)


def _act(request, reference, form_class, action, done: str):
    tip = selectors.tip_get_for(actor=request.user, id=reference, write=True)
    form = form_class(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("submissions_staff:tip", reference=tip.reference)
    try:
        action(tip, form.cleaned_data)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect("submissions_staff:tip", reference=tip.reference)


@require_POST
@requires(policies.can_work_tips)
def tip_transition(request, reference):
    return _act(
        request, reference, TransitionForm,
        lambda tip, data: services.tip_transition(
            actor=request.user, tip=tip, to=data["to"], disposition=data["disposition"]
        ),
        "Status changed.",
    )  # fmt: skip


@require_POST
@requires(policies.can_work_tips)
def tip_assign(request, reference):
    tip = selectors.tip_get_for(actor=request.user, id=reference, write=True)
    form = AssignForm(request.POST, agency=tip.agency)
    if form.is_valid():
        try:
            services.tip_assign(actor=request.user, tip=tip, assignee=form.cleaned_data["assignee"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Tip assigned.")
    else:
        messages.error(request, "Choose someone to assign the tip to.")
    return redirect("submissions_staff:tip", reference=tip.reference)


@require_POST
@requires(policies.can_work_tips)
def tip_details(request, reference):
    return _act(
        request, reference, TipDetailsForm,
        lambda tip, data: services.tip_update(actor=request.user, tip=tip, **data),
        "Saved.",
    )  # fmt: skip


@require_POST
@requires(policies.can_work_tips)
def tip_note(request, reference):
    return _act(
        request, reference, NoteForm,
        lambda tip, data: services.tip_note_add(actor=request.user, tip=tip, body=data["body"]),
        "Note added.",
    )  # fmt: skip


@require_POST
@requires(policies.can_work_tips)
def tip_question(request, reference):
    return _act(
        request, reference, QuestionForm,
        lambda tip, data: services.tip_question_send(
            actor=request.user, tip=tip, body=data["body"]
        ),
        "Question sent. The tipster sees it when they come back with their receipt.",
    )  # fmt: skip
