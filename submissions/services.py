"""Tip writes: the anonymous side (create, return, answer, add files) and the inbox side.

Every write records its audit row in the same transaction. On the anonymous side the actor is
"anonymous tipster" plus the tip's reference, never anything about the person.
"""

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from evidence import selectors as evidence_selectors
from evidence import services as evidence_services
from evidence.models import EvidenceItem, Source, UploadGrant
from notifications.kinds import Kind as NotificationKind
from notifications.services import notify
from portal import queueing
from portal.audit import AuditAction, audit_record
from portal.models import Agency, User
from submissions import audit_actions as actions
from submissions import receipts
from submissions.models import (
    MAX_TEMPLATE_BODY,
    MAX_TEMPLATE_TITLE,
    Disposition,
    Priority,
    QuestionTemplate,
    SubmissionSettings,
    Tip,
    TipCategory,
    TipMessage,
    TipNote,
    TipStatus,
)
from submissions.policies import REVIEWER_ROLES, can_manage_tip_templates, can_work_tips
from submissions.selectors import contact_email, settings_for
from submissions.tasks import email_tipster_question, notify_new_tip

MAX_DESCRIPTION = 10_000
MAX_MESSAGE = 5_000
MAX_ADDRESS = 300
MAX_CONTACT = 300
TIP_MEDIA_TYPES = ["video/", "image/"]
UPLOAD_GRANT_TTL = dt.timedelta(hours=24)
FUTURE_SLACK = dt.timedelta(minutes=10)
# Nothing a tip reports happened before this year; earlier is a typo (or a probe).
MIN_OCCURRED_YEAR = 1900
_REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
TIP_TARGET = "submissions.tip"

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    TipStatus.NEW: frozenset({TipStatus.TRIAGED, TipStatus.DUPLICATE, TipStatus.NOT_ACTIONABLE}),
    TipStatus.TRIAGED: frozenset(
        {TipStatus.ASSIGNED, TipStatus.DUPLICATE, TipStatus.NOT_ACTIONABLE}
    ),
    TipStatus.ASSIGNED: frozenset(
        {TipStatus.ACTIONABLE, TipStatus.NOT_ACTIONABLE, TipStatus.DUPLICATE, TipStatus.TRIAGED}
    ),
    TipStatus.ACTIONABLE: frozenset({TipStatus.CLOSED, TipStatus.ASSIGNED}),
    TipStatus.NOT_ACTIONABLE: frozenset({TipStatus.CLOSED, TipStatus.TRIAGED}),
    TipStatus.DUPLICATE: frozenset({TipStatus.CLOSED, TipStatus.TRIAGED}),
    TipStatus.CLOSED: frozenset({TipStatus.TRIAGED}),
}

# The step to each status, in words, as the "work this tip" panel offers it.
STEP_WORDS: dict[str, str] = {
    TipStatus.TRIAGED: "Mark as triaged",
    TipStatus.ASSIGNED: "Mark as assigned",
    TipStatus.ACTIONABLE: "Mark as actionable",
    TipStatus.NOT_ACTIONABLE: "Mark as not actionable",
    TipStatus.DUPLICATE: "Mark as a duplicate",
    TipStatus.CLOSED: "Close the tip",
}
# Going back to triage reads differently from where it starts.
_BACK_TO_TRIAGE: dict[str, str] = {
    TipStatus.CLOSED: "Reopen the tip",
    TipStatus.ASSIGNED: "Send back to triage",
    TipStatus.NOT_ACTIONABLE: "Reconsider (back to triage)",
    TipStatus.DUPLICATE: "Not a duplicate (back to triage)",
}
MAX_CONVERSATION_DAYS = 3650


