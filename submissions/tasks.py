"""Emails about tips, sent by Celery after the tip or question is committed."""

import datetime as dt

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from portal import emails, queueing
from portal.audit import audit_record
from portal.models import User
from submissions import audit_actions as actions
from submissions.models import Tip, TipMessage
from submissions.policies import REVIEWER_ROLES
from submissions.selectors import contact_email, settings_for


def _reviewers(tip: Tip):
    role = settings_for(tip.agency).reviewer_role
    roles = [role] if role else list(REVIEWER_ROLES)
    return User.objects.filter(agency=tip.agency, role__in=roles, is_active=True).order_by("pk")


@shared_task
def notify_new_tip(tip_id: str) -> int:
    """Email the agency's reviewers a link to a new tip (never its content); once per tip."""
    with transaction.atomic():
        claimed = Tip.objects.filter(pk=tip_id, notified_at__isnull=True).update(
            notified_at=timezone.now()
        )
        if not claimed:
            return 0
        tip = Tip.objects.select_related("agency").get(pk=tip_id)
        reviewers = list(_reviewers(tip))
        audit_record(
            action=actions.TIP_NOTIFIED.name,
            actor_label="tip notifications",
            target=("submissions.tip", tip.reference),
            agency=tip.agency,
            details={"recipients": len(reviewers)},
        )
    for user in reviewers:
        emails.send_new_tip(user=user, reference=tip.reference)
    return len(reviewers)


@shared_task
def email_tipster_question(message_id: int) -> bool:
    """Tell a tipster who left an email address that a question waits (not the question itself).

    Once per question, even when the task runs again (a retry, a redelivered message): the
    message row is locked and marked sent in the same transaction as the sending, so a second
    run waits for the first and then finds it done; a send that fails leaves it unmarked.
    """
    with transaction.atomic():
        message = (
            TipMessage.objects.select_for_update(of=("self",))
            .select_related("tip__agency")
            .filter(
                pk=message_id,
                direction=TipMessage.Direction.TO_TIPSTER,
                emailed_at__isnull=True,
            )
            .first()
        )
        if message is None:
            return False
        address = contact_email(message.tip)
        if not address:
            return False
        emails.send_tip_question(to=address, agency_name=message.tip.agency.name)
        message.emailed_at = timezone.now()
        message.save(update_fields=["emailed_at"])
    return True


# Tips younger than this may still have their notification in the queue; older than a day,
# telling reviewers now is noise (and tips from before notifications existed stay untold).
_MISSED_AFTER = dt.timedelta(minutes=2)
_MISSED_BEFORE = dt.timedelta(days=1)


@shared_task
def notify_missed_tips() -> int:
    """Every MEDIA_SWEEP_SECONDS: queue the notification of tips whose task never ran.

    The tip is accepted even when the broker is down (portal/queueing.py); this is how its
    reviewers still hear of it. notify_new_tip runs once per tip, so a late duplicate is harmless.
    """
    now = timezone.now()
    missed = Tip.objects.filter(
        notified_at__isnull=True,
        received_at__lt=now - _MISSED_AFTER,
        received_at__gt=now - _MISSED_BEFORE,
    ).values_list("pk", flat=True)
    return sum(queueing.send(notify_new_tip, str(pk)) for pk in missed)
