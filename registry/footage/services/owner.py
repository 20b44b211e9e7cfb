"""Footage requests, the owner's side: their no-account answers through the emailed link.

Per camera: upload footage (an upload grant), "no footage of that time", or "I decline";
then the receipt of what they sent.
"""

import datetime as dt
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import ngettext

from evidence import services as evidence_services
from evidence.models import UploadGrant
from portal.audit import audit_record
from portal.tokens import token_digest
from registry.footage import audit_actions as actions
from registry.footage.services.create import OWNER_LABEL
from registry.footage.services.sweep import _items_by_camera, footage_uploads_record
from registry.models import FootageRequestCamera, FootageRequestLink, FootageRequestRecipient

Status = FootageRequestCamera.Status
FOOTAGE_MEDIA_TYPES = ("video/", "image/")


def recipient_for_link(*, request_id: UUID | str, token: str) -> FootageRequestRecipient:
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


def _request_camera(
    recipient: FootageRequestRecipient, request_camera_id: int | str
) -> FootageRequestCamera:
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
    *, recipient: FootageRequestRecipient, request_camera_id: int | str, answer: str
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
    *, recipient: FootageRequestRecipient, request_camera_id: int | str
) -> evidence_services.UploadGrantIssued:
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
        evidence_services.upload_grants_revoke(
            flow=UploadGrant.Flow.FOOTAGE_REQUEST,
            source_ref=source_ref,
            actor_label=OWNER_LABEL,
            audit_source=audit_source,
        )
        received = evidence_services.uploads_completed_count(
            flow=UploadGrant.Flow.FOOTAGE_REQUEST, source_ref=source_ref
        )
        left = request.max_files - received
        if left <= 0:
            raise LinkClosed(
                ngettext(
                    "This request allows %(count)d file per camera and it was sent.",
                    "This request allows %(count)d files per camera and all were sent.",
                    request.max_files,
                )
                % {"count": request.max_files}
            )
        return evidence_services.upload_grant_issue(
            agency=request.agency,
            flow=UploadGrant.Flow.FOOTAGE_REQUEST,
            source_ref=source_ref,
            max_files=left,
            max_file_bytes=min(
                request.max_file_bytes,
                evidence_services.upload_flow_max_bytes(UploadGrant.Flow.FOOTAGE_REQUEST),
            ),
            media_types=list(FOOTAGE_MEDIA_TYPES),
            expires_at=request.deadline,
            actor_label=OWNER_LABEL,
            audit_source=audit_source,
        )


def footage_receipt_record(*, recipient: FootageRequestRecipient) -> list[dict[str, Any]]:
    """Record the owner's files that arrived (as the sweep does), then return what they sent:
    camera by camera, each file with its SHA-256 once it is computed."""
    request_cameras = list(recipient.cameras.select_related("camera", "request__agency"))
    footage_uploads_record(request_cameras=request_cameras)
    items = _items_by_camera(request_cameras)
    return [{"rc": rc, "items": items.get(rc.pk, [])} for rc in request_cameras]