def tip_next_steps(tip: Tip) -> list[tuple[str, str]]:
    """The statuses the tip may move to now, each with its button's words, in workflow order.

    "Assigned" is offered only once someone is assigned (the transition refuses it otherwise).
    """
    steps = []
    for status in TipStatus.values:
        if status not in ALLOWED_TRANSITIONS[tip.status]:
            continue
        if status == TipStatus.ASSIGNED and tip.assigned_to_id is None:
            continue
        words = STEP_WORDS[status]
        if status == TipStatus.TRIAGED:
            words = _BACK_TO_TRIAGE.get(tip.status, words)
        elif status == TipStatus.ASSIGNED and tip.status == TipStatus.ACTIONABLE:
            words = "Back to assigned"
        steps.append((status, words))
    return steps


def conversation_closes_at(tip: Tip) -> dt.datetime:
    """When the tip's conversation closes: the agency's period after its last message (or the tip).

    Computed on read, so no task has to close anything and a new question reopens it.
    """
    last = tip.messages.order_by("-created_at").values_list("created_at", flat=True).first()
    days = settings_for(tip.agency).conversation_days
    return (last or tip.received_at) + dt.timedelta(days=days)


def conversation_closed(tip: Tip) -> bool:
    return timezone.now() >= conversation_closes_at(tip)


def tipster_label(tip: Tip) -> str:
    return f"anonymous tipster · {tip.reference}"


@dataclass(frozen=True)
class UploadGrantOffer:
    """What a tipster's client needs to send files: the tus endpoint, header and limits."""

    endpoint: str
    header: str
    grant: str
    max_files: int
    max_file_bytes: int
    media_types: list[str]
    expires_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "header": self.header,
            "grant": self.grant,
            "max_files": self.max_files,
            "max_file_bytes": self.max_file_bytes,
            "media_types": self.media_types,
            "expires_at": self.expires_at,
        }


@dataclass(frozen=True)
class NewTip:
    tip: Tip
    receipt: str
    upload: UploadGrantOffer


def _new_reference() -> str:
    return "T-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def _validated_text(value: str, *, limit: int, field: str, required: bool = False) -> str:
    value = (value or "").replace("\x00", "").strip()
    if required and not value:
        raise ValidationError(_("Please fill in %(field)s.") % {"field": field})
    if len(value) > limit:
        raise ValidationError(
            _("%(field)s is too long: at most %(limit)d characters.")
            % {"field": field.capitalize(), "limit": limit}
        )
    return value


def _point(latitude: float | None, longitude: float | None) -> Point | None:
    if latitude is None and longitude is None:
        return None
    if latitude is None or longitude is None:
        raise ValidationError(_("A place needs both a latitude and a longitude."))
    lat, lon = float(latitude), float(longitude)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError(_("That place is not on the map."))
    return Point(lon, lat, srid=4326)


def _grant_for(tip: Tip, tip_settings: SubmissionSettings) -> UploadGrantOffer:
    issued = evidence_services.upload_grant_issue(
        agency=tip.agency,
        flow=UploadGrant.Flow.TIP,
        source_ref=tip.reference,
        max_files=tip_settings.max_files,
        max_file_bytes=tip_settings.max_file_bytes,
        media_types=TIP_MEDIA_TYPES,
        expires_at=timezone.now() + UPLOAD_GRANT_TTL,
        actor_label=tipster_label(tip),
    )
    grant = issued.grant
    return UploadGrantOffer(
        endpoint=issued.endpoint,
        header=issued.header,
        grant=issued.value,
        max_files=grant.max_files,
        max_file_bytes=grant.max_file_bytes,
        media_types=list(grant.media_types),
        expires_at=grant.expires_at,
    )


def occurred_at_checked(value: dt.datetime) -> dt.datetime:
    """Refuse a time no tip can report: before 1900, or in the future.

    The years are checked before any time-zone arithmetic, which overflows at year 1 or 9999.
    A naive value (read later in the agency's zone) gets the exact future check in tip_create.
    """
    now = timezone.now()
    if value.year < MIN_OCCURRED_YEAR:
        raise ValidationError(
            _("The time it happened cannot be before %(year)s.") % {"year": MIN_OCCURRED_YEAR}
        )
    if value.year > now.year + 1 or (timezone.is_aware(value) and value > now + FUTURE_SLACK):
        raise ValidationError(_("The time it happened cannot be in the future."))
    return value


