"""Emailing notifications, after the row that records them is committed."""

import logging
from smtplib import SMTPException

from celery import shared_task
from django.utils import translation

from notifications import services
from portal import emails

log = logging.getLogger(__name__)


@shared_task(name=services.EMAIL_TASK)
def email_notification(notification_id: int) -> bool:
    """Email one notification in its recipient's language; at most once."""
    notification = services.email_claim(notification_id=notification_id)
    if notification is None:
        return False
    user = notification.user
    with translation.override(services.language_of(user)):
        try:
            emails.send_notification(
                to=user.email, user=user, title=notification.title, path=notification.url
            )
        except (SMTPException, OSError) as exc:
            log.warning("notification email %s failed (%s)", notification.pk, type(exc).__name__)
            services.email_failed(notification=notification)
            return False
    return True
