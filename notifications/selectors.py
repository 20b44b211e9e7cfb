"""Notification reads: a person only ever sees their own."""

from django.db.models import QuerySet
from django.http import Http404

from notifications.models import Notification, NotificationPreferences
from portal.models import User


def notifications_for(*, user: User) -> QuerySet[Notification]:
    """The user's in-app notifications, newest first."""
    return Notification.objects.filter(user=user, in_app=True).order_by("-created_at", "-id")


def unread_count(*, user: User) -> int:
    return notifications_for(user=user).filter(read_at__isnull=True).count()


def notification_get_for(*, user: User, id: int | str) -> Notification:
    """One of the user's own notifications; anybody else's is 404."""
    try:
        return notifications_for(user=user).get(pk=id)
    except (Notification.DoesNotExist, ValueError) as exc:
        raise Http404("No such notification.") from exc


def preferences_for(*, user: User) -> NotificationPreferences:
    """The user's saved preferences, or the defaults (everything on) unsaved."""
    return NotificationPreferences.objects.filter(user=user).first() or NotificationPreferences(
        user=user
    )
