"""Evidence writes: items from finished uploads, and the custody events of reading them."""

import datetime as dt
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.gis.geos import MultiPolygon
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from redis import Redis

from evidence import audit_actions as actions
from evidence import case_links, policies, selectors
from evidence.models import (
    Case,
    CaseItem,
    CaseMember,
    Confidence,
    DeletionRequest,
    Derivative,
    EvidenceItem,
    RetentionCategory,
    Share,
    ShareItem,
    ShareLink,
    Source,
    Upload,
    UploadGrant,
    ValueSource,
)
from evidence.policies import VIEW_EVIDENCE, can_upload_evidence
from portal import emails, queueing, storage
from portal.audit import audit_record
from portal.models import Agency, AuditEvent
from portal.roles import AgencyKind, Cap, has_capability
from portal.storage import new_object_key
from portal.text import visible_controls
from portal.tokens import token_digest, token_issue

logger = logging.getLogger(__name__)

DOWNLOAD_SECONDS = 300
_DOWNLOAD_SALT = "canvass.evidence-download"

_FLOW_SOURCE = {
    UploadGrant.Flow.STAFF_UPLOAD: Source.STAFF_UPLOAD,
    UploadGrant.Flow.TIP: Source.TIP,
    UploadGrant.Flow.FOOTAGE_REQUEST: Source.FOOTAGE_REQUEST,
    UploadGrant.Flow.BODYCAM: Source.BODYCAM,
}


ItemListener = Callable[[EvidenceItem], None]
_RECEIVED_LISTENERS: dict[str, list[ItemListener]] = defaultdict(list)


def register_item_received_listener(source: str, fn: ItemListener) -> None:
    """Let the app behind a source (tips, footage requests) act when one of its items arrives.

    Listeners run inside the transaction that creates the item, each in a savepoint: a
    listener that fails is logged and rolled back on its own, and the evidence is kept.
    """
    if fn not in _RECEIVED_LISTENERS[source]:
        _RECEIVED_LISTENERS[source].append(fn)


def _tell_listeners(item: EvidenceItem) -> None:
    for listener in _RECEIVED_LISTENERS.get(item.source, ()):
        try:
            with transaction.atomic():
                listener(item)
        except Exception:  # noqa: BLE001 - the item must survive any listener's failure
            logger.exception("item-received listener %s failed for item %s", listener, item.pk)


def item_create_from_upload(*, upload: Upload, declared_checksum: str = "") -> EvidenceItem:
    """Turn a complete upload into an item in state `received`; processing is queued on commit.

    Called by the upload service inside the transaction that marks the upload complete, so
    the upload and its item commit together. Idempotent: a second call returns the same item.
    """
    existing = EvidenceItem.objects.filter(upload=upload).first()
    if existing is not None:
        return existing
    grant = upload.grant
    uploader = grant.user
    item = EvidenceItem.objects.create(
        agency=grant.agency,
        source=_FLOW_SOURCE[grant.flow],
        source_ref=grant.source_ref,
        upload=upload,
        original_key=new_object_key(f"evidence/{grant.agency.slug}/originals"),
        original_filename=str(upload.metadata.get("filename", ""))[:255],
        declared_type=str(upload.metadata.get("filetype", ""))[:100],
        size=upload.length,
        declared_checksum=declared_checksum[:120],
        state=EvidenceItem.State.RECEIVED,
        uploaded_by=uploader,
        uploaded_by_label=uploader.label if uploader else _grant_label(grant),
        received_at=timezone.now(),
    )
    audit_record(
        action=actions.RECEIVED.name,
        actor=uploader,
        actor_label="" if uploader else item.uploaded_by_label,
        target=item,
        agency=item.agency,
        details={
            "upload": str(upload.id),
            "size": item.size,
            "source": item.source,
            **_received_filename(item),
            "client_type": item.declared_type,
            "client_checksum": item.declared_checksum,
        },
    )
    _tell_listeners(item)
    transaction.on_commit(lambda: _queue_processing(item.pk), robust=True)
    return item


def _received_filename(item: EvidenceItem) -> dict:
    # The audit log outlives any policy change and is read by people the sender never chose:
    # when the sender did not share file details, the name stays on the item (where the
    # metadata policy guards it) and the received row only says it was withheld. Custody is
    # intact: the row still names the upload, size and checksums.
    if policies.metadata_sealed_at_source(item):
        return {"client_filename_withheld": True}
    return {"client_filename": item.original_filename}