def tip_create(
    *,
    agency: Agency,
    category: TipCategory,
    description: str,
    occurred_at: dt.datetime,
    latitude: float | None = None,
    longitude: float | None = None,
    address: str = "",
    contact: str = "",
    share_file_metadata: bool = False,
) -> NewTip:
    """Receive an anonymous tip: the tip, its receipt (returned once, stored hashed) and a grant.

    Everything is written in one transaction, so a refused or failed tip leaves nothing behind.
    """
    tip_settings = settings_for(agency)
    if not tip_settings.accepting_tips:
        raise ValidationError(_("This agency is not taking tips online right now."))
    if category.agency_id != agency.pk or not category.active:
        raise ValidationError(_("Choose one of this agency's categories."))
    description = _validated_text(
        description, limit=MAX_DESCRIPTION, field=_("what happened"), required=True
    )
    address = _validated_text(address, limit=MAX_ADDRESS, field=_("the address"))
    contact = _validated_text(contact, limit=MAX_CONTACT, field=_("contact details"))
    if timezone.is_naive(occurred_at):
        raise ValidationError(_("The time needs a time zone."))
    occurred_at_checked(occurred_at)
    location = _point(latitude, longitude)
    receipt = receipts.new_receipt(tip_settings.receipt_style)
    receipt_hash = receipts.receipt_hash(receipt)  # slow-ish CPU work, before the transaction
    for attempt in range(3):
        try:
            with transaction.atomic():
                tip = Tip.objects.create(
                    reference=_new_reference(),
                    agency=agency,
                    category=category,
                    description=description,
                    occurred_at=occurred_at,
                    location=location,
                    address=address,
                    contact=contact,
                    share_file_metadata=share_file_metadata,
                    receipt_hash=receipt_hash,
                    receipt_style=tip_settings.receipt_style,
                    received_at=timezone.now(),
                )
                # The grant (and its audit row) first: audit rows take the audit chain's lock
                # until commit, so they come last and the lock is held as briefly as can be.
                offer = _grant_for(tip, tip_settings)
                audit_record(
                    action=actions.TIP_RECEIVED.name,
                    actor_label=tipster_label(tip),
                    target=(TIP_TARGET, tip.reference),
                    agency=agency,
                    details={
                        "category": category.slug,
                        "has_location": location is not None,
                        "has_contact": bool(contact),
                        "share_file_metadata": share_file_metadata,
                    },
                )
                queueing.send_on_commit(notify_new_tip, str(tip.pk))
            return NewTip(tip=tip, receipt=receipt, upload=offer)
        except IntegrityError:
            # A reference (or, at 1 in 10^16, a receipt) clash: draw again.
            if attempt == 2:
                raise
            receipt = receipts.new_receipt(tip_settings.receipt_style)
            receipt_hash = receipts.receipt_hash(receipt)
    raise AssertionError("unreachable")


# --- the tipster's return -----------------------------------------------------------------


def tip_find_by_receipt(*, receipt: str) -> Tip | None:
    """The tip a receipt opens, or None. No audit row: a wrong guess has no tip to name."""
    if not receipts.looks_like_receipt(receipt):
        return None
    return (
        Tip.objects.select_related("agency", "category")
        .defer("agency__jurisdiction")  # the boundary, possibly large, is not needed here
        .filter(receipt_hash=receipts.receipt_hash(receipt))
        .first()
    )


def tip_record_return(*, tip: Tip) -> None:
    """The tipster came back with the receipt (audited under the tip, never the person)."""
    audit_record(
        action=actions.TIP_RETURNED.name,
        actor_label=tipster_label(tip),
        target=(TIP_TARGET, tip.reference),
        agency=tip.agency,
    )


