"""Case reads, scoped to the actor: the cases they may see, their items and activity."""

from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from evidence.cases.policies import (
    can_edit_case,
    can_file_into_case_by_role,
    can_manage_cases,
    can_see_all_cases,
)
from evidence.models import (
    Case,
    CaseItem,
    EvidenceItem,
)
from evidence.policies import can_view_evidence
from evidence.selectors import ITEM_TARGET_TYPE
from portal.models import Agency, AuditEvent, User

CASE_TARGET_TYPE = Case._meta.label_lower


def cases_for(*, actor: User) -> QuerySet[Case]:
    """The cases the actor may see: all of the agency's for supervisors, else lead or member."""
    if not can_view_evidence(actor):
        raise PermissionDenied
    cases = Case.objects.filter(agency=actor.agency_id).select_related("agency", "lead")
    if not can_see_all_cases(actor):
        cases = cases.filter(Q(lead=actor) | Q(memberships__user=actor)).distinct()
    return cases.order_by("-created_at")


def case_get_for(*, actor: User, id: UUID | str, write: bool = False) -> Case:
    """One case: 404 for anyone who may not see it, 403 for a viewer asking to change it."""
    try:
        case = cases_for(actor=actor).get(pk=id)
    except (Case.DoesNotExist, ValueError, PermissionDenied) as exc:
        raise Http404("No such case.") from exc
    if write and not can_edit_case(actor, case):
        raise PermissionDenied
    return case


def items_of_case(*, case: Case) -> QuerySet[EvidenceItem]:
    """The case's items as a timeline: by capture time (unknown last), then time received;
    each with `.exhibit`, its exhibit number in the case."""
    number = CaseItem.objects.filter(case=case, item=OuterRef("pk")).values("exhibit_number")
    return (
        case.items.annotate(exhibit=Subquery(number[:1]))
        .order_by(F("capture_time").asc(nulls_last=True), "received_at")
        .select_related("retention_category")
    )


def case_activity(*, case: Case, limit: int = 300) -> QuerySet[AuditEvent]:
    """Audit rows about the case or its items (and items once in it), newest first."""
    item_ids = [str(pk) for pk in case.case_items.values_list("item_id", flat=True)]
    return AuditEvent.objects.filter(
        Q(target_type=CASE_TARGET_TYPE, target_id=str(case.pk))
        | Q(target_type=ITEM_TARGET_TYPE, target_id__in=item_ids)
        | Q(details__case=str(case.pk))
    ).order_by("-seq")[:limit]


def case_for_number(*, agency: Agency, number: str) -> Case | None:
    """The agency's case with this number, if any (items filed under a number join it)."""
    return Case.objects.filter(agency=agency, number=number.strip()).first()


SUGGEST_LIMIT = 10


def cases_matching(*, actor: User, query: str) -> list[Case]:
    """Up to ten cases the actor may see whose number or title holds `query` (an autocomplete)."""
    query = query.strip()
    if not query:
        return []
    cases = cases_for(actor=actor).filter(Q(number__icontains=query) | Q(title__icontains=query))
    return list(cases.order_by("number")[:SUGGEST_LIMIT])


LOOKUP_MAX_QUERY = 100
LOOKUP_MAX_RESULTS = 10


def cases_to_add_to(*, actor: User, query: str = "") -> QuerySet[Case]:
    """Open cases the actor may add evidence to, matching `query` in number or title (at most
    LOOKUP_MAX_RESULTS, most recently changed first); 403 for a role that manages no cases."""
    if not can_manage_cases(actor):
        raise PermissionDenied
    cases = cases_for(actor=actor).filter(status=Case.Status.OPEN)
    query = query.strip()[:LOOKUP_MAX_QUERY]
    if query:
        cases = cases.filter(Q(number__icontains=query) | Q(title__icontains=query))
    return cases.order_by("-updated_at")[:LOOKUP_MAX_RESULTS]


def case_for_upload(*, uploader: User, id: UUID | str) -> Case:
    """The case a staff upload asked to be filed into, if its uploader may add to it
    (can_file_into_case_by_role); 404 otherwise, whatever the reason."""
    try:
        case = Case.objects.get(pk=id, agency=uploader.agency_id, status=Case.Status.OPEN)
    except (Case.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("No such case.") from exc
    if not can_file_into_case_by_role(uploader, case):
        raise Http404("No such case.")
    return case
