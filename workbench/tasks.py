"""The beat job that tells each requester their footage request is nearly due."""

import datetime as dt

from celery import shared_task
from django.urls import reverse
from django.utils import timezone

from notifications.kinds import Kind
from notifications.services import notify
from workbench.selectors import requests_due_for_notice

DUE_NOTICE = dt.timedelta(hours=24)


@shared_task
def notify_requests_due() -> int:
    """Once per request (the notification's key says so): 'due within a day, N not answered'."""
    sent = 0
    for request in requests_due_for_notice(now=timezone.now(), within=DUE_NOTICE):
        made = notify(
            recipient=request.requested_by,
            kind=Kind.REQUEST_DUE,
            url=reverse("registry_requests:detail", args=[request.pk]),
            params={
                "case_number": request.case_number,
                "deadline": f"{request.deadline:%Y-%m-%d %H:%M}",
                "waiting": request.waiting,  # type: ignore[attr-defined]  # annotated
            },
            dedupe_key=f"request_due:{request.pk}",
        )
        sent += made is not None
    return sent
