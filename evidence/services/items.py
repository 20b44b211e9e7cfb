"""Evidence writes: items from finished uploads, and the custody events of reading them."""

import datetime as dt
import logging
import secrets
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from redis import Redis

from evidence import audit_actions as actions
from evidence import sources
from evidence.cases import policies as case_policies
from evidence.models import (
    Case,
    CaseItem,
    Confidence,
    Derivative,
    EvidenceItem,
    ValueSource,
)
from evidence.policies import can_see_identifying_metadata, can_upload_evidence
from portal import storage
from portal.audit import audit_record
from portal.models import User

logger = logging.getLogger(__name__)

DOWNLOAD_SECONDS = 300
_DOWNLOAD_SALT = "canvass.evidence-download"


def item_source_details_set(*, item: EvidenceItem, details: dict[str, Any]) -> None:
    """Keep the source's own account of an item (a body camera's manifest) in its metadata.

    For a source's item_received hook: the source audits it in the same transaction (its
    custody row says what it stated); the media pipeline keeps it when it fills in what the file
    itself says.
    """
    with transaction.atomic():
        locked = EvidenceItem.objects.select_for_update().get(pk=item.pk)
        locked.metadata = {**(locked.metadata or {}), sources.SOURCE_DETAILS_KEY: details}
        locked.save(update_fields=["metadata", "updated_at"])
    item.metadata = locked.metadata


def item_record_view(*, actor: User, item: EvidenceItem, via: str) -> None:
    """Custody: someone looked at the item (page, API record or custody report)."""
    action = actions.CUSTODY_VIEWED if via == "custody" else actions.VIEWED
    audit_record(
        action=action.name, actor=actor, target=item, agency=item.agency, details={"via": via}
    )


_PLAYBACK_KINDS = (
    Derivative.Kind.HLS_PLAYLIST,
    Derivative.Kind.PROXY_MP4,
    Derivative.Kind.AUDIO_PROXY,
)


def item_record_media_fetch(*, actor: User, item: EvidenceItem, derivative: Derivative) -> None:
    """Custody: a playable copy was fetched (played) or a still was shown (viewed)."""
    audit_record(
        action=(actions.PLAYED if derivative.kind in _PLAYBACK_KINDS else actions.VIEWED).name,
        actor=actor,
        target=item,
        agency=item.agency,
        details={"derivative": derivative.name, "sha256": derivative.sha256},
    )


def items_record_list(*, actor: User, filters: dict[str, Any], count: int) -> None:
    """Searching the evidence list is an access too."""
    audit_record(
        action=actions.LISTED.name, actor=actor, details={"filters": filters, "rows": count}
    )


def download_url_issue(
    *, actor: User, item: EvidenceItem, derivative: Derivative | None = None
) -> tuple[str, int]:
    """A short-lived URL for the original (or a derivative), audited as a download.

    On S3 it is a presigned URL; on local storage a signed link to our own download view.
    """
    key = derivative.key if derivative else item.original_key
    name = derivative.name if derivative else (item.original_filename or f"{item.pk}")
    sha256 = derivative.sha256 if derivative else item.sha256
    audit_record(
        action=actions.DOWNLOADED.name,
        actor=actor,
        target=item,
        agency=item.agency,
        details={
            "what": derivative.kind if derivative else "original",
            "name": name,
            "sha256": sha256,
        },
    )
    url = storage.signed_download_url(key, filename=name, seconds=DOWNLOAD_SECONDS)
    if url is None:
        nonce = secrets.token_urlsafe(16)
        token = signing.dumps({"k": key, "n": name, "u": actor.pk, "x": nonce}, salt=_DOWNLOAD_SALT)
        url = f"{reverse('evidence:download')}?{urlencode({'t': token})}"
    return url, DOWNLOAD_SECONDS


