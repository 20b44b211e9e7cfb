"""Footage requests, the agency's side: making, approving and sending them (and its reads).

An owner is reached by email with a link carrying a random token; only the token's SHA-256 is
stored (FootageRequestLink), bound to one request and one owner, usable until the deadline.
Reminders (sweep.py) carry a fresh token of their own, so the first email's link keeps working too.
"""

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation

from evidence import services as evidence_services
from evidence.models import UploadGrant
from notifications.services import language_of
from portal import emails
from portal.audit import audit_record
from portal.models import Agency, User
from portal.tokens import token_issue
from registry.footage import audit_actions as actions
from registry.footage.policies import can_approve_footage_request, can_request_footage
from registry.footage.selectors import (
    asking_party,
    overwrite_at,
    registry_policy_for,
    window_in_zones,
)
from registry.models import (
    Camera,
    CameraSearch,
    FootageRequest,
    FootageRequestCamera,
    FootageRequestLink,
    FootageRequestRecipient,
)

Status = FootageRequestCamera.Status
EmailStatus = FootageRequestRecipient.EmailStatus
logger = logging.getLogger(__name__)
# An upload grant lives at most 30 days (MAX_GRANT_TTL), and so does a request.
MAX_DEADLINE = evidence_services.MAX_GRANT_TTL
MIN_DEADLINE = dt.timedelta(hours=1)
MAX_CAMERAS = 100
DEFAULT_MAX_FILES = 20
# The audit label of what is done through an owner's link (owner.py, and arrivals in sweep.py).
OWNER_LABEL = "camera owner (footage request link)"


def duration_text(delta: dt.timedelta) -> str:
    """A duration for people: '2 h', '1 h 30 min', '45 min'."""
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


# --- creating, approving, sending ----------------------------------------------------------


def _check_text(*, case_number: str, reason: str, message: str) -> None:
    errors = {}
    if not case_number:
        errors["case_number"] = "A case number is required."
    elif len(case_number) > 100:
        errors["case_number"] = "A case number has at most 100 characters."
    if not reason:
        errors["reason"] = "State the legal basis or reason for the request."
    elif len(reason) > 2000:
        errors["reason"] = "The reason has at most 2000 characters."
    if len(message) > 5000:
        errors["message"] = "The message has at most 5000 characters."
    if errors:
        raise ValidationError(errors)


def _check_times(
    *,
    agency: Agency,
    window_start: dt.datetime,
    window_end: dt.datetime,
    deadline: dt.datetime,
    ask_approval: bool,
    now: dt.datetime,
) -> bool:
    """Validate the window and deadline; True when the window needs a supervisor's approval."""
    if window_end <= window_start:
        raise ValidationError({"window_end": "The window must end after it starts."})
    if window_start >= now:
        raise ValidationError({"window_start": "The window must start in the past."})
    if not now + MIN_DEADLINE <= deadline <= now + MAX_DEADLINE:
        raise ValidationError({"deadline": "The deadline is from 1 hour to 30 days from now."})
    cap = dt.timedelta(minutes=registry_policy_for(agency).max_window_minutes)
    over_cap = window_end - window_start > cap
    if over_cap and not ask_approval:
        raise ValidationError(
            {
                "window_end": (
                    f"The time window is {duration_text(window_end - window_start)}, longer than "
                    f"{agency.name}'s limit of {duration_text(cap)}. Shorten it, or ask for a "
                    "supervisor's approval: the request is sent only once a supervisor approves it."
                )
            }
        )
    return over_cap


