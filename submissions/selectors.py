"""Tip reads, scoped to the person asking: other agencies' tips do not exist for them."""

import re
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from evidence.models import EvidenceItem, Source
from evidence.selectors import items_for
from portal.models import Agency, User
from submissions.models import QuestionTemplate, SubmissionSettings, Tip
from submissions.policies import can_manage_tip_templates, can_view_tips, can_work_tips


@dataclass(frozen=True)
class TipFilters:
    status: str = ""
    category: str = ""
    priority: int | None = None
    assigned: str = ""  # "", "me", "none"
    q: str = ""


def _with_attachment_counts(tips: QuerySet[Tip]) -> QuerySet[Tip]:
    counts = (
        EvidenceItem.objects.filter(
            agency_id=OuterRef("agency_id"), source=Source.TIP, source_ref=OuterRef("reference")
        )
        .order_by()
        .values("source_ref")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return tips.annotate(
        attachments=Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))
    )


def tips_for(*, actor: User, filters: TipFilters | None = None) -> QuerySet[Tip]:
    """The tips of the actor's agency, newest first, filtered and searched."""
    if not can_view_tips(actor):
        raise PermissionDenied
    tips = Tip.objects.filter(agency=actor.agency_id).select_related("category", "assigned_to")
    f = filters or TipFilters()
    if f.status:
        tips = tips.filter(status=f.status)
    if f.category:
        tips = tips.filter(category__slug=f.category)
    if f.priority:
        tips = tips.filter(priority=f.priority)
    if f.assigned == "me":
        tips = tips.filter(assigned_to=actor)
    elif f.assigned == "none":
        tips = tips.filter(assigned_to__isnull=True)
    if f.q:
        q = f.q.strip()
        tips = tips.filter(
            Q(description__icontains=q)
            | Q(reference__iexact=q)
            | Q(address__icontains=q)
            | Q(case_number__iexact=q)
        )
    return _with_attachment_counts(tips).order_by("-received_at")


def tip_get_for(*, actor: User, id: str, write: bool = False) -> Tip:
    """One tip by reference: 404 for anyone outside its agency, 403 for a reader asking to write."""
    try:
        tip = tips_for(actor=actor).get(reference=str(id))
    except (Tip.DoesNotExist, PermissionDenied) as exc:
        raise Http404("No such tip.") from exc
    if write and not can_work_tips(actor):
        raise PermissionDenied
    return tip


def tip_items_for(*, actor: User, tip: Tip) -> QuerySet[EvidenceItem]:
    """The evidence items sent with a tip (source = tip, source_ref = its reference)."""
    return (
        items_for(actor=actor)
        .filter(source=Source.TIP, source_ref=tip.reference)
        .order_by("received_at")
    )


def tips_for_case_number(*, actor: User, case_number: str) -> QuerySet[Tip]:
    """Tips of the actor's agency carrying `case_number` (callers record the lookup in the audit)."""
    case_number = case_number.strip()
    if not case_number:
        return Tip.objects.none()
    return tips_for(actor=actor).filter(case_number__iexact=case_number)


_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


def settings_for(agency: Agency) -> SubmissionSettings:
    """The agency's tips-line settings, with the defaults when it never changed them."""
    # The related object: no query when the caller loaded it with select_related.
    try:
        return agency.tip_settings
    except SubmissionSettings.DoesNotExist:
        return SubmissionSettings(agency=agency)


def contact_email(tip: Tip) -> str:
    """The email address in the tipster's contact details, if they left one."""
    found = _EMAIL.search(tip.contact or "")
    return found.group(0) if found else ""


def question_templates_for(*, actor: User) -> QuerySet[QuestionTemplate]:
    """The actor's agency's question templates: for those who work tips or keep the templates."""
    if not (can_work_tips(actor) or can_manage_tip_templates(actor)):
        raise PermissionDenied
    return QuestionTemplate.objects.filter(agency=actor.agency_id).order_by("title", "id")


def question_template_get_for(
    *, actor: User, id: int | str, write: bool = False
) -> QuestionTemplate:
    """One template: 404 outside its agency, 403 for a colleague who may only use it."""
    try:
        template = question_templates_for(actor=actor).get(pk=int(id))
    except (QuestionTemplate.DoesNotExist, PermissionDenied, ValueError) as exc:
        raise Http404("No such template.") from exc
    if write and not can_manage_tip_templates(actor):
        raise PermissionDenied
    return template