def _grant_label(grant: UploadGrant) -> str:
    # Never the client's own words: a custody label is ours to write.
    ref = f" {grant.source_ref}" if grant.source_ref else ""
    return f"{grant.get_flow_display()}{ref} (upload grant {grant.pk})"


def _queue_processing(item_id) -> None:
    from evidence.tasks import process_item

    # Never fails the upload: with the broker down the sweep queues the item later.
    queueing.send(process_item, str(item_id))


def item_record_view(*, actor, item: EvidenceItem, via: str) -> None:
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


def item_record_media_fetch(*, actor, item: EvidenceItem, derivative: Derivative) -> None:
    """Custody: a playable copy was fetched (played) or a still was shown (viewed)."""
    audit_record(
        action=(actions.PLAYED if derivative.kind in _PLAYBACK_KINDS else actions.VIEWED).name,
        actor=actor,
        target=item,
        agency=item.agency,
        details={"derivative": derivative.name, "sha256": derivative.sha256},
    )


def items_record_list(*, actor, filters: dict, count: int) -> None:
    """Searching the evidence list is an access too."""
    audit_record(
        action=actions.LISTED.name, actor=actor, details={"filters": filters, "rows": count}
    )


def download_url_issue(
    *, actor, item: EvidenceItem, derivative: Derivative | None = None
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


def download_token_read(*, token: str, actor) -> tuple[str, str]:
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


def _describe(value) -> str | None:
    if value is None:
        return None
    if hasattr(value, "coords"):
        return f"{value.y:.6f},{value.x:.6f}"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@transaction.atomic
def item_metadata_change(*, actor, item: EvidenceItem, reason: str, **changes) -> list[str]:
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


def _case_details(case: Case) -> dict:
    return {"case": str(case.pk), "number": case.number}


def _check_case_staff(*, agency, user, what: str) -> None:
    if user.agency_id != agency.pk or not can_view_evidence_role(user):
        raise ValidationError(
            f"The {what} must be police staff of {agency.name} who can see evidence."
        )


def can_view_evidence_role(user) -> bool:
    """A staff user whose role sees evidence (checked without their current session's MFA)."""
    return (
        user.is_active
        and has_capability(user, VIEW_EVIDENCE)
        and has_capability(user, Cap.POLICE_AREA)
    )


@transaction.atomic
def case_create(
    *,
    actor,
    number: str,
    title: str,
    lead=None,
    incident_time=None,
    incident_point=None,
    incident_area=None,
) -> Case:
    """Open a case in the actor's agency; the lead defaults to the actor."""
    if not policies.can_manage_cases(actor):
        raise PermissionDenied
    agency = actor.agency
    number, title = number.strip(), title.strip()
    if not number or not title:
        raise ValidationError("A case needs a number and a title.")
    lead = lead or actor
    _check_case_staff(agency=agency, user=lead, what="lead investigator")
    if Case.objects.filter(agency=agency, number=number).exists():
        raise ValidationError(f"Case number {number} is already used in {agency.name}.")
    case = Case.objects.create(
        agency=agency,
        number=number,
        title=title,
        lead=lead,
        incident_time=incident_time,
        incident_point=incident_point,
        incident_area=_as_multi(incident_area),
        created_by_label=actor.label,
    )
    audit_record(
        action=actions.CASE_CREATED.name,
        actor=actor,
        target=case,
        case_ref=case.number,
        details={**_case_details(case), "title": title, "lead": lead.label},
    )
    for item in case_links.items_filed_under(case=case):
        _link_item(case=case, item=item, actor_label=f"filed under {case.number} before it opened")
    return case


def _as_multi(area):
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
def case_update(*, actor, case: Case, **changes) -> list[str]:
    """Change a case's details; each changed field's old and new value goes into the audit row."""
    if not policies.can_edit_case(actor, case):
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
    diff = {}
    for field, new in changes.items():
        old = getattr(locked, field)
        if _describe_any(old) != _describe_any(new):
            diff[field] = {"old": _describe_any(old), "new": _describe_any(new)}
            setattr(locked, field, new)
    if diff:
        locked.save()
        audit_record(
            action=actions.CASE_UPDATED.name,
            actor=actor,
            target=locked,
            case_ref=locked.number,
            details={**_case_details(locked), "changes": diff},
        )
    case.refresh_from_db()
    return sorted(diff)


def _describe_any(value):
    if value is None:
        return None
    if hasattr(value, "wkt"):
        return value.wkt
    if hasattr(value, "label"):
        return value.label
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@transaction.atomic
def case_member_add(*, actor, case: Case, user) -> CaseMember:
    """Let a colleague of the same agency see and work the case."""
    if not policies.can_edit_case(actor, case):
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
def case_member_remove(*, actor, case: Case, user) -> bool:
    """Take a member off the case: they stop seeing it at once."""
    if not policies.can_edit_case(actor, case):
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


def _link_item(*, case: Case, item: EvidenceItem, actor=None, actor_label: str = "") -> bool:
    if item.agency_id != case.agency_id:
        raise ValidationError("Only items of the case's own agency can be added.")
    # The item's row, locked against a deletion running now (retention or two-person): either
    # the deletion finished first and the item is refused here, or it waits for this link and
    # then sees the open case that protects the item.
    item = EvidenceItem.objects.select_for_update(no_key=True).get(pk=item.pk)
    if item.state == EvidenceItem.State.DELETED:
        raise ValidationError("This item was deleted; only its tombstone remains.")
    _, created = CaseItem.objects.get_or_create(
        case=case, item=item, defaults={"added_by_label": actor.label if actor else actor_label}
    )
    if created:
        audit_record(
            action=actions.CASE_ITEM_ADDED.name,
            actor=actor,
            actor_label=actor_label,
            target=item,
            agency=case.agency,
            case_ref=case.number,
            details=_case_details(case),
        )
    return created


@transaction.atomic
def case_item_add(*, actor, case: Case, item: EvidenceItem) -> bool:
    """Link an item to the case (audited in the item's custody); False if it was already there."""
    if not policies.can_edit_case(actor, case):
        raise PermissionDenied
    return _link_item(case=case, item=item, actor=actor)


@transaction.atomic
def case_item_remove(*, actor, case: Case, item: EvidenceItem) -> bool:
    """Unlink an item from the case (audited); the item itself stays in the store."""
    if not policies.can_edit_case(actor, case):
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
    *, agency, case_number: str, item: EvidenceItem, actor_label: str
) -> bool:
    """System link for other apps: put the item in the agency's case with this number, if any.

    Returns True when the item is (now) in such a case. Nobody's session is involved: the
    caller (a tip, a footage request) is named in `actor_label` for the audit row.
    """
    case = Case.objects.filter(agency=agency, number=case_number.strip()).first()
    if case is None or not case_number.strip():
        return False
    _link_item(case=case, item=item, actor_label=actor_label)
    return True


