"""Emails about tips, sent by Celery after the tip or question is committed."""

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from portal import emails
from portal.audit import audit_record
from submissions import audit_actions as actions
from submissions.models import Tip, TipMessage


def _reviewers(tip: Tip):
    from portal.models import User
    from submissions.policies import REVIEWER_ROLES
    from submissions.services import settings_for

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
    from submissions.services import contact_email

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
