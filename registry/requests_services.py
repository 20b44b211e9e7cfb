"""Footage requests: asking camera owners for footage, their no-account answers, reminders.

An owner is reached by email with a link carrying a random token; only the token's SHA-256 is
stored (FootageRequestLink), bound to one request and one owner, usable until the deadline.
Reminders carry a fresh token of their own, so the first email's link keeps working too.
"""

import datetime as dt
import logging
import zoneinfo
from collections import defaultdict
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from evidence import selectors as evidence_selectors
from evidence.intake import grants
from evidence.models import Source, UploadGrant
from portal import emails
from portal.audit import audit_record
from portal.tokens import token_digest, token_issue
from registry import requests_audit_actions as actions
from registry.models import (
    Camera,
    CameraSearch,
    FootageRequest,
    FootageRequestCamera,
    FootageRequestLink,
    FootageRequestRecipient,
)
from registry.requests_policies import can_approve_footage_request, can_request_footage
from registry.requests_selectors import (
    asking_party,
    overwrite_at,
    registry_policy_for,
    window_in_zones,
)

Status = FootageRequestCamera.Status
EmailStatus = FootageRequestRecipient.EmailStatus
logger = logging.getLogger(__name__)
REMINDER_LEAD = dt.timedelta(hours=24)
# An upload grant lives at most 30 days (evidence.uploads.MAX_GRANT_TTL), and so does a request.
MAX_DEADLINE = grants.MAX_GRANT_TTL
MIN_DEADLINE = dt.timedelta(hours=1)
MAX_CAMERAS = 100
DEFAULT_MAX_FILES = 20
FOOTAGE_MEDIA_TYPES = ("video/", "image/")
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


def _check_times(*, actor, window_start, window_end, deadline, ask_approval: bool, now) -> bool:
    """Validate the window and deadline; True when the window needs a supervisor's approval."""
    if window_end <= window_start:
        raise ValidationError({"window_end": "The window must end after it starts."})
    if window_start >= now:
        raise ValidationError({"window_start": "The window must start in the past."})
    if not now + MIN_DEADLINE <= deadline <= now + MAX_DEADLINE:
        raise ValidationError({"deadline": "The deadline is from 1 hour to 30 days from now."})
    cap = dt.timedelta(minutes=registry_policy_for(actor.agency).max_window_minutes)
    over_cap = window_end - window_start > cap
    if over_cap and not ask_approval:
        raise ValidationError(
            {
                "window_end": (
                    f"The time window is {duration_text(window_end - window_start)}, longer than "
                    f"{actor.agency.name}'s limit of {duration_text(cap)}. Shorten it, or ask for a "
                    "supervisor's approval: the request is sent only once a supervisor approves it."
                )
            }
        )
    return over_cap


def _cameras_for(*, search: CameraSearch, camera_ids) -> list[Camera]:
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
    actor,
    search: CameraSearch,
    camera_ids,
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
    if not can_request_footage(actor) or search.agency_id != actor.agency_id:
        raise PermissionDenied("Only investigators and supervisors of the agency ask for footage.")
    case_number, reason, message = case_number.strip(), reason.strip(), message.strip()
    _check_text(case_number=case_number, reason=reason, message=message)
    now = timezone.now()
    over_cap = _check_times(
        actor=actor,
        window_start=window_start,
        window_end=window_end,
        deadline=deadline,
        ask_approval=ask_approval,
        now=now,
    )
    if not 1 <= max_files <= grants.MAX_FILES_PER_GRANT:
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
        max_file_bytes=grants.flow_max_bytes(UploadGrant.Flow.FOOTAGE_REQUEST),
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


def _lock_awaiting(*, actor, request: FootageRequest) -> FootageRequest:
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
def footage_request_approve(*, actor, request: FootageRequest) -> FootageRequest:
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
def footage_request_refuse(*, actor, request: FootageRequest, reason: str) -> FootageRequest:
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


def _owner_email_context(recipient: FootageRequestRecipient) -> dict:
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


def _send(request: FootageRequest, *, actor) -> None:
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

    def deliver():
        for to, path, recipient in outgoing:
            _deliver(
                recipient, "request", to=to, path=path, context=_owner_email_context(recipient)
            )

    transaction.on_commit(deliver)


def _deliver(recipient: FootageRequestRecipient, kind: str, *, to: str, path: str, context) -> bool:
    """Send one owner's email after commit; a failure is recorded (recipient, audit), not lost.

    OSError covers SMTP errors (smtplib.SMTPException), refused connections and timeouts.
    """
    send = emails.send_footage_request if kind != "reminder" else emails.send_footage_reminder
    try:
        send(to=to, path=path, context=context)
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