def case_record_view(*, actor, case: Case, via: str) -> None:
    audit_record(
        action=actions.CASE_VIEWED.name,
        actor=actor,
        target=case,
        agency=case.agency,
        case_ref=case.number,
        details={**_case_details(case), "via": via},
    )


def cases_record_list(*, actor, count: int) -> None:
    audit_record(action=actions.CASE_LISTED.name, actor=actor, details={"rows": count})


@transaction.atomic
def item_do_not_disclose_set(*, actor, item: EvidenceItem, flag: bool, reason: str) -> None:
    """Mark an item never to be handed to a prosecuting office (or lift that), with the reason."""
    if not policies.can_manage_cases(actor) or item.agency_id != actor.agency_id:
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError("Say why.")
    locked = EvidenceItem.objects.select_for_update().get(pk=item.pk)
    locked.do_not_disclose = flag
    locked.do_not_disclose_reason = reason.strip() if flag else ""
    locked.save(update_fields=["do_not_disclose", "do_not_disclose_reason", "updated_at"])
    audit_record(
        action=actions.DO_NOT_DISCLOSE_SET.name,
        actor=actor,
        target=locked,
        reason=reason.strip(),
        details={"do_not_disclose": flag},
    )
    item.refresh_from_db()


# Shares with prosecuting offices

SHARE_DEFAULT_DAYS = 90
SHARE_MAX_DAYS = 366


def _share_details(share: Share) -> dict:
    return {"share": str(share.pk), "case": str(share.case_id), "number": share.case.number}


def share_disclosable_items(*, case: Case) -> tuple[list[EvidenceItem], list[EvidenceItem]]:
    """The case's items split into (may be shared, withheld: do-not-disclose or deleted)."""
    ok, withheld = [], []
    for item in case.items.order_by("received_at"):
        bad = item.do_not_disclose or item.state == EvidenceItem.State.DELETED
        (withheld if bad else ok).append(item)
    return ok, withheld


def _recipients_refused_message(count: int) -> str:
    # The same words whoever the ids belong to (or if no one): the refusal is no directory.
    if count == 1:
        return "1 recipient is not a prosecutor of this office."
    return f"{count} recipients are not prosecutors of this office."


