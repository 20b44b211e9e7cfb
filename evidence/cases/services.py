"""Case writes: open and edit cases, their members and items, each audited in its transaction."""

import datetime as dt
from typing import Any

from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from evidence import audit_actions as actions
from evidence import sources
from evidence.cases import policies as case_policies
from evidence.cases import selectors as case_selectors
from evidence.models import (
    Case,
    CaseItem,
    CaseMember,
    EvidenceItem,
)
from evidence.policies import VIEW_EVIDENCE
from portal.audit import audit_record
from portal.models import Agency, User
from portal.roles import Cap, has_capability


def _case_details(case: Case) -> dict[str, Any]:
    return {"case": str(case.pk), "number": case.number}


def _check_case_staff(*, agency: Agency, user: User, what: str) -> None:
    if user.agency_id != agency.pk or not can_view_evidence_role(user):
        raise ValidationError(
            f"The {what} must be police staff of {agency.name} who can see evidence."
        )


def can_view_evidence_role(user: User) -> bool:
    """A staff user whose role sees evidence (checked without their current session's MFA)."""
    return (
        user.is_active
        and has_capability(user, VIEW_EVIDENCE)
        and has_capability(user, Cap.POLICE_AREA)
    )


@transaction.atomic
def case_create(
    *,
    actor: User,
    number: str,
    title: str,
    lead: User | None = None,
    incident_time: dt.datetime | None = None,
    incident_point: Point | None = None,
    incident_area: Polygon | MultiPolygon | None = None,
) -> Case:
    """Open a case in the actor's agency; the lead defaults to the actor."""
    # The policy asks for a police agency; `actor.agency is None` says so to the type checker.
    if not case_policies.can_manage_cases(actor) or actor.agency is None:
        raise PermissionDenied
    agency = actor.agency
    number, title = number.strip(), title.strip()
    if not number or not title:
        raise ValidationError("A case needs a number and a title.")
    lead = lead or actor
    _check_case_staff(agency=agency, user=lead, what="lead investigator")
    if Case.objects.filter(agency=agency, number=number).exists():
        raise ValidationError(f"Case number {number} is already used in {agency.name}.")
    return _case_opened(
        Case(
            agency=agency,
            number=number,
            title=title,
            lead=lead,
            incident_time=incident_time,
            incident_point=incident_point,
            incident_area=_as_multi(incident_area),
            created_by_label=actor.label,
        ),
        by={"actor": actor},
    )


def _case_opened(case: Case, *, by: dict[str, Any]) -> Case:
    """Save a new case, audit it (`by`: the actor or an actor_label), and file into it the items
    its sources filed under its number before it opened."""
    case.save(force_insert=True)
    audit_record(
        action=actions.CASE_CREATED.name,
        target=case,
        agency=case.agency,
        case_ref=case.number,
        details={**_case_details(case), "title": case.title, "lead": case.lead.label},
        **by,
    )
    for item in sources.items_filed_under(case=case):
        _link_item(case=case, item=item, actor_label=f"filed under {case.number} before it opened")
    return case


def _as_multi(area: Polygon | MultiPolygon | None) -> MultiPolygon | None:
    if area is None or isinstance(area, MultiPolygon):
        return area
    return MultiPolygon(area, srid=area.srid or 4326)


CASE_FIELDS = (
    "number",
    "title",
    "status",
    "lead",
    "incident_time",
    "incident_point",
    "incident_area",
)