def footage_request_resend(*, actor, request: FootageRequest, recipient_id) -> bool:
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


# --- the owner's link ------------------------------------------------------------------------


def recipient_for_link(*, request_id, token: str) -> FootageRequestRecipient:
    """The recipient a link names: 404 for a wrong token or a token of another request."""
    if not token or len(token) > 200:
        raise Http404("No such footage request.")
    link = (
        FootageRequestLink.objects.filter(token_hash=token_digest(token))
        .select_related("recipient__request__agency", "recipient__owner")
        .first()
    )
    if link is None or str(link.recipient.request_id) != str(request_id):
        raise Http404("No such footage request.")
    return link.recipient


class LinkClosed(ValidationError):
    """The link can no longer answer: it expired, or everything was answered already."""


def link_state(recipient: FootageRequestRecipient, now: dt.datetime | None = None) -> str:
    """`open`, `answered` (every camera has its answer) or `expired` (the deadline passed)."""
    statuses = list(recipient.cameras.values_list("status", flat=True))
    if statuses and all(s in FootageRequestCamera.ANSWERED for s in statuses):
        return "answered"
    if (now or timezone.now()) >= recipient.request.deadline:
        return "expired"
    return "open"


def _expired_message(recipient: FootageRequestRecipient) -> str:
    return (
        f"This link expired on {recipient.request.deadline:%Y-%m-%d %H:%M} UTC. "
        "The request is closed and nothing more can be sent."
    )


def _require_open(recipient: FootageRequestRecipient) -> None:
    state = link_state(recipient)
    if state == "expired":
        raise LinkClosed(_expired_message(recipient))
    if state == "answered":
        raise LinkClosed("This link was already used: every camera in it has been answered.")