def share_recipients_resolve(*, actor, case: Case, office, ids) -> list:
    """The prosecutors of `office` the ids name, for the API and the staff share form alike.

    Any id that is not an active prosecutor of that office (a resident, another agency's
    staff, nobody at all) refuses the lot with one message that names no one, and the
    attempt is audited with counts and the ids sent, never names or addresses.
    """
    if not policies.can_share_case(actor, case):
        raise PermissionDenied
    wanted = list(dict.fromkeys(int(i) for i in ids))
    found = {u.pk: u for u in selectors.prosecutors_of(office).filter(pk__in=wanted)}
    refused = [i for i in wanted if i not in found]
    if refused:
        audit_record(
            action=actions.SHARE_RECIPIENTS_REFUSED.name,
            actor=actor,
            target=case,
            agency=case.agency,
            case_ref=case.number,
            outcome=AuditEvent.Outcome.DENIED,
            details={
                "office_id": office.pk,
                "requested": len(wanted),
                "refused": len(refused),
                "refused_ids": refused[:100],
            },
        )
        raise ValidationError(_recipients_refused_message(len(refused)))
    return [found[i] for i in wanted]


@transaction.atomic
def share_create(
    *,
    actor,
    case: Case,
    recipient_agency,
    recipients=(),
    items=None,
    level: str = Share.Level.VIEW,
    reshare_allowed: bool = False,
    expires_at=None,
    note: str = "",
) -> Share:
    """Hand a case (all its disclosable items, or the chosen ones) to a prosecuting office.

    Items flagged do-not-disclose are refused by name with their reason.
    """
    if not policies.can_share_case(actor, case):
        raise PermissionDenied
    if recipient_agency.kind != AgencyKind.PROSECUTION:
        raise ValidationError("Cases are shared with prosecuting offices only.")
    if level not in Share.Level.values:
        raise ValidationError("Unknown share level.")
    recipients = list(recipients)
    allowed = set(
        selectors.prosecutors_of(recipient_agency)
        .filter(pk__in=[u.pk for u in recipients])
        .values_list("pk", flat=True)
    )
    refused = sum(1 for u in recipients if u.pk not in allowed)
    if refused:
        raise ValidationError(_recipients_refused_message(refused))
    now = timezone.now()
    expires_at = expires_at or now + dt.timedelta(days=SHARE_DEFAULT_DAYS)
    if expires_at <= now:
        raise ValidationError("The expiry must be in the future.")
    if expires_at > now + dt.timedelta(days=SHARE_MAX_DAYS):
        raise ValidationError(f"A share can last at most {SHARE_MAX_DAYS} days; share again later.")
    disclosable, withheld = share_disclosable_items(case=case)
    if items is None:
        chosen = disclosable
    else:
        chosen = list(items)
        in_case = {i.pk for i in disclosable} | {i.pk for i in withheld}
        if any(i.pk not in in_case for i in chosen):
            raise ValidationError("Only items of this case can be shared.")
        refused = [i for i in chosen if i.do_not_disclose or i.state == EvidenceItem.State.DELETED]
        if refused:
            raise ValidationError(
                "These items cannot be shared: "
                + "; ".join(
                    f"{visible_controls(i.original_filename) or i.pk} ("
                    + (
                        f"do not disclose: {i.do_not_disclose_reason}"
                        if i.do_not_disclose
                        else "deleted"
                    )
                    + ")"
                    for i in refused
                )
            )
    if not chosen:
        raise ValidationError("There is nothing in this case that can be shared.")
    share = Share.objects.create(
        case=case,
        recipient_agency=recipient_agency,
        all_items=items is None,
        level=level,
        reshare_allowed=reshare_allowed,
        expires_at=expires_at,
        note=note.strip(),
        created_by=actor,
        created_by_label=actor.label,
    )
    share.recipients.set(recipients)
    ShareItem.objects.bulk_create([ShareItem(share=share, item=i) for i in chosen])
    details = _share_details(share)
    audit_record(
        action=actions.SHARE_CREATED.name,
        actor=actor,
        target=share,
        agency=case.agency,
        case_ref=case.number,
        details={
            **details,
            "recipient_agency": recipient_agency.name,
            "recipients": [u.label for u in recipients] or "the whole office",
            "level": level,
            "reshare_allowed": reshare_allowed,
            "expires_at": expires_at.isoformat(),
            "items": [str(i.pk) for i in chosen],
            "withheld": [str(i.pk) for i in withheld],
        },
    )
    for item in chosen:
        audit_record(
            action=actions.SHARED.name,
            actor=actor,
            target=item,
            agency=case.agency,
            case_ref=case.number,
            details={**details, "recipient_agency": recipient_agency.name, "sha256": item.sha256},
        )
    return share


