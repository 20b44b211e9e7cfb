"""Disclosure writes: shares with prosecuting offices, reshare links, and do-not-disclose flags."""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from evidence import audit_actions as actions
from evidence.cases import policies as case_policies
from evidence.disclosure import policies as share_policies
from evidence.disclosure import selectors as share_selectors
from evidence.models import (
    Case,
    EvidenceItem,
    Redaction,
    Share,
    ShareItem,
    ShareLink,
)
from evidence.selectors import RELEASE_WITHHELD_REASON, release_plan
from notifications.kinds import Kind as NotificationKind
from notifications.services import notify
from portal.audit import audit_record
from portal.models import Agency, AuditEvent, User
from portal.roles import AgencyKind
from portal.templatetags.portal_time import local_and_utc
from portal.text import visible_controls
from portal.tokens import token_digest, token_issue


@transaction.atomic
def item_do_not_disclose_set(*, actor: User, item: EvidenceItem, flag: bool, reason: str) -> None:
    """Mark an item never to be handed to a prosecuting office (or lift that), with the reason."""
    if not case_policies.can_manage_cases(actor) or item.agency_id != actor.agency_id:
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


SHARE_DEFAULT_DAYS = 90


SHARE_MAX_DAYS = 366


def _share_details(share: Share) -> dict[str, Any]:
    return {"share": str(share.pk), "case": str(share.case_id), "number": share.case.number}


def share_disclosable_items(*, case: Case) -> tuple[list[EvidenceItem], list[EvidenceItem]]:
    """The case's items split into (may be shared, withheld: do-not-disclose or deleted)."""
    ok: list[EvidenceItem] = []
    withheld: list[EvidenceItem] = []
    for item in case.items.order_by("received_at"):
        bad = item.do_not_disclose or item.state == EvidenceItem.State.DELETED
        (withheld if bad else ok).append(item)
    return ok, withheld


def release_details(redaction: Redaction) -> dict[str, Any]:
    """What custody says of a redacted copy released: the job, both hashes and the recipe's."""
    output, recipe = redaction.output, redaction.recipe
    return {
        "redaction": str(redaction.pk),
        "redacted": {
            "name": output.name if output else "",
            "sha256": output.sha256 if output else "",
            "frame_sha256": output.frame_sha256 if output else "",
        },
        "recipe": {
            "name": recipe.name if recipe else "",
            "sha256": recipe.sha256 if recipe else "",
        },
        "approved_by": redaction.approved_by.get_username() if redaction.approved_by else None,
    }


def _recipients_refused_message(count: int) -> str:
    # The same words whoever the ids belong to (or if no one): the refusal is no directory.
    if count == 1:
        return "1 recipient is not a prosecutor of this office."
    return f"{count} recipients are not prosecutors of this office."


