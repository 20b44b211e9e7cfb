"""Making, reading and muting notifications. Other apps emit through `notify` and nothing else."""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from notifications import audit_actions as actions
from notifications.kinds import TITLES, Kind
from notifications.models import Notification, NotificationPreferences
from portal import queueing
from portal.audit import audit_record
from portal.models import User

EMAIL_TASK = "notifications.tasks.email_notification"


def language_of(user: User) -> str:
    """The language a user's notifications are written in: theirs if they chose one."""
    prefs = NotificationPreferences.objects.filter(user=user).first()
    return (prefs.language if prefs else "") or settings.LANGUAGE_CODE


def title_for(kind: str, params: dict[str, Any], language: str) -> str:
    with translation.override(language):
        return str(TITLES[Kind(kind)]) % params


def notify(
    *,
    recipient: User,
    kind: str,
    url: str,
    params: dict[str, Any],
    dedupe_key: str = "",
) -> Notification | None:
    """Tell `recipient` in-app and by email, as far as they allow; None when they turned both
    off (or a notification with `dedupe_key` was made before). Email goes after commit."""
    if not recipient.is_active:
        return None
    prefs = NotificationPreferences.objects.filter(user=recipient).first()
    in_app = not (prefs and kind in prefs.in_app_off)
    email = bool(recipient.email) and not (prefs and kind in prefs.email_off)
    if not (in_app or email):
        return None
    language = (prefs.language if prefs else "") or settings.LANGUAGE_CODE
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                user=recipient,
                kind=kind,
                title=title_for(kind, params, language)[:300],
                url=url,
                dedupe_key=dedupe_key,
                in_app=in_app,
                email=Notification.Email.PENDING if email else Notification.Email.NONE,
            )
    except IntegrityError:
        if not dedupe_key:
            raise
        return None
    if email:
        queueing.send_named_on_commit(EMAIL_TASK, notification.pk)
    return notification


def notification_mark_read(*, notification: Notification) -> None:
    """The person opened it (their own: the view found it through notification_get_for)."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )


def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(user=user, in_app=True, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def preferences_update(
    *, user: User, email_off: Iterable[str], in_app_off: Iterable[str], language: str
) -> NotificationPreferences:
    """Save which kinds the user turned off on each channel, and their emails' language."""
    known = set(Kind.values)
    email_off = sorted(set(email_off) & known)
    in_app_off = sorted(set(in_app_off) & known)
    if language and language not in dict(settings.LANGUAGES):
        raise ValueError("unknown language")
    prefs, _ = NotificationPreferences.objects.select_for_update().get_or_create(user=user)
    prefs.email_off, prefs.in_app_off, prefs.language = email_off, in_app_off, language
    prefs.save()
    audit_record(
        action=actions.PREFERENCES_CHANGED.name,
        actor=user,
        target=user,
        agency=user.agency,
        details={"email_off": email_off, "in_app_off": in_app_off, "language": language},
    )
    return prefs


def email_claim(*, notification_id: int) -> Notification | None:
    """Claim one pending email (once, even when the task runs twice)."""
    claimed = Notification.objects.filter(
        pk=notification_id, email=Notification.Email.PENDING
    ).update(email=Notification.Email.SENT, emailed_at=timezone.now())
    if not claimed:
        return None
    return Notification.objects.select_related("user").get(pk=notification_id)


def email_failed(*, notification: Notification) -> None:
    Notification.objects.filter(pk=notification.pk).update(email=Notification.Email.FAILED)