@transaction.atomic
def share_revoke(*, actor, share: Share) -> bool:
    """End a share at once; False when it was already revoked."""
    if not policies.can_share_case(actor, share.case):
        raise PermissionDenied
    revoked = Share.objects.filter(pk=share.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by_label=actor.label
    )
    if revoked:
        ShareLink.objects.filter(share=share, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        audit_record(
            action=actions.SHARE_REVOKED.name,
            actor=actor,
            target=share,
            agency=share.case.agency,
            case_ref=share.case.number,
            details=_share_details(share),
        )
    share.refresh_from_db()
    return bool(revoked)


def share_record_access(
    *, actor, share: Share, action: str, item: EvidenceItem | None = None, details=None
) -> None:
    """A prosecutor's view, play or download: recorded for the sharing agency (disclosure log).

    Item-level events target the item, so they join its custody too.
    """
    audit_record(
        action=action,
        actor=actor,
        target=item if item is not None else share,
        agency=share.case.agency,
        case_ref=share.case.number,
        details={**_share_details(share), **(details or {})},
    )


def share_refuse(*, actor, share: Share, what: str, why: str) -> None:
    """An attempt the share does not allow, recorded as denied."""
    audit_record(
        action=actions.SHARE_REFUSED.name,
        actor=actor,
        target=share,
        agency=share.case.agency,
        case_ref=share.case.number,
        outcome=AuditEvent.Outcome.DENIED,
        details={**_share_details(share), "attempted": what, "why": why},
    )


@transaction.atomic
def share_acknowledge(*, actor, share: Share) -> Share:
    """The prosecutor confirms receipt; idempotent (the first acknowledgement stands)."""
    if not policies.can_view_shared(actor):
        raise PermissionDenied
    updated = Share.objects.filter(pk=share.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=actor
    )
    if updated:
        share_record_access(actor=actor, share=share, action=actions.SHARE_ACKNOWLEDGED.name)
    share.refresh_from_db()
    return share


SHARE_LINK_MAX_DOWNLOADS = 20
SHARE_LINK_MAX_DAYS = 30


def share_link_create(
    *, actor, share: Share, recipient_label: str, expires_at, max_downloads: int
) -> tuple[ShareLink, str]:
    """Reshare (e.g. to defence counsel) as a download link; the token is returned once."""
    if not policies.can_view_shared(actor):
        raise PermissionDenied
    if not policies.can_reshare(actor, share):
        why = (
            "this share does not allow resharing"
            if not share.reshare_allowed
            else "this share is view-only, so it cannot be passed on as a download"
        )
        share_refuse(actor=actor, share=share, what="reshare", why=why)
        raise PermissionDenied(f"Resharing refused: {why}.")
    recipient_label = recipient_label.strip()
    if not recipient_label:
        raise ValidationError("Say who the link is for.")
    now = timezone.now()
    latest = min(share.expires_at, now + dt.timedelta(days=SHARE_LINK_MAX_DAYS))
    if expires_at <= now or expires_at > latest:
        raise ValidationError(
            f"The link must expire in the future and no later than {latest:%Y-%m-%d %H:%M} UTC."
        )
    if not 1 <= max_downloads <= SHARE_LINK_MAX_DOWNLOADS:
        raise ValidationError(f"Allow between 1 and {SHARE_LINK_MAX_DOWNLOADS} downloads.")
    with transaction.atomic():
        token, digest = token_issue()
        link = ShareLink.objects.create(
            share=share,
            token_hash=digest,
            recipient_label=recipient_label[:300],
            expires_at=expires_at,
            max_downloads=max_downloads,
            created_by=actor,
        )
        share_record_access(
            actor=actor,
            share=share,
            action=actions.SHARE_LINK_CREATED.name,
            details={
                "link": str(link.pk),
                "for": link.recipient_label,
                "expires_at": expires_at.isoformat(),
                "max_downloads": max_downloads,
            },
        )
    return link, token


class LinkUnusable(Exception):
    """A reshare link that is unknown, spent, expired or revoked; the message says which."""


def _link_problem(link: ShareLink, now) -> str:
    share = link.share
    if link.revoked_at or share.revoked_at:
        return "This link was withdrawn."
    if link.expires_at <= now or share.expires_at <= now:
        return "This link has expired."
    if link.download_count >= link.max_downloads:
        return "This link has been used as many times as it allows."
    return ""


def share_link_peek(*, token: str) -> tuple[ShareLink | None, str]:
    """The link a token names and why it cannot be used ("" if it can), without spending it."""
    link = (
        ShareLink.objects.select_related("share", "share__case", "share__case__agency")
        .filter(token_hash=token_digest(token or ""))
        .first()
    )
    if link is None:
        return None, "This link is not valid."
    return link, _link_problem(link, timezone.now())


def share_link_use(*, token: str) -> ShareLink:
    """Spend one download of a reshare link (a conditional UPDATE, so two racing uses can't both
    take the last one) and record it; LinkUnusable says why when it cannot be used."""
    link = (
        ShareLink.objects.select_related("share", "share__case")
        .filter(token_hash=token_digest(token or ""))
        .first()
    )
    if link is None:
        raise LinkUnusable("This link is not valid.")
    share = link.share
    why = _link_problem(link, timezone.now())
    if not why:
        with transaction.atomic():
            spent = ShareLink.objects.filter(
                pk=link.pk, download_count__lt=F("max_downloads")
            ).update(download_count=F("download_count") + 1)
            if spent:
                link.refresh_from_db()
                audit_record(
                    action=actions.SHARE_LINK_USED.name,
                    actor_label=f"Reshare link for {link.recipient_label}",
                    agency=share.case.agency,
                    target=share,
                    case_ref=share.case.number,
                    details={
                        **_share_details(share),
                        "link": str(link.pk),
                        "download": link.download_count,
                        "of": link.max_downloads,
                    },
                )
                return link
        why = "This link has been used as many times as it allows."
    audit_record(
        action=actions.SHARE_LINK_REFUSED.name,
        actor_label=f"Reshare link for {link.recipient_label}",
        agency=share.case.agency,
        target=share,
        case_ref=share.case.number,
        outcome=AuditEvent.Outcome.DENIED,
        details={**_share_details(share), "link": str(link.pk), "why": why},
    )
    raise LinkUnusable(why)


# Retention, legal hold and two-person deletion


@transaction.atomic
def retention_category_create(*, actor, name: str, days: int | None) -> RetentionCategory:
    """A retention rule of the actor's agency (days=None keeps items indefinitely)."""
    if not policies.can_manage_retention(actor):
        raise PermissionDenied
    name = name.strip()
    if not name:
        raise ValidationError("A category needs a name.")
    if days is not None and days < 1:
        raise ValidationError("Keep items at least one day, or leave days empty for indefinitely.")
    if RetentionCategory.objects.filter(agency_id=actor.agency_id, name=name).exists():
        raise ValidationError(f"There is already a category called {name}.")
    category = RetentionCategory.objects.create(agency=actor.agency, name=name, days=days)
    audit_record(
        action=actions.RETENTION_CATEGORY_CREATED.name,
        actor=actor,
        target=category,
        details={"name": name, "days": days},
    )
    return category


@transaction.atomic
def item_retention_set(*, actor, item: EvidenceItem, category: RetentionCategory | None) -> None:
    """File an item under a retention category (or none: kept until someone decides)."""
    if not policies.can_manage_cases(actor) or item.agency_id != actor.agency_id:
        raise PermissionDenied
    if category is not None and category.agency_id != item.agency_id:
        raise ValidationError("That category belongs to another agency.")
    old = item.retention_category
    EvidenceItem.objects.filter(pk=item.pk).update(retention_category=category)
    audit_record(
        action=actions.RETENTION_SET.name,
        actor=actor,
        target=item,
        details={"old": str(old) if old else None, "new": str(category) if category else None},
    )
    item.refresh_from_db()


@transaction.atomic
def item_legal_hold_set(*, actor, item: EvidenceItem, hold: bool, reason: str) -> None:
    """Place or lift a legal hold: a held item is never deleted, by retention or by hand."""
    if not policies.can_manage_retention(actor) or item.agency_id != actor.agency_id:
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError("Say why (e.g. the order or the litigation).")
    EvidenceItem.objects.filter(pk=item.pk).update(
        legal_hold=hold, legal_hold_reason=reason.strip() if hold else ""
    )
    audit_record(
        action=actions.LEGAL_HOLD_SET.name,
        actor=actor,
        target=item,
        reason=reason.strip(),
        details={"legal_hold": hold},
    )
    item.refresh_from_db()


def item_protection(*, item: EvidenceItem, lock: bool = False) -> str:
    """Why the item must not be deleted now, or "" when nothing protects it.

    With `lock` (inside the deleting transaction, the item's row already locked) the item's
    cases are locked too, so a case being reopened at this moment is waited for and seen:
    every case of the item is locked and its status read after the lock, not filtered before.
    """
    if item.legal_hold:
        return f"It is under legal hold ({item.legal_hold_reason or 'no reason given'})."
    cases = Case.objects.filter(case_items__item=item).order_by("pk")
    if lock:
        cases = cases.select_for_update(no_key=True, of=("self",))
    open_cases = [c.number for c in cases.only("number", "status") if c.status == Case.Status.OPEN]
    if open_cases:
        return f"It is in open case {', '.join(open_cases)}."
    if item.state in (EvidenceItem.State.RECEIVED, EvidenceItem.State.PROCESSING):
        return "It is still being processed."
    return ""


def deletion_request(*, actor, item: EvidenceItem, reason: str) -> DeletionRequest:
    """The first of the two people: ask to delete an item, with the reason."""
    if not policies.can_request_deletion(actor) or item.agency_id != actor.agency_id:
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError("Say why the item should be deleted.")
    if item.state == EvidenceItem.State.DELETED:
        raise ValidationError("This item is already deleted.")
    if why := item_protection(item=item):
        audit_record(
            action=actions.DELETION_REFUSED.name,
            actor=actor,
            target=item,
            outcome=AuditEvent.Outcome.DENIED,
            details={"why": why, "stage": "request"},
        )
        raise ValidationError(f"This item cannot be deleted: {why}")
    with transaction.atomic():
        if DeletionRequest.objects.filter(item=item, state=DeletionRequest.State.PENDING).exists():
            raise ValidationError("A deletion of this item is already waiting for approval.")
        request = DeletionRequest.objects.create(
            item=item, reason=reason.strip(), requested_by=actor
        )
        audit_record(
            action=actions.DELETION_REQUESTED.name,
            actor=actor,
            target=item,
            reason=reason.strip(),
            details={"request": str(request.pk)},
        )
    return request


def deletion_approve(*, actor, request: DeletionRequest) -> EvidenceItem:
    """The second person: approve, and the original and derivatives leave storage.

    The requester cannot approve their own request. The item stays as a tombstone (hash,
    size, custody); storage is cleaned after the commit, outside the transaction.
    Refusals are recorded (outside the refused change, so the record survives).
    """
    if not policies.can_approve_deletion(actor, request):
        audit_record(
            action=actions.DELETION_REFUSED.name,
            actor=actor,
            target=request.item,
            agency=request.item.agency,
            outcome=AuditEvent.Outcome.DENIED,
            details={
                "request": str(request.pk),
                "why": "the requester cannot approve their own request"
                if request.requested_by_id == actor.pk
                else "no capability to approve deletions",
            },
        )
        raise PermissionDenied(
            "A deletion needs a second person with the capability to approve it."
        )
    why = ""
    with transaction.atomic():
        locked = (
            DeletionRequest.objects.select_for_update().select_related("item").get(pk=request.pk)
        )
        if locked.state != DeletionRequest.State.PENDING:
            raise ValidationError("This request was already decided.")
        # Item first, then its cases: the same order as the retention job, so the two never
        # deadlock, and an item the job deleted meanwhile is not "deleted" twice.
        item = EvidenceItem.objects.select_for_update().get(pk=locked.item_id)
        why = (
            "It was already deleted."
            if item.state == EvidenceItem.State.DELETED
            else item_protection(item=item, lock=True)
        )
        locked.state = DeletionRequest.State.REFUSED if why else DeletionRequest.State.APPROVED
        locked.decided_by, locked.decided_at = actor, timezone.now()
        locked.save()
        if why:
            audit_record(
                action=actions.DELETION_REFUSED.name,
                actor=actor,
                target=item,
                outcome=AuditEvent.Outcome.DENIED,
                details={"request": str(locked.pk), "why": why, "stage": "approval"},
            )
            keys = []
        else:
            keys = _tombstone(
                item=item,
                actor=actor,
                details={
                    "request": str(locked.pk),
                    "requested_by": locked.requested_by.label,
                    "approved_by": actor.label,
                },
                reason=locked.reason,
            )
    if why:
        raise ValidationError(f"This item cannot be deleted: {why}")
    _remove_objects(keys)
    item.refresh_from_db()
    return item


@transaction.atomic
def deletion_refuse(*, actor, request: DeletionRequest, reason: str) -> None:
    """A second person turns a deletion request down."""
    if not policies.can_approve_deletion(actor, request):
        raise PermissionDenied
    updated = DeletionRequest.objects.filter(
        pk=request.pk, state=DeletionRequest.State.PENDING
    ).update(state=DeletionRequest.State.REFUSED, decided_by=actor, decided_at=timezone.now())
    if updated:
        audit_record(
            action=actions.DELETION_REFUSED.name,
            actor=actor,
            target=request.item,
            details={"request": str(request.pk), "why": reason.strip() or "refused by approver"},
        )


def _tombstone(
    *, item: EvidenceItem, actor=None, actor_label: str = "", details: dict, reason: str = ""
) -> list[str]:
    """Inside a transaction: mark the item deleted, drop its derivative rows, audit what went.

    Returns the storage keys to remove once the transaction has committed.
    """
    locked = EvidenceItem.objects.select_for_update().get(pk=item.pk)
    derivatives = list(locked.derivatives.all())
    keys = [locked.original_key, *(d.key for d in derivatives)]
    audit_record(
        action=actions.DELETED.name,
        actor=actor,
        actor_label=actor_label,
        target=locked,
        agency=locked.agency,
        reason=reason,
        details={
            **details,
            "sha256": locked.sha256,
            "size": locked.size,
            "derivatives": [
                {"name": d.name, "kind": d.kind, "sha256": d.sha256} for d in derivatives
            ],
        },
    )
    locked.derivatives.all().delete()
    locked.state = EvidenceItem.State.DELETED
    locked.state_reason = f"Deleted {timezone.now():%Y-%m-%d %H:%M} UTC: {reason}"[:1000]
    locked.deleted_at = timezone.now()
    locked.save(update_fields=["state", "state_reason", "deleted_at", "updated_at"])
    return keys


def _remove_objects(keys: list[str]) -> None:
    for key in keys:
        storage.delete_object(key)


def retention_due(*, now=None) -> list[EvidenceItem]:
    """Items past their category's retention that nothing protects (open case, legal hold)."""
    now = now or timezone.now()
    due = []
    for category in RetentionCategory.objects.filter(days__isnull=False):
        items = (
            EvidenceItem.objects.filter(
                retention_category=category,
                received_at__lt=now - dt.timedelta(days=category.days),
                legal_hold=False,
            )
            .exclude(
                state__in=[
                    EvidenceItem.State.DELETED,
                    EvidenceItem.State.RECEIVED,
                    EvidenceItem.State.PROCESSING,
                    # Not processed: someone must look at it before any schedule removes it.
                    EvidenceItem.State.FAILED,
                ]
            )
            .exclude(sha256="")  # the original is not in the store yet
            .exclude(case_items__case__status=Case.Status.OPEN)
            .select_related("agency", "retention_category")
        )
        due.extend(items)
    return due


def retention_apply(*, now=None) -> dict[int, list[dict]]:
    """The nightly run: delete what is past retention, report per agency (audit row and email)."""
    deleted: dict[int, list[dict]] = {}
    for item in retention_due(now=now):
        with transaction.atomic():
            # Chosen a moment ago; decided now, on the locked row: an item added to an open
            # case, held, or deleted by hand since the selection is left alone.
            fresh = EvidenceItem.objects.select_for_update().get(pk=item.pk)
            if fresh.state == EvidenceItem.State.DELETED or item_protection(item=fresh, lock=True):
                continue
            if fresh.retention_category_id != item.retention_category_id:
                continue
            keys = _tombstone(
                item=fresh,
                actor_label="Retention schedule",
                reason=f"Past retention: {item.retention_category}",
                details={"category": str(item.retention_category)},
            )
        _remove_objects(keys)
        deleted.setdefault(item.agency_id, []).append(
            {
                "item": str(item.pk),
                "sha256": item.sha256,
                "size": item.size,
                "category": str(item.retention_category),
                "received_at": item.received_at.isoformat(),
            }
        )
    for agency in Agency.objects.filter(pk__in=deleted):
        rows = deleted[agency.pk]
        audit_record(
            action=actions.RETENTION_APPLIED.name,
            actor_label="Retention schedule",
            agency=agency,
            details={"deleted": rows, "count": len(rows)},
        )
        emails.send_retention_report(agency=agency, deleted=rows)
    return deleted
