"""The investigators' tip inbox: list and map, one tip with its files, notes and conversation."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from evidence.models import Derivative
from evidence.selectors import item_facts_for
from portal.decorators import requires
from portal.pagination import BoundedPaginator
from submissions import policies, selectors, services
from submissions.forms import (
    AssignForm,
    ConversationDaysForm,
    InboxFilterForm,
    NoteForm,
    QuestionForm,
    QuestionTemplateForm,
    TipDetailsForm,
    TransitionForm,
)
from submissions.models import Disposition
from submissions.selectors import TipFilters


@requires(policies.can_view_tips)
def inbox(request):
    agency = request.user.agency
    form = InboxFilterForm(request.GET or None, agency=agency)
    filters = TipFilters(**form.cleaned_data) if form.is_bound and form.is_valid() else TipFilters()
    tips = selectors.tips_for(actor=request.user, filters=filters)
    page = BoundedPaginator(tips, 25).get_page(request.GET.get("page"))
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
    items = list(
        selectors.tip_items_for(actor=request.user, tip=tip).prefetch_related("derivatives")
    )
    context = {
        "tip": tip,
        "items": [(item, item_facts_for(actor=request.user, item=item)) for item in items],
        # Photos and videos shown inline, from their playback copies (each fetch is audited).
        "media": [
            (
                item,
                {
                    d.kind: d
                    for d in item.derivatives.all()
                    if d.kind != Derivative.Kind.HLS_SEGMENT
                },
            )
            for item in items
        ],
        "conversation_closes_at": services.conversation_closes_at(tip),
        "conversation_closed": services.conversation_closed(tip),
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
            "next_steps": services.tip_next_steps(tip),
            "dispositions": Disposition.choices,
            "assigned_to_me": tip.assigned_to_id == request.user.pk,
            "templates": [
                {"id": t.pk, "title": t.title, "body": t.body}
                for t in selectors.question_templates_for(actor=request.user)
            ],
            "can_manage_templates": policies.can_manage_tip_templates(request.user),
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


# --- question templates and the conversation period (supervisors and agency admins) -------


@require_http_methods(["GET", "POST"])
@requires(policies.can_manage_tip_templates)
def templates_page(request):
    """The agency's question templates, a form to add one, and the conversation period."""
    form = QuestionTemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.question_template_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Template added.")
            return redirect("submissions_staff:templates")
    return render(
        request,
        "submissions/templates.html",
        {
            "templates": selectors.question_templates_for(actor=request.user),
            "form": form,
            "period_form": ConversationDaysForm(
                initial={
                    "conversation_days": selectors.settings_for(
                        request.user.agency
                    ).conversation_days
                }
            ),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@requires(policies.can_manage_tip_templates)
def conversation_period(request):
    form = ConversationDaysForm(request.POST)
    if form.is_valid():
        try:
            services.conversation_days_set(
                actor=request.user, days=form.cleaned_data["conversation_days"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Conversation period saved.")
    else:
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, message)
    return redirect("submissions_staff:templates")


@require_http_methods(["GET", "POST"])
@requires(policies.can_manage_tip_templates)
def template_edit(request, template_id):
    template = selectors.question_template_get_for(
        actor=request.user, id=template_id, write=request.method == "POST"
    )
    form = QuestionTemplateForm(
        request.POST or None, initial={"title": template.title, "body": template.body}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.question_template_update(
                actor=request.user, template=template, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Template saved.")
            return redirect("submissions_staff:templates")
    return render(
        request,
        "submissions/template_edit.html",
        {"template": template, "form": form},
        status=400 if form.errors else 200,
    )


@require_POST
@requires(policies.can_manage_tip_templates)
def template_delete(request, template_id):
    template = selectors.question_template_get_for(actor=request.user, id=template_id, write=True)
    services.question_template_delete(actor=request.user, template=template)
    messages.success(request, "Template deleted.")
    return redirect("submissions_staff:templates")