def public_status(tip: Tip) -> str:
    """What the tipster is told: received, under review or closed."""
    if tip.status == TipStatus.NEW:
        return "received"
    if tip.status == TipStatus.CLOSED:
        return "closed"
    return "under_review"


@transaction.atomic
def tipster_message_add(*, tip: Tip, body: str) -> TipMessage:
    """The tipster answers a question or adds something in words (until the conversation closes)."""
    body = _validated_text(body, limit=MAX_MESSAGE, field=_("your message"), required=True)
    closes_at = conversation_closes_at(tip)
    if timezone.now() >= closes_at:
        raise ValidationError(
            _(
                "This conversation closed on %(date)s, so messages can no longer be sent. "
                "To tell the investigators something new, send a new tip."
            )
            % {"date": closes_at.date().isoformat()}
        )
    message = TipMessage.objects.create(
        tip=tip, direction=TipMessage.Direction.FROM_TIPSTER, body=body
    )
    audit_record(
        action=actions.TIP_ANSWERED.name,
        actor_label=tipster_label(tip),
        target=(TIP_TARGET, tip.reference),
        agency=tip.agency,
        details={"message": message.pk},
    )
    if tip.assigned_to is not None:
        notify(
            recipient=tip.assigned_to,
            kind=NotificationKind.TIPSTER_REPLIED,
            url=reverse("submissions_staff:tip", args=[tip.reference]),
            params={"reference": tip.reference},
        )
    return message


@transaction.atomic
def tipster_upload_grant(*, tip: Tip) -> UploadGrantOffer:
    """A fresh upload grant for a returning tipster's files."""
    if tip.status == TipStatus.CLOSED:
        raise ValidationError(_("This tip is closed; it takes no more files."))
    offer = _grant_for(tip, settings_for(tip.agency))
    audit_record(
        action=actions.TIP_UPLOAD_GRANTED.name,
        actor_label=tipster_label(tip),
        target=(TIP_TARGET, tip.reference),
        agency=tip.agency,
    )
    return offer


# --- the inbox ----------------------------------------------------------------------------


def _require_work(actor: User, tip: Tip) -> None:
    if not can_work_tips(actor) or actor.agency_id != tip.agency_id:
        raise PermissionDenied


def _audit_staff(action: AuditAction, actor: User, tip: Tip, **details: Any) -> None:
    audit_record(
        action=action.name, actor=actor, target=(TIP_TARGET, tip.reference), agency=tip.agency,
        details=details,
    )  # fmt: skip


def tip_record_view(*, actor: User, tip: Tip) -> None:
    """Opening a tip is an access: audited."""
    _audit_staff(actions.TIP_VIEWED, actor, tip)


def tips_record_list(*, actor: User, filters: dict[str, Any], count: int) -> None:
    audit_record(
        action=actions.TIPS_LISTED.name, actor=actor, details={"filters": filters, "rows": count}
    )


def tips_record_case_lookup(*, actor: User, case_number: str, count: int) -> None:
    audit_record(
        action=actions.TIPS_CASE_LOOKUP.name,
        actor=actor,
        case_ref=case_number,
        details={"rows": count},
    )


def _locked(tip: Tip) -> Tip:
    return Tip.objects.select_for_update().select_related("agency").get(pk=tip.pk)