def _request_camera(recipient: FootageRequestRecipient, request_camera_id) -> FootageRequestCamera:
    try:
        return recipient.cameras.select_related("camera").get(pk=int(request_camera_id))
    except (FootageRequestCamera.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such camera in this request.") from exc


def recipient_open(*, recipient: FootageRequestRecipient) -> None:
    """The owner opened their link: the agency sees `opened` (and nothing else) while it is open."""
    if recipient.opened_at is not None:
        return
    now = timezone.now()
    with transaction.atomic():
        first = FootageRequestRecipient.objects.filter(
            pk=recipient.pk, opened_at__isnull=True
        ).update(opened_at=now)
        if first:
            recipient.cameras.filter(status=Status.SENT).update(status=Status.OPENED)
    recipient.opened_at = now


ANSWERS = {"no_footage": Status.NO_FOOTAGE, "declined": Status.DECLINED}


@transaction.atomic
def footage_answer(
    *, recipient: FootageRequestRecipient, request_camera_id, answer: str
) -> FootageRequestCamera:
    """The owner answers for one camera: "no footage of that time" or "I decline"."""
    if answer not in ANSWERS:
        raise ValidationError("Answer with 'no_footage' or 'declined'.")
    _require_open(recipient)
    rc = _request_camera(recipient, request_camera_id)
    now = timezone.now()
    answered = FootageRequestCamera.objects.filter(
        pk=rc.pk, status__in=[Status.SENT, Status.OPENED]
    ).update(status=ANSWERS[answer], answered_at=now)
    if not answered:
        rc.refresh_from_db()
        raise ValidationError(
            f"{rc.camera.name} was already answered ({rc.get_status_display().lower()})."
        )
    rc.status, rc.answered_at = ANSWERS[answer], now
    audit_record(
        action=actions.FOOTAGE_REQUEST_ANSWERED.name,
        actor_label=OWNER_LABEL,
        target=rc.request,
        agency=recipient.request.agency,
        details={"camera_id": str(rc.camera_id), "answer": rc.status},
    )
    return rc


def footage_upload_grant(
    *, recipient: FootageRequestRecipient, request_camera_id
) -> tuple[UploadGrant, str]:
    """An upload grant for one camera of the request: its types, sizes, remaining count, deadline.

    Each call revokes the camera's earlier grants, so reloading the page never adds files:
    the new grant allows what is left of the request's count.
    """
    rc = _request_camera(recipient, request_camera_id)
    if rc.status != Status.UPLOADED:
        _require_open(recipient)
    elif timezone.now() >= recipient.request.deadline:
        # An owner who already sent files may add more until the deadline, up to the count.
        raise LinkClosed(_expired_message(recipient))
    if rc.status in (Status.NO_FOOTAGE, Status.DECLINED):
        raise LinkClosed(f"You already answered for {rc.camera.name}.")
    request = recipient.request
    source_ref = str(rc.pk)
    # The grant's rows name the request, never the camera: an owner who opens the uploader
    # and then sends nothing has not answered, and staff must not learn who engaged.
    audit_source = {"request": str(request.pk)}
    with transaction.atomic():
        grants.grants_revoke_for_source(
            flow=UploadGrant.Flow.FOOTAGE_REQUEST,
            source_ref=source_ref,
            actor_label=OWNER_LABEL,
            audit_source=audit_source,
        )
        received = grants.uploads_completed_for_source(
            flow=UploadGrant.Flow.FOOTAGE_REQUEST, source_ref=source_ref
        )
        left = request.max_files - received
        if left <= 0:
            raise LinkClosed(
                f"This request allows {request.max_files} file(s) per camera and all were sent."
            )
        return grants.grant_create_with_secret(
            agency=request.agency,
            flow=UploadGrant.Flow.FOOTAGE_REQUEST,
            source_ref=source_ref,
            max_files=left,
            max_file_bytes=min(
                request.max_file_bytes, grants.flow_max_bytes(UploadGrant.Flow.FOOTAGE_REQUEST)
            ),
            media_types=list(FOOTAGE_MEDIA_TYPES),
            expires_at=request.deadline,
            actor_label=OWNER_LABEL,
            audit_source=audit_source,
        )


def _items_by_camera(request_cameras) -> dict[int, list]:
    by_ref = defaultdict(list)
    refs = [str(rc.pk) for rc in request_cameras]
    for item in evidence_selectors.items_from_source(source=Source.FOOTAGE_REQUEST, refs=refs):
        by_ref[int(item.source_ref)].append(item)
    return by_ref


def footage_uploads_record(*, request_cameras) -> int:
    """Cameras whose owner's files arrived become `uploaded` (once); returns how many changed."""
    pending = [rc for rc in request_cameras if rc.status in (Status.SENT, Status.OPENED)]
    if not pending:
        return 0
    changed = 0
    items = _items_by_camera(pending)
    for rc in pending:
        arrived = items.get(rc.pk)
        if not arrived:
            continue
        first = min(item.received_at for item in arrived)
        with transaction.atomic():
            if FootageRequestCamera.objects.filter(
                pk=rc.pk, status__in=[Status.SENT, Status.OPENED]
            ).update(status=Status.UPLOADED, answered_at=first):
                rc.status, rc.answered_at = Status.UPLOADED, first
                changed += 1
                audit_record(
                    action=actions.FOOTAGE_REQUEST_ANSWERED.name,
                    actor_label=OWNER_LABEL,
                    target=rc.request,
                    agency=rc.request.agency,
                    details={
                        "camera_id": str(rc.camera_id),
                        "answer": Status.UPLOADED,
                        "items": [str(i.pk) for i in arrived],
                    },
                )
    return changed


def receipt_for(*, recipient: FootageRequestRecipient) -> list[dict]:
    """What the owner sent, camera by camera, each file with its SHA-256 once it is computed."""
    request_cameras = list(recipient.cameras.select_related("camera", "request__agency"))
    footage_uploads_record(request_cameras=request_cameras)
    items = _items_by_camera(request_cameras)
    return [{"rc": rc, "items": items.get(rc.pk, [])} for rc in request_cameras]


# --- the beat job: uploads noticed, deadlines passed, reminders ------------------------------


def _in_quiet_hours(cameras, now: dt.datetime) -> bool:
    for camera in cameras:
        if camera.quiet_from is None or camera.quiet_until is None:
            continue
        local = now.astimezone(zoneinfo.ZoneInfo(camera.time_zone)).time()
        start, end = camera.quiet_from, camera.quiet_until
        inside = start <= local < end if start <= end else (local >= start or local < end)
        if inside:
            return True
    return False


def _expire(now: dt.datetime) -> int:
    due = list(
        FootageRequestCamera.objects.filter(
            status__in=[Status.SENT, Status.OPENED], request__deadline__lte=now
        ).values_list("pk", "request_id", "request__agency_id")
    )
    by_agency = defaultdict(list)
    for pk, request_id, agency_id in due:
        by_agency[agency_id].append((pk, request_id))
    expired = 0
    for rows in by_agency.values():
        with transaction.atomic():
            count = FootageRequestCamera.objects.filter(
                pk__in=[pk for pk, _ in rows], status__in=[Status.SENT, Status.OPENED]
            ).update(status=Status.EXPIRED)
            if count:
                request = FootageRequest.objects.select_related("agency").get(pk=rows[0][1])
                audit_record(
                    action=actions.FOOTAGE_REQUESTS_EXPIRED.name,
                    actor_label="footage request expiry",
                    agency=request.agency,
                    details={"requests": sorted({str(r) for _, r in rows}), "cameras": count},
                )
            expired += count
    return expired


def _reminders_due(recipient: FootageRequestRecipient, now: dt.datetime) -> list[str]:
    request = recipient.request
    unanswered = [rc for rc in recipient.cameras.all() if rc.status in (Status.SENT, Status.OPENED)]
    if not unanswered or request.deadline <= now:
        return []
    due = []
    if recipient.deadline_reminder_at is None and request.deadline - now <= REMINDER_LEAD:
        due.append("deadline")
    if recipient.overwrite_reminder_at is None and any(
        now < overwrite_at(request, rc.camera) <= now + REMINDER_LEAD for rc in unanswered
    ):
        due.append("overwrite")
    return due


def _remind(recipient: FootageRequestRecipient, kinds: list[str], now: dt.datetime) -> bool:
    """Claim the reminder flags with one conditional UPDATE, then email after commit (once)."""
    claim = Q(pk=recipient.pk)
    fields = {}
    if "deadline" in kinds:
        claim &= Q(deadline_reminder_at__isnull=True)
        fields["deadline_reminder_at"] = now
    if "overwrite" in kinds:
        claim &= Q(overwrite_reminder_at__isnull=True)
        fields["overwrite_reminder_at"] = now
    with transaction.atomic():
        if not FootageRequestRecipient.objects.filter(claim).update(**fields):
            return False
        token = _new_link(recipient)
        path = link_path(recipient.request, token)
        audit_record(
            action=actions.FOOTAGE_REMINDER_SENT.name,
            actor_label="footage request reminders",
            target=recipient.request,
            agency=recipient.request.agency,
            # Not the recipient: only owners who have not answered are reminded, so naming one
            # would tell the agency who ignored its request.
            details={"kinds": kinds},
        )
        context = _owner_email_context(recipient) | {"kinds": kinds}
        to = recipient.owner.email
        transaction.on_commit(
            lambda: _deliver(recipient, "reminder", to=to, path=path, context=context)
        )
    return True


def footage_requests_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Record arrived uploads, expire past deadlines, send due reminders. Safe to run again."""
    now = now or timezone.now()
    live = FootageRequestCamera.objects.filter(
        status__in=[Status.SENT, Status.OPENED], request__status=FootageRequest.Status.SENT
    ).select_related("request__agency")
    uploaded = footage_uploads_record(request_cameras=list(live))
    expired = _expire(now)
    reminded = 0
    recipients = (
        FootageRequestRecipient.objects.filter(
            request__status=FootageRequest.Status.SENT,
            request__deadline__gt=now,
            cameras__status__in=[Status.SENT, Status.OPENED],
        )
        .filter(Q(deadline_reminder_at__isnull=True) | Q(overwrite_reminder_at__isnull=True))
        .distinct()
        .select_related("request__agency", "owner")
        .prefetch_related("cameras__camera")
    )
    for recipient in recipients:
        kinds = _reminders_due(recipient, now)
        if not kinds:
            continue
        if _in_quiet_hours([rc.camera for rc in recipient.cameras.all()], now):
            continue  # the next run after the quiet hours sends it
        reminded += _remind(recipient, kinds, now)
    return {"uploaded": uploaded, "expired": expired, "reminded": reminded}


# --- reading is an access too ------------------------------------------------------------------


def footage_requests_record_list(*, actor, count: int) -> None:
    """The dashboard was viewed."""
    audit_record(action=actions.FOOTAGE_REQUESTS_LISTED.name, actor=actor, details={"rows": count})


def footage_request_record_view(*, actor, request: FootageRequest, items: int, via: str) -> None:
    """A request and the evidence list under it were viewed."""
    audit_record(
        action=actions.FOOTAGE_REQUEST_VIEWED.name,
        actor=actor,
        target=request,
        case_ref=request.case_number,
        details={"items": items, "via": via},
    )