def share_recipients_resolve(
    *, actor: User, case: Case, office: Agency, ids: Iterable[int | str]
) -> list[User]:
    """The prosecutors of `office` the ids name, for the API and the staff share form alike.

    Any id that is not an active prosecutor of that office (a resident, another agency's
    staff, nobody at all) refuses the lot with one message that names no one, and the
    attempt is audited with counts and the ids sent, never names or addresses.
    """
    if not share_policies.can_share_case(actor, case):
        raise PermissionDenied
    wanted = list(dict.fromkeys(int(i) for i in ids))
    found = {u.pk: u for u in share_selectors.prosecutors_of(office).filter(pk__in=wanted)}
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
    actor: User,
    case: Case,
    recipient_agency: Agency,
    recipients: Iterable[User] = (),
    items: Iterable[EvidenceItem] | None = None,
    level: str = Share.Level.VIEW,
    reshare_allowed: bool = False,
    require_redacted: bool = False,
    expires_at: dt.datetime | None = None,
    note: str = "",
) -> Share:
    """Hand a case (all its disclosable items, or the chosen ones) to a prosecuting office.

    Items flagged do-not-disclose are refused by name with their reason. With
    `require_redacted`, each item goes out as its releasable redacted copy; one without is
    still listed in the share, as withheld with the reason (recorded in its custody).
    """
    if not share_policies.can_share_case(actor, case):
        raise PermissionDenied
    if recipient_agency.kind != AgencyKind.PROSECUTION:
        raise ValidationError("Cases are shared with prosecuting offices only.")
    if level not in Share.Level.values:
        raise ValidationError("Unknown share level.")
    recipients = list(recipients)
    allowed = set(
        share_selectors.prosecutors_of(recipient_agency)
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
        refused_items = [
            i for i in chosen if i.do_not_disclose or i.state == EvidenceItem.State.DELETED
        ]
        if refused_items:
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
                    for i in refused_items
                )
            )
    if not chosen:
        raise ValidationError("There is nothing in this case that can be shared.")
    released: dict[Any, Any] = {}
    if require_redacted:
        released = {i.pk: r for i, r in release_plan(items=chosen)}
        if not any(released.values()):
            raise ValidationError(
                "None of these items has a redacted copy that may be released "
                f"({RELEASE_WITHHELD_REASON}): share the originals, or redact first."
            )
    share = Share.objects.create(
        case=case,
        recipient_agency=recipient_agency,
        all_items=items is None,
        level=level,
        reshare_allowed=reshare_allowed,
        require_redacted=require_redacted,
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
            "require_redacted": require_redacted,
            "expires_at": expires_at.isoformat(),
            "items": [str(i.pk) for i in chosen],
            "withheld": [str(i.pk) for i in withheld],
            "withheld_unredacted": [str(pk) for pk, r in released.items() if r is None],
        },
    )
    for item in chosen:
        item_details = {**details, "recipient_agency": recipient_agency.name, "sha256": item.sha256}
        if not require_redacted:
            audit_record(
                action=actions.SHARED.name,
                actor=actor,
                target=item,
                agency=case.agency,
                case_ref=case.number,
                details=item_details,
            )
        elif (redaction := released[item.pk]) is not None:
            audit_record(
                action=actions.SHARED.name,
                actor=actor,
                target=item,
                agency=case.agency,
                case_ref=case.number,
                details={**item_details, "what": "redacted copy", **release_details(redaction)},
            )
        else:
            audit_record(
                action=actions.RELEASE_WITHHELD.name,
                actor=actor,
                target=item,
                agency=case.agency,
                case_ref=case.number,
                details={**item_details, "why": RELEASE_WITHHELD_REASON},
            )
    for prosecutor in recipients or share_selectors.prosecutors_of(recipient_agency):
        notify(
            recipient=prosecutor,
            kind=NotificationKind.CASE_SHARED,
            url=reverse("evidence:shared_case", args=[share.pk]),
            params={"agency": case.agency.name, "case_number": case.number},
        )
    return share


@transaction.atomic
def share_revoke(*, actor: User, share: Share) -> bool:
    """End a share at once; False when it was already revoked."""
    if not share_policies.can_share_case(actor, share.case):
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
    *,
    actor: User,
    share: Share,
    action: str,
    item: EvidenceItem | None = None,
    details: dict[str, Any] | None = None,
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


def share_refuse(*, actor: User, share: Share, what: str, why: str) -> None:
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
def share_acknowledge(*, actor: User, share: Share) -> Share:
    """The prosecutor confirms receipt; idempotent (the first acknowledgement stands)."""
    if not share_policies.can_view_shared(actor):
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
    *, actor: User, share: Share, recipient_label: str, expires_at: dt.datetime, max_downloads: int
) -> tuple[ShareLink, str]:
    """Reshare (e.g. to defence counsel) as a download link; the token is returned once."""
    if not share_policies.can_view_shared(actor):
        raise PermissionDenied
    if not share_policies.can_reshare(actor, share):
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
            f"The link must expire in the future and no later than {local_and_utc(latest)}."
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
    """A reshare link that is unknown, spent, expired or revoked; the message says which.

    The messages stay English here (they go into the audit row too); the page translates them.
    """


def _link_problem(link: ShareLink, now: dt.datetime) -> str:
    share = link.share
    if link.revoked_at or share.revoked_at:
        return gettext_noop("This link was withdrawn.")
    if link.expires_at <= now or share.expires_at <= now:
        return gettext_noop("This link has expired.")
    if link.download_count >= link.max_downloads:
        return gettext_noop("This link has been used as many times as it allows.")
    return ""


def share_link_peek(*, token: str) -> tuple[ShareLink | None, str]:
    """The link a token names and why it cannot be used ("" if it can), without spending it."""
    link = (
        ShareLink.objects.select_related("share", "share__case", "share__case__agency")
        .filter(token_hash=token_digest(token or ""))
        .first()
    )
    if link is None:
        return None, gettext_noop("This link is not valid.")
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
        raise LinkUnusable(gettext_noop("This link is not valid."))
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
        why = gettext_noop("This link has been used as many times as it allows.")
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