@transaction.atomic
def tip_transition(*, actor: User, tip: Tip, to: str, disposition: str = "") -> Tip:
    """Move a tip along the workflow; only the allowed steps, closing only with a disposition."""
    _require_work(actor, tip)
    locked = _locked(tip)
    if to not in TipStatus.values:
        raise ValidationError(_("Unknown status."))
    if to not in ALLOWED_TRANSITIONS[locked.status]:
        raise ValidationError(
            _("A tip cannot go from %(old)s to %(new)s.")
            % {"old": locked.get_status_display(), "new": TipStatus(to).label}
        )
    if to == TipStatus.ASSIGNED and locked.assigned_to_id is None:
        raise ValidationError(_("Assign the tip to someone first."))
    if to == TipStatus.CLOSED:
        if disposition not in Disposition.values:
            raise ValidationError(_("Choose a disposition to close the tip."))
        locked.disposition, locked.closed_at = disposition, timezone.now()
    elif disposition:
        raise ValidationError(_("A disposition is given only when closing."))
    old = locked.status
    locked.status = to
    if old == TipStatus.CLOSED:
        locked.disposition, locked.closed_at = "", None
    locked.save(update_fields=["status", "disposition", "closed_at", "updated_at"])
    _audit_staff(
        actions.TIP_TRANSITIONED, actor, locked, old=old, new=to, disposition=locked.disposition
    )
    return locked


@transaction.atomic
def tip_assign(*, actor: User, tip: Tip, assignee: User) -> Tip:
    """Give the tip to an investigator or supervisor of its agency."""
    _require_work(actor, tip)
    locked = _locked(tip)
    if (
        assignee.agency_id != locked.agency_id
        or assignee.role not in REVIEWER_ROLES
        or not assignee.is_active
    ):
        raise ValidationError(_("Tips are assigned to investigators or supervisors of the agency."))
    old = locked.assigned_to
    locked.assigned_to = assignee
    old_status = locked.status
    if locked.status in (TipStatus.NEW, TipStatus.TRIAGED):
        locked.status = TipStatus.ASSIGNED
    locked.save(update_fields=["assigned_to", "status", "updated_at"])
    _audit_staff(
        actions.TIP_ASSIGNED, actor, locked,
        old=old.label if old else "", new=assignee.label, old_status=old_status,
        new_status=locked.status,
    )  # fmt: skip
    return locked


@transaction.atomic
def tip_update(
    *,
    actor: User,
    tip: Tip,
    priority: int | None = None,
    case_number: str | None = None,
    public_message: str | None = None,
) -> Tip:
    """Change priority, case number or the status message the tipster sees."""
    _require_work(actor, tip)
    locked = _locked(tip)
    changes: dict[str, int | str] = {}
    if priority is not None:
        if priority not in Priority.values:
            raise ValidationError(_("Unknown priority."))
        changes["priority"] = priority
    if case_number is not None:
        changes["case_number"] = _validated_text(case_number, limit=60, field=_("case number"))
    if public_message is not None:
        changes["public_message"] = _validated_text(
            public_message, limit=MAX_MESSAGE, field=_("status message")
        )
    diff = {
        field: {"old": getattr(locked, field), "new": value}
        for field, value in changes.items()
        if getattr(locked, field) != value
    }
    if not diff:
        return locked
    for field, change in diff.items():
        setattr(locked, field, change["new"])
    locked.save(update_fields=[*diff, "updated_at"])
    _audit_staff(actions.TIP_CHANGED, actor, locked, changes=diff)
    if "case_number" in diff:
        tip_items_file_into_case(tip=locked)
    return locked


def tip_label(tip: Tip) -> str:
    return f"tip {tip.reference}"


def tip_items_file_into_case(*, tip: Tip) -> int:
    """File the tip's items into the agency's case with the tip's number; returns how many."""
    if not tip.case_number:
        return 0
    items = evidence_selectors.items_from_source(source=Source.TIP, refs=[tip.reference]).filter(
        agency=tip.agency
    )
    return sum(
        evidence_services.case_item_link_by_number(
            agency=tip.agency, case_number=tip.case_number, item=item, actor_label=tip_label(tip)
        )
        for item in items
        if item.state != EvidenceItem.State.DELETED
    )


@transaction.atomic
def tip_note_add(*, actor: User, tip: Tip, body: str) -> TipNote:
    """An internal note, for colleagues only."""
    _require_work(actor, tip)
    body = _validated_text(body, limit=MAX_MESSAGE, field=_("the note"), required=True)
    note = TipNote.objects.create(tip=tip, author=actor, body=body)
    _audit_staff(actions.TIP_NOTE_ADDED, actor, tip, note=note.pk)
    return note