@transaction.atomic
def case_update(*, actor: User, case: Case, **changes: Any) -> list[str]:
    """Change a case's details; each changed field's old and new value goes into the audit row."""
    if not case_policies.can_edit_case(actor, case):
        raise PermissionDenied
    unknown = set(changes) - set(CASE_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    locked = Case.objects.select_for_update().get(pk=case.pk)
    if "incident_area" in changes:
        changes["incident_area"] = _as_multi(changes["incident_area"])
    if "number" in changes:
        changes["number"] = changes["number"].strip()
        clash = Case.objects.filter(agency_id=locked.agency_id, number=changes["number"])
        if not changes["number"] or clash.exclude(pk=locked.pk).exists():
            raise ValidationError(f"Case number {changes['number']!r} is empty or already used.")
    if "title" in changes and not changes["title"].strip():
        raise ValidationError("A case needs a title.")
    if "status" in changes and changes["status"] not in Case.Status.values:
        raise ValidationError("Unknown case status.")
    if changes.get("lead") is not None:
        _check_case_staff(agency=locked.agency, user=changes["lead"], what="lead investigator")
    elif "lead" in changes:
        raise ValidationError("A case needs a lead investigator.")
    diff = _case_changed(locked, changes, by={"actor": actor})
    case.refresh_from_db()
    return sorted(diff)


def _case_changed(
    case: Case, changes: dict[str, Any], *, by: dict[str, Any]
) -> dict[str, dict[str, str | None]]:
    """Set the fields that really change, save, and audit the old and new values once."""
    diff: dict[str, dict[str, str | None]] = {}
    for field, new in changes.items():
        old = getattr(case, field)
        if _describe_any(old) != _describe_any(new):
            diff[field] = {"old": _describe_any(old), "new": _describe_any(new)}
            setattr(case, field, new)
    if diff:
        case.save()
        audit_record(
            action=actions.CASE_UPDATED.name,
            target=case,
            agency=case.agency,
            case_ref=case.number,
            details={**_case_details(case), "changes": diff},
            **by,
        )
    return diff


def _describe_any(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "wkt"):
        wkt: str = value.wkt
        return wkt
    if hasattr(value, "label"):
        label: str = value.label
        return label
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@transaction.atomic
def case_member_add(*, actor: User, case: Case, user: User) -> CaseMember:
    """Let a colleague of the same agency see and work the case."""
    if not case_policies.can_edit_case(actor, case):
        raise PermissionDenied
    _check_case_staff(agency=case.agency, user=user, what="member")
    member, created = CaseMember.objects.get_or_create(
        case=case, user=user, defaults={"added_by_label": actor.label}
    )
    if created:
        audit_record(
            action=actions.CASE_MEMBER_ADDED.name,
            actor=actor,
            target=case,
            case_ref=case.number,
            details={**_case_details(case), "member": user.label, "member_id": user.pk},
        )
    return member


@transaction.atomic
def case_member_remove(*, actor: User, case: Case, user: User) -> bool:
    """Take a member off the case: they stop seeing it at once."""
    if not case_policies.can_edit_case(actor, case):
        raise PermissionDenied
    removed, _ = CaseMember.objects.filter(case=case, user=user).delete()
    if removed:
        audit_record(
            action=actions.CASE_MEMBER_REMOVED.name,
            actor=actor,
            target=case,
            case_ref=case.number,
            details={**_case_details(case), "member": user.label, "member_id": user.pk},
        )
    return bool(removed)


def _link_item(
    *, case: Case, item: EvidenceItem, actor: User | None = None, actor_label: str = ""
) -> bool:
    if item.agency_id != case.agency_id:
        raise ValidationError("Only items of the case's own agency can be added.")
    # The item's row, locked against a deletion running now (retention or two-person): either
    # the deletion finished first and the item is refused here, or it waits for this link and
    # then sees the open case that protects the item.
    item = EvidenceItem.objects.select_for_update(no_key=True).get(pk=item.pk)
    if item.state == EvidenceItem.State.DELETED:
        raise ValidationError("This item was deleted; only its tombstone remains.")
    # The case's row, locked before looking for the link: two adds to one case (of the same
    # item or of two) take turns, so exhibit numbers are unique and never skip or repeat.
    locked = Case.objects.select_for_update().only("pk", "last_exhibit_number").get(pk=case.pk)
    if CaseItem.objects.filter(case=case, item=item).exists():
        return False
    number = locked.last_exhibit_number + 1
    Case.objects.filter(pk=case.pk).update(last_exhibit_number=number)
    case.last_exhibit_number = number
    CaseItem.objects.create(
        case=case,
        item=item,
        exhibit_number=number,
        added_by_label=actor.label if actor else actor_label,
    )
    audit_record(
        action=actions.CASE_ITEM_ADDED.name,
        actor=actor,
        actor_label=actor_label,
        target=item,
        agency=case.agency,
        case_ref=case.number,
        details={**_case_details(case), "exhibit": number},
    )
    return True


@transaction.atomic
def case_item_add(*, actor: User, case: Case, item: EvidenceItem) -> bool:
    """Link an item to the case (audited in the item's custody); False if it was already there."""
    if not case_policies.can_edit_case(actor, case):
        raise PermissionDenied
    return _link_item(case=case, item=item, actor=actor)


# A bulk add names at most this many items: a page of the evidence list is 25.
MAX_ITEMS_PER_ADD = 100


@transaction.atomic
def case_items_add(
    *, actor: User, case: Case, items: list[EvidenceItem]
) -> tuple[list[EvidenceItem], list[EvidenceItem]]:
    """Link several items to the case at once, all or none; returns (added, already there).

    Each added item gets the case's next exhibit number, in the order given.
    """
    if not case_policies.can_edit_case(actor, case):
        raise PermissionDenied
    if not items:
        raise ValidationError("Choose at least one item to add.")
    if len(items) > MAX_ITEMS_PER_ADD:
        raise ValidationError(f"Add at most {MAX_ITEMS_PER_ADD} items at a time.")
    added: list[EvidenceItem] = []
    already: list[EvidenceItem] = []
    for item in items:
        (added if _link_item(case=case, item=item, actor=actor) else already).append(item)
    return added, already


@transaction.atomic
def case_item_file_from_upload(*, uploader: User, case: Case, item: EvidenceItem) -> bool:
    """Put a staff upload's item in the case its uploader chose on the upload page.

    The uploader's right was checked when the upload began (case_for_upload) and is asked
    again by the caller now; this runs without their session, so the second factor is the
    grant's, not asked here."""
    if not case_policies.can_file_into_case_by_role(uploader, case):
        raise PermissionDenied
    return _link_item(case=case, item=item, actor=uploader)


@transaction.atomic
def case_item_remove(*, actor: User, case: Case, item: EvidenceItem) -> bool:
    """Unlink an item from the case (audited); the item itself stays in the store."""
    if not case_policies.can_edit_case(actor, case):
        raise PermissionDenied
    removed, _ = CaseItem.objects.filter(case=case, item=item).delete()
    if removed:
        audit_record(
            action=actions.CASE_ITEM_REMOVED.name,
            actor=actor,
            target=item,
            agency=case.agency,
            case_ref=case.number,
            details=_case_details(case),
        )
    return bool(removed)


@transaction.atomic
def case_item_link_by_number(
    *, agency: Agency, case_number: str, item: EvidenceItem, actor_label: str
) -> bool:
    """System link for other apps: put the item in the agency's case with this number, if any.

    Returns True when the item is (now) in such a case. Nobody's session is involved: the
    caller (a tip, a footage request) is named in `actor_label` for the audit row.
    """
    case = case_selectors.case_for_number(agency=agency, number=case_number)
    if case is None or not case_number.strip():
        return False
    _link_item(case=case, item=item, actor_label=actor_label)
    return True


@transaction.atomic
def case_open_for_incident(
    *,
    agency: Agency,
    number: str,
    title: str,
    incident_time: dt.datetime | None,
    point: Point | None,
    lead: User,
    actor_label: str,
) -> tuple[Case, bool]:
    """System open-or-update for other apps (a CAD incident): the agency's case with this
    number, made if missing, its title, time and place set to what the system says now.

    Idempotent: sending the same again changes nothing and writes no audit row. Returns the
    case and whether it was made now. Nobody's session is involved: `actor_label` names the
    caller in the audit rows; `lead` leads a new case (an existing case keeps its lead).
    """
    number, title = number.strip(), title.strip()[:200]
    if not number or not title:
        raise ValidationError("A case needs a number and a title.")
    case = Case.objects.select_for_update().filter(agency=agency, number=number).first()
    if case is None:
        _check_case_staff(agency=agency, user=lead, what="lead investigator")
        opened = Case(
            agency=agency,
            number=number,
            title=title,
            lead=lead,
            incident_time=incident_time,
            incident_point=point,
            created_by_label=actor_label,
        )
        return _case_opened(opened, by={"actor_label": actor_label}), True
    changes = {"title": title, "incident_time": incident_time, "incident_point": point}
    _case_changed(
        case,
        {name: new for name, new in changes.items() if new is not None},
        by={"actor_label": actor_label},
    )
    return case, False


def case_record_view(*, actor: User, case: Case, via: str) -> None:
    audit_record(
        action=actions.CASE_VIEWED.name,
        actor=actor,
        target=case,
        agency=case.agency,
        case_ref=case.number,
        details={**_case_details(case), "via": via},
    )


def case_item_record_custody_view(*, actor: User, case: Case, item: EvidenceItem) -> None:
    """Custody: someone opened an item's whole custody record from the case page."""
    audit_record(
        action=actions.CUSTODY_VIEWED.name,
        actor=actor,
        target=item,
        agency=item.agency,
        case_ref=case.number,
        details={"via": "case", "case": str(case.pk)},
    )


def cases_record_list(*, actor: User, count: int) -> None:
    audit_record(action=actions.CASE_LISTED.name, actor=actor, details={"rows": count})


def cases_record_search(*, actor: User, query: str, count: int) -> None:
    """A case-number autocomplete was answered: a read of the cases' numbers, audited as one."""
    audit_record(
        action=actions.CASE_LISTED.name,
        actor=actor,
        details={"rows": count, "q": query, "via": "suggest"},
    )


def cases_record_lookup(*, actor: User, query: str, count: int) -> None:
    """Audit a look-up of cases by number or title (the add-to-case autocomplete)."""
    audit_record(
        action=actions.CASE_LOOKED_UP.name,
        actor=actor,
        details={"query": query[: case_selectors.LOOKUP_MAX_QUERY], "rows": count},
    )