def _cameras_for(*, search: CameraSearch, camera_ids: Iterable[UUID | str]) -> list[Camera]:
    wanted = list(dict.fromkeys(str(c) for c in camera_ids))
    if not wanted:
        raise ValidationError({"cameras": "Choose at least one camera from the search results."})
    if len(wanted) > MAX_CAMERAS:
        raise ValidationError({"cameras": f"A request asks at most {MAX_CAMERAS} cameras."})
    in_search = {str(c) for c in search.camera_ids}
    if not set(wanted) <= in_search:
        raise ValidationError({"cameras": "Only cameras this search returned can be asked."})
    cameras = {str(c.pk): c for c in Camera.objects.filter(pk__in=wanted).select_related("owner")}
    refused = []
    for camera_id in wanted:
        camera = cameras.get(camera_id)
        if camera is None or camera.deleted_at is not None:
            refused.append(f"{camera.name if camera else camera_id} (deleted by its owner)")
        elif camera.paused_at is not None:
            refused.append(f"{camera.name} (its owner paused participation)")
        elif not camera.contactable:
            refused.append(f"{camera.name} (its owner does not want to be contacted)")
    if refused:
        raise ValidationError(
            {"cameras": "These cameras cannot be asked for footage: " + "; ".join(refused) + "."}
        )
    return [cameras[c] for c in wanted]


@transaction.atomic
def footage_request_create(
    *,
    actor: User,
    search: CameraSearch,
    camera_ids: Iterable[UUID | str],
    case_number: str,
    reason: str,
    message: str = "",
    window_start: dt.datetime,
    window_end: dt.datetime,
    deadline: dt.datetime,
    ask_approval: bool = False,
    max_files: int = DEFAULT_MAX_FILES,
) -> FootageRequest:
    """Ask the owners of cameras from a search for footage of one window.

    A window over the agency's cap is refused unless `ask_approval`; then the request waits
    for a supervisor and no email goes out until one approves it.
    """
    # The policy asks for a police agency; `actor.agency is None` says so to the type checker.
    if (
        not can_request_footage(actor)
        or actor.agency is None
        or search.agency_id != actor.agency_id
    ):
        raise PermissionDenied("Only investigators and supervisors of the agency ask for footage.")
    case_number, reason, message = case_number.strip(), reason.strip(), message.strip()
    _check_text(case_number=case_number, reason=reason, message=message)
    now = timezone.now()
    over_cap = _check_times(
        agency=actor.agency,
        window_start=window_start,
        window_end=window_end,
        deadline=deadline,
        ask_approval=ask_approval,
        now=now,
    )
    if not 1 <= max_files <= evidence_services.MAX_FILES_PER_GRANT:
        raise ValidationError({"max_files": "A request allows from 1 to 1000 files per camera."})
    cameras = _cameras_for(search=search, camera_ids=camera_ids)
    request = FootageRequest.objects.create(
        agency=actor.agency,
        requested_by=actor,
        search=search,
        case_number=case_number,
        reason=reason,
        message=message,
        window_start=window_start,
        window_end=window_end,
        deadline=deadline,
        max_files=max_files,
        max_file_bytes=evidence_services.upload_flow_max_bytes(UploadGrant.Flow.FOOTAGE_REQUEST),
        status=FootageRequest.Status.AWAITING_APPROVAL if over_cap else FootageRequest.Status.SENT,
    )
    recipients: dict[int, FootageRequestRecipient] = {}
    for camera in cameras:
        if camera.owner_id not in recipients:
            recipients[camera.owner_id] = FootageRequestRecipient.objects.create(
                request=request, owner_id=camera.owner_id
            )
        FootageRequestCamera.objects.create(
            request=request, recipient=recipients[camera.owner_id], camera=camera
        )
    audit_record(
        action=actions.FOOTAGE_REQUEST.name,
        actor=actor,
        target=request,
        reason=reason,
        case_ref=case_number,
        details={
            "case_number": case_number,
            "reason": reason,
            "camera_ids": [str(c.pk) for c in cameras],
            "search": str(search.pk),
            "window_start": window_start.isoformat(),
            "window_end": window_end.isoformat(),
            "deadline": deadline.isoformat(),
            "status": request.status,
        },
    )
    if not over_cap:
        _send(request, actor=actor)
    return request