@transaction.atomic
def tip_question_send(*, actor: User, tip: Tip, body: str) -> TipMessage:
    """A question for the tipster: shown when they return; emailed only if they left an address."""
    _require_work(actor, tip)
    body = _validated_text(body, limit=MAX_MESSAGE, field=_("the question"), required=True)
    message = TipMessage.objects.create(
        tip=tip, direction=TipMessage.Direction.TO_TIPSTER, body=body, author=actor
    )
    email = contact_email(tip)
    _audit_staff(actions.TIP_QUESTION_SENT, actor, tip, message=message.pk, emailed=bool(email))
    if email:
        queueing.send_on_commit(email_tipster_question, message.pk)
    return message


# --- question templates and the agency's tips-line settings -------------------------------


def _require_templates(actor: User) -> Agency:
    if not can_manage_tip_templates(actor) or actor.agency is None:
        raise PermissionDenied
    return actor.agency


def _template_text(title: str, body: str) -> tuple[str, str]:
    title = _validated_text(title, limit=MAX_TEMPLATE_TITLE, field="the title", required=True)
    body = _validated_text(body, limit=MAX_TEMPLATE_BODY, field="the question", required=True)
    return title, body


@transaction.atomic
def question_template_create(*, actor: User, title: str, body: str) -> QuestionTemplate:
    """A new question template for the actor's agency."""
    agency = _require_templates(actor)
    title, body = _template_text(title, body)
    template = QuestionTemplate.objects.create(
        agency=agency, title=title, body=body, created_by=actor
    )
    audit_record(
        action=actions.TIP_TEMPLATE_SAVED.name, actor=actor, agency=actor.agency,
        target=("submissions.questiontemplate", str(template.pk)), details={"title": title},
    )  # fmt: skip
    return template


@transaction.atomic
def question_template_update(
    *, actor: User, template: QuestionTemplate, title: str, body: str
) -> QuestionTemplate:
    """Change a template's title or words."""
    _require_templates(actor)
    if template.agency_id != actor.agency_id:
        raise PermissionDenied
    title, body = _template_text(title, body)
    template.title, template.body = title, body
    template.save(update_fields=["title", "body", "updated_at"])
    audit_record(
        action=actions.TIP_TEMPLATE_SAVED.name, actor=actor, agency=actor.agency,
        target=("submissions.questiontemplate", str(template.pk)), details={"title": title},
    )  # fmt: skip
    return template


@transaction.atomic
def question_template_delete(*, actor: User, template: QuestionTemplate) -> None:
    """Remove a template (questions already sent keep their words)."""
    _require_templates(actor)
    if template.agency_id != actor.agency_id:
        raise PermissionDenied
    audit_record(
        action=actions.TIP_TEMPLATE_DELETED.name, actor=actor, agency=actor.agency,
        target=("submissions.questiontemplate", str(template.pk)), details={"title": template.title},
    )  # fmt: skip
    template.delete()


@transaction.atomic
def conversation_days_set(*, actor: User, days: int) -> SubmissionSettings:
    """How long a tip's conversation stays open after its last message, for the actor's agency."""
    _require_templates(actor)
    if not 1 <= days <= MAX_CONVERSATION_DAYS:
        raise ValidationError(
            f"Choose between 1 and {MAX_CONVERSATION_DAYS} days for conversations to stay open."
        )
    tip_settings, _created = SubmissionSettings.objects.select_for_update().get_or_create(
        agency=actor.agency
    )
    old = tip_settings.conversation_days
    if old != days:
        tip_settings.conversation_days = days
        tip_settings.save(update_fields=["conversation_days"])
        audit_record(
            action=actions.TIP_SETTINGS_CHANGED.name, actor=actor, agency=actor.agency,
            details={"conversation_days": {"old": old, "new": days}},
        )  # fmt: skip
    return tip_settings