def download_token_read(*, token: str, actor: User) -> tuple[str, str]:
    """The (key, filename) a local download link grants, if it is fresh and the same user's."""
    data = signing.loads(token, salt=_DOWNLOAD_SALT, max_age=DOWNLOAD_SECONDS)
    if data.get("u") != actor.pk:
        raise signing.BadSignature("This link was issued to someone else.")
    # One audited issue, one download: the nonce is spent in Redis, shared by every web worker.
    first_use = Redis.from_url(settings.REDIS_URL).set(
        f"canvass:download:{data['x']}", 1, nx=True, ex=DOWNLOAD_SECONDS
    )
    if not first_use:
        raise signing.BadSignature("This link was already used.")
    return data["k"], data["n"]


EDITABLE_FIELDS = ("capture_time", "location")


def _describe(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "coords"):
        return f"{value.y:.6f},{value.x:.6f}"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@transaction.atomic
def item_metadata_change(
    *, actor: User, item: EvidenceItem, reason: str, **changes: Any
) -> list[str]:
    """Correct capture time or location by hand: the old and new values go into custody.

    The original is untouched. The new value is a person's statement, so its source becomes
    "uploader's claim" with low confidence, and the reason is kept with the custody event.
    """
    if not can_upload_evidence(actor) or item.agency_id != actor.agency_id:
        raise PermissionDenied
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    if not reason.strip():
        raise ValidationError("Say why the value is being changed.")
    if item.state in (EvidenceItem.State.RECEIVED, EvidenceItem.State.PROCESSING):
        # The pipeline is about to write what the file itself says; correct it afterwards.
        raise ValidationError("This item is still being processed: correct it once that is done.")
    locked = EvidenceItem.objects.select_for_update().get(pk=item.pk)
    changed = []
    for field, new in changes.items():
        old = getattr(locked, field)
        if _describe(old) == _describe(new):
            continue
        setattr(locked, field, new)
        source_field = f"{field}_source"
        old_source = getattr(locked, source_field)
        setattr(locked, source_field, ValueSource.UPLOADER_CLAIM)
        if field == "capture_time":
            locked.capture_time_confidence = Confidence.LOW
            locked.capture_time_tag = ""  # a person's value, read from no tag
        audit_record(
            action=actions.METADATA_CHANGED.name,
            actor=actor,
            target=locked,
            agency=locked.agency,
            reason=reason,
            details={
                "field": field,
                "old": _describe(old),
                "old_source": old_source,
                "new": _describe(new),
            },
        )
        changed.append(field)
    if changed:
        locked.save()
    return changed


# Cases

# A camera's clock is off by seconds or minutes, or by a wrong time zone; never by more than a day.
CLOCK_SHIFT_MAX_SECONDS = 24 * 3600


@transaction.atomic
def item_clock_shift_in_case(
    *, actor: User, case: Case, item: EvidenceItem, seconds: float, reason: str
) -> bool:
    """Move a case item's capture time by `seconds` because its camera's clock was wrong.

    The same audited hand correction as on the item's page (item_metadata_change): the old and
    new times and the reason go into the item's custody, and the time becomes a person's claim.
    """
    if not case_policies.can_edit_case(actor, case):
        raise PermissionDenied
    if not CaseItem.objects.filter(case=case, item=item).exists():
        raise ValidationError("This item is not in the case.")
    if not can_see_identifying_metadata(actor, item):
        raise PermissionDenied
    if not seconds or abs(seconds) > CLOCK_SHIFT_MAX_SECONDS:
        raise ValidationError("Shift the clock by a number of seconds, at most a day either way.")
    locked = EvidenceItem.objects.select_for_update().get(pk=item.pk)
    if locked.capture_time is None:
        raise ValidationError("This item has no capture time to shift: set one on its page.")
    changed = item_metadata_change(
        actor=actor,
        item=locked,
        reason=reason,
        capture_time=locked.capture_time + dt.timedelta(seconds=seconds),
    )
    return bool(changed)


# Shares with prosecuting offices


# Retention, legal hold and two-person deletion
