"""Every email the platform sends, in one place. Bodies carry links, never evidence."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from portal.models import User
from portal.roles import Role


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _send(*, to: str, subject: str, template: str, context: dict) -> None:
    body = render_to_string(template, context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])


def send_set_password(*, user) -> None:
    """A new staff account gets a one-time link to choose its password."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = _absolute(reverse("portal:password_reset_confirm", args=[uid, token]))
    _send(
        to=user.email,
        subject=_("Your Canvass account"),
        template="portal/email/set_password.txt",
        context={"user": user, "link": link},
    )


def send_password_reset(*, user) -> None:
    """A forgotten password: a one-time link to choose a new one (Django's reset token)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    _send(
        to=user.email,
        subject=_("Reset your Canvass password"),
        template="portal/email/password_reset.txt",
        context={
            "email": user.email,
            "link": _absolute(reverse("portal:password_reset_confirm", args=[uid, token])),
        },
    )


def send_email_verification(*, user, token: str) -> None:
    """A public sign-up confirms its address before the account opens."""
    # The token rides in the query string, which the access log leaves out.
    link = _absolute(f"{reverse('portal:signup_verify')}?{urlencode({'t': token})}")
    _send(
        to=user.email,
        subject=_("Confirm your email for Canvass"),
        template="portal/email/verify_email.txt",
        context={"user": user, "link": link},
    )


def send_signup_existing(*, user) -> None:
    """Someone signed up with an address that has an account: tell its owner, not the form."""
    _send(
        to=user.email,
        subject=_("Someone tried to sign up to Canvass with your email"),
        template="portal/email/signup_existing.txt",
        context={
            "user": user,
            "login": _absolute(reverse("portal:login")),
            "reset": _absolute(reverse("portal:password_reset")),
        },
    )


def send_integrity_alert(*, user, item_id: str, expected: str, found: str, problem: str) -> None:
    """An original no longer matches its hash: tell the agency's admins at once."""
    _send(
        to=user.email,
        subject="Canvass integrity alert: an evidence original does not match its hash",
        template="portal/email/integrity_alert.txt",
        context={
            "user": user,
            "item_id": item_id,
            "expected": expected,
            "found": found,
            "problem": problem,
            "link": _absolute(f"/staff/evidence/{item_id}/"),
        },
    )


def send_retention_report(*, agency, deleted: list[dict]) -> None:
    """The nightly retention run tells the agency's supervisors and admins what it deleted."""

    recipients = User.objects.filter(
        agency=agency, is_active=True, role__in=[Role.SUPERVISOR, Role.AGENCY_ADMIN]
    )
    for user in recipients:
        _send(
            to=user.email,
            subject=f"Canvass retention: {len(deleted)} evidence item(s) deleted",
            template="portal/email/retention_report.txt",
            context={"user": user, "agency": agency, "deleted": deleted},
        )


def send_footage_request(*, to: str, path: str, context: dict) -> None:
    """A camera owner is asked for footage: who asks, which window, and their answer link."""
    _send(
        to=to,
        subject=_("%(agency)s asks for footage from your camera")
        % {"agency": context["asking"]["agency"]},
        template="registry/footage/email_request.txt",
        context=context | {"link": _absolute(path)},
    )


def send_footage_reminder(*, to: str, path: str, context: dict) -> None:
    """A reminder before a footage request's deadline, or before the footage is overwritten."""
    _send(
        to=to,
        subject=_("Reminder: %(agency)s asked for footage from your camera")
        % {"agency": context["asking"]["agency"]},
        template="registry/footage/email_reminder.txt",
        context=context | {"link": _absolute(path)},
    )


def send_live_ask(*, to: str, path: str, context: dict) -> None:
    """An agency asks to watch a camera live: who asks, why, and the owner's answer link."""
    _send(
        to=to,
        subject=_("%(agency)s asks to watch your camera live") % {"agency": context["agency"].name},
        template="registry/email_live_ask.txt",
        context=context | {"link": _absolute(path)},
    )


def send_new_tip(*, user, reference: str) -> None:
    """A new tip waits in the inbox: a link only, never what the tip says."""
    _send(
        to=user.email,
        subject="Canvass: a new tip was received",
        template="submissions/email/new_tip.txt",
        context={"user": user, "link": _absolute(f"/staff/tips/{reference}/")},
    )


def send_tip_question(*, to: str, agency_name: str) -> None:
    """A tipster who left an email address hears that investigators wrote; the words stay online."""
    _send(
        to=to,
        subject=_("%(agency)s: a question about your tip") % {"agency": agency_name},
        template="submissions/email/tip_question.txt",
        context={"agency_name": agency_name, "link": _absolute("/tips/return/")},
    )


def send_notification(*, to: str, user, title: str, path: str) -> None:
    """A notification the user kept on for email: its title and a link, in their language
    (the caller switches the language); what it is about stays behind the sign-in."""
    _send(
        to=to,
        subject=f"Canvass: {title}",
        template="notifications/email/notification.txt",
        context={
            "user": user,
            "title": title,
            "link": _absolute(path),
            "settings_link": _absolute(reverse("notifications:settings")),
        },
    )