def _lock_awaiting(*, actor: User, request: FootageRequest) -> FootageRequest:
    locked = FootageRequest.objects.select_for_update().get(pk=request.pk)
    if locked.agency_id != actor.agency_id:
        raise Http404("No such footage request.")
    if locked.status != FootageRequest.Status.AWAITING_APPROVAL:
        raise ValidationError(f"This request is already {locked.get_status_display().lower()}.")
    if not can_approve_footage_request(actor, locked):
        raise PermissionDenied(
            "Only a supervisor of the agency, other than the investigator who asked, decides."
        )
    return locked


@transaction.atomic
def footage_request_approve(*, actor: User, request: FootageRequest) -> FootageRequest:
    """A supervisor approves a window over the cap; the owners are emailed at once."""
    locked = _lock_awaiting(actor=actor, request=request)
    if locked.deadline <= timezone.now() + MIN_DEADLINE:
        raise ValidationError(
            "The request's deadline is too close (or past) to send it now; ask for a new one."
        )
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.save(update_fields=["decided_by", "decided_at"])
    audit_record(
        action=actions.FOOTAGE_REQUEST_APPROVED.name,
        actor=actor,
        target=locked,
        case_ref=locked.case_number,
        details={
            "window_minutes": int((locked.window_end - locked.window_start).total_seconds() // 60)
        },
    )
    _send(locked, actor=actor)
    return locked


@transaction.atomic
def footage_request_refuse(*, actor: User, request: FootageRequest, reason: str) -> FootageRequest:
    """A supervisor refuses a request over the cap; nobody is contacted."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the request is refused."})
    locked = _lock_awaiting(actor=actor, request=request)
    locked.status = FootageRequest.Status.REFUSED
    locked.decided_by, locked.decided_at, locked.refusal_reason = actor, timezone.now(), reason
    locked.save(update_fields=["status", "decided_by", "decided_at", "refusal_reason"])
    audit_record(
        action=actions.FOOTAGE_REQUEST_REFUSED.name,
        actor=actor,
        target=locked,
        reason=reason,
        case_ref=locked.case_number,
    )
    return locked


def _new_link(recipient: FootageRequestRecipient) -> str:
    token, digest = token_issue()
    FootageRequestLink.objects.create(recipient=recipient, token_hash=digest)
    return token


def link_path(request: FootageRequest, token: str) -> str:
    """The owner's page; the token rides in the query string, which the access log leaves out."""
    return f"{reverse('registry_owner:respond', args=[request.pk])}?{urlencode({'t': token})}"


def _owner_email_context(recipient: FootageRequestRecipient) -> dict[str, Any]:
    request = recipient.request
    cameras = [
        {
            "name": rc.camera.name,
            "window": window_in_zones(request, rc.camera),
            "overwrite_at": overwrite_at(request, rc.camera),
        }
        for rc in recipient.cameras.select_related("camera")
    ]
    return {
        "owner": recipient.owner,
        "request": request,
        "asking": asking_party(request),
        "cameras": cameras,
    }


def _send(request: FootageRequest, *, actor: User) -> None:
    """Inside the caller's transaction: make each owner's link, email them after commit."""
    now = timezone.now()
    request.status, request.sent_at = FootageRequest.Status.SENT, now
    request.save(update_fields=["status", "sent_at"])
    request.cameras.filter(status=Status.PENDING).update(status=Status.SENT)
    outgoing = []
    for recipient in request.recipients.select_related("owner"):
        token = _new_link(recipient)
        outgoing.append((recipient.owner.email, link_path(request, token), recipient))
    camera_ids = [str(c) for c in request.cameras.values_list("camera_id", flat=True)]
    audit_record(
        action=actions.FOOTAGE_REQUEST_SENT.name,
        actor=actor,
        target=request,
        agency=request.agency,
        case_ref=request.case_number,
        details={"camera_ids": camera_ids, "owners": len(outgoing)},
    )

    def deliver() -> None:
        for to, path, recipient in outgoing:
            _deliver(
                recipient, "request", to=to, path=path, context=_owner_email_context(recipient)
            )

    transaction.on_commit(deliver)


def _deliver(
    recipient: FootageRequestRecipient, kind: str, *, to: str, path: str, context: dict[str, Any]
) -> bool:
    """Send one owner's email after commit; a failure is recorded (recipient, audit), not lost.

    OSError covers SMTP errors (smtplib.SMTPException), refused connections and timeouts.
    """
    send = emails.send_footage_request if kind != "reminder" else emails.send_footage_reminder
    try:
        # In the owner's language, whoever's request sends it; who asks is named in it too.
        with translation.override(language_of(recipient.owner)):
            send(to=to, path=path, context=context | {"asking": asking_party(recipient.request)})
    except OSError as exc:
        # The class only: an SMTP error's text can carry the owner's address.
        error = type(exc).__name__[:200]
        # Only owners who have not answered get reminders: a failed reminder is not shown to the
        # agency per owner (no resend button, no recipient in the audit row), or it would tell
        # who ignored the request. Their first email did reach them.
        reminder = kind == "reminder"
        with transaction.atomic():
            if not reminder:
                FootageRequestRecipient.objects.filter(pk=recipient.pk).update(
                    email_status=EmailStatus.FAILED, email_error=error, email_at=timezone.now()
                )
            audit_record(
                action=actions.FOOTAGE_EMAIL_FAILED.name,
                actor_label="footage request email",
                target=recipient.request,
                agency=recipient.request.agency,
                details={"kind": kind, "error": error}
                | ({} if reminder else {"recipient": recipient.pk}),
            )
        logger.warning("footage %s email to recipient %s failed: %s", kind, recipient.pk, error)
        return False
    FootageRequestRecipient.objects.filter(pk=recipient.pk).update(
        email_status=EmailStatus.SENT, email_error="", email_at=timezone.now()
    )
    return True


def footage_request_resend(
    *, actor: User, request: FootageRequest, recipient_id: int | str
) -> bool:
    """Email an owner whose email failed again, with a fresh link; True if it went out."""
    if not can_request_footage(actor) or request.agency_id != actor.agency_id:
        raise PermissionDenied
    with transaction.atomic():
        try:
            recipient = (
                FootageRequestRecipient.objects.select_for_update()
                .select_related("owner", "request__agency")
                .get(pk=recipient_id, request=request)
            )
        except (FootageRequestRecipient.DoesNotExist, ValueError, TypeError) as exc:
            raise Http404("No such recipient.") from exc
        if request.status != FootageRequest.Status.SENT:
            raise ValidationError("This request has not been sent: there is nothing to resend.")
        if request.deadline <= timezone.now():
            raise ValidationError("The deadline has passed: make a new request instead.")
        if recipient.email_status != EmailStatus.FAILED:
            raise ValidationError("Only an email that failed can be sent again.")
        token = _new_link(recipient)
        audit_record(
            action=actions.FOOTAGE_REQUEST_RESENT.name,
            actor=actor,
            target=request,
            agency=request.agency,
            case_ref=request.case_number,
            details={"recipient": recipient.pk},
        )
    return _deliver(
        recipient,
        "resend",
        to=recipient.owner.email,
        path=link_path(request, token),
        context=_owner_email_context(recipient),
    )


# --- reading is an access too ------------------------------------------------------------------


def footage_requests_record_list(*, actor: User, count: int) -> None:
    """The dashboard was viewed."""
    audit_record(action=actions.FOOTAGE_REQUESTS_LISTED.name, actor=actor, details={"rows": count})


def footage_request_record_view(
    *, actor: User, request: FootageRequest, items: int, via: str
) -> None:
    """A request and the evidence list under it were viewed."""
    audit_record(
        action=actions.FOOTAGE_REQUEST_VIEWED.name,
        actor=actor,
        target=request,
        case_ref=request.case_number,
        details={"items": items, "via": via},
    )
