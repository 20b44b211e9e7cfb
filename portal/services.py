"""Platform writes: sign-in, lockout, MFA enrolment, accounts and roles. Each one audits itself."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import audit_actions as actions
from portal import emails, queueing
from portal.audit import audit_record
from portal.models import Agency, AuditEvent, User
from portal.policies import can_manage_user, can_unlock_user, can_use_admin
from portal.roles import PUBLIC_ROLES, ROLE_AGENCY_KINDS, STAFF_ROLES, Role

_EMAIL_VERIFY_SALT = "canvass.email-verify"
_BACKEND = "django.contrib.auth.backends.ModelBackend"


# --- sign-in -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PasswordCheck:
    """What the first sign-in step decided."""

    user: User | None
    error: str | Promise = ""  # a translated message, lazy for the generic one

    @property
    def ok(self) -> bool:
        return self.user is not None and not self.error


GENERIC_LOGIN_ERROR = gettext_lazy(
    "That email and password do not match an account, or the account is locked after repeated "
    "failures. Staff: ask your agency admin to unlock it. Residents: reset your password by email."
)


def _find_user(email: str) -> User | None:
    return User.objects.select_related("agency").filter(email__iexact=email.strip()).first()


def login_check_password(*, email: str, password: str) -> PasswordCheck:
    """First factor. Wrong passwords count toward the lockout; locked or disabled accounts stay shut."""
    user = _find_user(email)
    if user is None:
        # Hash anyway, so the answer takes as long as for a real account.
        User().set_password(password)
        audit_record(
            action=actions.LOGIN_FAILED.name,
            actor_label="unauthenticated",
            outcome=AuditEvent.Outcome.DENIED,
            details={"stage": "password", "email": email[:254], "why": "unknown account"},
        )
        return PasswordCheck(None, GENERIC_LOGIN_ERROR)
    if user.is_locked:
        # Same answer whether the password is right or not: a lock must not become an oracle.
        user.check_password(password)
        _audit_refused(user, "account locked")
        return PasswordCheck(None, GENERIC_LOGIN_ERROR)
    if not user.check_password(password):
        login_record_failure(user=user, stage="password")
        return PasswordCheck(None, GENERIC_LOGIN_ERROR)
    if not user.is_active:
        _audit_refused(user, "account disabled")
        return PasswordCheck(None, _("This account is disabled. Ask your agency admin."))
    if user.role in PUBLIC_ROLES and user.email_verified_at is None:
        _audit_refused(user, "email not verified")
        return PasswordCheck(
            None, _("Confirm your email address first: follow the link we sent you.")
        )
    return PasswordCheck(user)


def unlock_advice(user: User) -> str:
    if user.is_staff_member:
        return _("Ask your agency admin to unlock it.")
    return _("Reset your password by email to unlock it.")


def _audit_refused(user: User, why: str) -> None:
    audit_record(
        action=actions.LOGIN_FAILED.name,
        actor_label="unauthenticated",
        target=user,
        agency=user.agency,
        outcome=AuditEvent.Outcome.DENIED,
        details={"stage": "password", "why": why},
    )


def recent_failure_count(*, user: User) -> int:
    """Failed sign-ins inside the lockout window, since the last success or unlock."""
    since = timezone.now() - dt.timedelta(seconds=settings.LOCKOUT_WINDOW_SECONDS)
    if user.failures_reset_at and user.failures_reset_at > since:
        since = user.failures_reset_at
    return AuditEvent.objects.filter(
        target_type=User._meta.label_lower,
        target_id=str(user.pk),
        action=actions.LOGIN_FAILED.name,
        details__counts=True,
        at__gte=since,
    ).count()


@transaction.atomic
def login_record_failure(*, user: User, stage: str) -> bool:
    """Record a wrong password or code; lock the account at the limit. Returns True if now locked."""
    user = User.objects.select_for_update(of=("self",)).select_related("agency").get(pk=user.pk)
    audit_record(
        action=actions.LOGIN_FAILED.name,
        actor_label="unauthenticated",
        target=user,
        agency=user.agency,
        outcome=AuditEvent.Outcome.DENIED,
        details={"stage": stage, "why": f"wrong {stage}", "counts": not user.is_locked},
    )
    if user.is_locked or recent_failure_count(user=user) < settings.LOCKOUT_FAILURE_LIMIT:
        return False
    user.locked_at = timezone.now()
    user.save(update_fields=["locked_at"])
    audit_record(
        action=actions.ACCOUNT_LOCKED.name,
        actor_label="system",
        target=user,
        agency=user.agency,
        details={
            "failures": settings.LOCKOUT_FAILURE_LIMIT,
            "window_seconds": settings.LOCKOUT_WINDOW_SECONDS,
        },
    )
    return True


@transaction.atomic
def login_complete(*, request: HttpRequest, user: User, device: TOTPDevice | None) -> None:
    """Both factors passed: open the session, reset the failure count, audit the success."""
    login(request, user, backend=_BACKEND)
    if device is not None:
        otp_login(request, device)
    User.objects.filter(pk=user.pk).update(failures_reset_at=timezone.now())
    audit_record(
        action=actions.LOGIN_SUCCEEDED.name,
        actor=user,
        target=user,
        details={"second_factor": device is not None},
    )


def logout_user(*, request: HttpRequest) -> None:
    """Close the session (audited)."""
    if request.user.is_authenticated:
        audit_record(action=actions.LOGOUT.name, actor=request.user, target=request.user)
    logout(request)


def session_expire(*, request: HttpRequest, idle_seconds: int) -> None:
    """The idle timeout fired: audit it as the user's own session ending, then log out."""
    audit_record(
        action=actions.SESSION_EXPIRED.name,
        actor=request.user,
        target=request.user,
        details={"idle_seconds": idle_seconds},
    )
    logout(request)


# --- second factor -----------------------------------------------------------------------


def totp_device_for_enrolment(*, user: User) -> TOTPDevice:
    """The user's unconfirmed device (a new one if none), whose QR code the enrolment page shows."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def confirmed_totp_device(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def totp_verify(*, user: User, device: TOTPDevice, token: str) -> bool:
    """Check a code; a wrong one counts toward the lockout like a wrong password."""
    token = "".join(token.split())
    if token.isdigit() and device.verify_token(token):
        return True
    login_record_failure(user=user, stage="code")
    return False


@transaction.atomic
def totp_enrolment_confirm(*, user: User, device: TOTPDevice) -> None:
    """Mark a verified device confirmed and drop any other unconfirmed ones."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    audit_record(
        action=actions.MFA_ENROLLED.name, actor=user, target=user, details={"device": device.name}
    )


@transaction.atomic
def mfa_reset(*, actor: User, user: User, reason: str) -> None:
    """An admin removes a user's devices (lost phone); the user enrols again at next sign-in."""
    if not can_manage_user(actor, user):
        raise PermissionDenied
    TOTPDevice.objects.filter(user=user).delete()
    audit_record(action=actions.MFA_RESET.name, actor=actor, target=user, reason=reason)


# --- lock, unlock, disable ---------------------------------------------------------------


@transaction.atomic
def account_unlock(*, actor: User, user: User) -> None:
    """An agency admin lifts a lockout; earlier failures stop counting."""
    if not can_unlock_user(actor, user):
        audit_record(
            action=actions.ACCOUNT_UNLOCKED.name,
            actor=actor,
            target=user,
            outcome=AuditEvent.Outcome.DENIED,
        )
        raise PermissionDenied("You cannot unlock this account.")
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(locked_at=None, failures_reset_at=now)
    user.locked_at, user.failures_reset_at = None, now
    audit_record(action=actions.ACCOUNT_UNLOCKED.name, actor=actor, target=user)


@transaction.atomic
def account_unlock_by_email_proof(*, user: User) -> None:
    """A public user who reset the password by email proved control of the account."""
    if user.is_staff_member or not user.is_locked:
        return
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(locked_at=None, failures_reset_at=now)
    audit_record(
        action=actions.ACCOUNT_UNLOCKED.name,
        actor_label="system",
        target=user,
        details={"via": "password reset by email"},
    )


def users_disable_inactive(*, now: dt.datetime | None = None) -> list[int]:
    """Disable staff accounts with no sign-in for INACTIVE_ACCOUNT_DAYS (nightly beat job)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.INACTIVE_ACCOUNT_DAYS)
    stale = User.objects.filter(
        is_active=True,
        role__in=list(STAFF_ROLES),
        is_superuser=False,
    ).filter(Q(last_login__lt=cutoff) | Q(last_login__isnull=True, date_joined__lt=cutoff))
    disabled = []
    for user_id in stale.values_list("pk", flat=True):
        with transaction.atomic():
            user = User.objects.select_for_update().get(pk=user_id)
            if not user.is_active:
                continue
            user.is_active = False
            user.disabled_reason = f"No sign-in for {settings.INACTIVE_ACCOUNT_DAYS} days"
            user.save(update_fields=["is_active", "disabled_reason"])
            audit_record(
                action=actions.ACCOUNT_DISABLED.name,
                actor_label="system (inactive-account job)",
                target=user,
                agency=user.agency,
                details={
                    "why": "inactive",
                    "last_login": user.last_login.isoformat() if user.last_login else None,
                },
            )
        disabled.append(user_id)
    return disabled


# --- accounts and roles ------------------------------------------------------------------


def check_role_fits_agency(role: str, agency: Agency | None) -> None:
    """Raise ValidationError unless `role` may belong to `agency` (or to none)."""
    if role in PUBLIC_ROLES:
        if agency is not None:
            raise ValidationError("Residents and businesses belong to no agency.")
        return
    if agency is None:
        raise ValidationError("Staff must belong to an agency.")
    if agency.kind not in ROLE_AGENCY_KINDS[role]:
        raise ValidationError(
            f"A {Role(role).label.lower()} cannot belong to a {agency.get_kind_display().lower()}."
        )


@transaction.atomic
def staff_user_create(
    *,
    actor: User | None,
    email: str,
    full_name: str,
    role: str,
    agency: Agency,
    send_invite: bool = True,
) -> User:
    """Create a staff account (no password yet) and email it a link to set one."""
    if role not in STAFF_ROLES:
        raise ValidationError("Staff accounts need a staff role.")
    check_role_fits_agency(role, agency)
    if actor is not None and not (
        actor.is_superuser or (can_use_admin(actor) and actor.agency_id == agency.pk)
    ):
        raise PermissionDenied
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(_("An account with this email already exists."))
    user = User.objects.create_user(
        email,
        None,
        full_name=full_name,
        role=role,
        agency=agency,
        is_staff=(role == Role.AGENCY_ADMIN),
    )
    audit_record(
        action=actions.ACCOUNT_CREATED.name,
        actor=actor,
        actor_label="" if actor else "system",
        target=user,
        agency=agency,
        details={"role": role, "email": user.email},
    )
    if send_invite:
        transaction.on_commit(lambda: emails.send_set_password(user=user))
    return user


@transaction.atomic
def user_set_role(*, actor: User, user: User, role: str) -> None:
    """Change a user's role; takes effect on their next request."""
    if not can_manage_user(actor, user):
        audit_record(
            action=actions.ROLE_CHANGED.name,
            actor=actor,
            target=user,
            outcome=AuditEvent.Outcome.DENIED,
            details={"wanted": role},
        )
        raise PermissionDenied("You cannot change this user's role.")
    check_role_fits_agency(role, user.agency)
    old = User.objects.values_list("role", flat=True).get(pk=user.pk)
    if old == role:
        return
    user.role = role
    user.is_staff = role == Role.AGENCY_ADMIN or user.is_superuser
    user.save(update_fields=["role", "is_staff"])
    audit_record(
        action=actions.ROLE_CHANGED.name,
        actor=actor,
        target=user,
        agency=user.agency,
        details={"old": old, "new": role},
    )


@transaction.atomic
def user_set_active(*, actor: User, user: User, active: bool) -> None:
    """Disable or re-enable an account by hand."""
    if not can_manage_user(actor, user):
        raise PermissionDenied
    user.is_active = active
    user.disabled_reason = "" if active else f"Disabled by {actor.label}"
    if active:
        # Re-enabling restarts the 90-day clock, or the nightly job would disable it again.
        user.last_login = timezone.now()
    user.save(update_fields=["is_active", "disabled_reason", "last_login"])
    audit_record(
        action=(actions.ACCOUNT_ENABLED if active else actions.ACCOUNT_DISABLED).name,
        actor=actor,
        target=user,
        agency=user.agency,
    )


@transaction.atomic
def public_user_signup(*, email: str, password: str, full_name: str, role: str) -> User | None:
    """A resident or business signs up; the account opens once the email is confirmed.

    An address that already has an account (a resident's or staff's) gets no new one and no
    different answer: its owner is emailed instead, and None is returned. The caller shows
    the same page either way, so the form cannot be used to learn who has an account.
    """
    if role not in PUBLIC_ROLES:
        raise ValidationError(_("Choose resident or business."))
    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        _signup_with_existing_address(user=existing, password=password)
        return None
    user = User.objects.create_user(email, password, full_name=full_name, role=role)
    audit_record(
        action=actions.ACCOUNT_CREATED.name,
        actor_label="self sign-up",
        target=user,
        details={"role": role},
    )
    _email_later("email_signup_verification", user.pk)
    return user


def _signup_with_existing_address(*, user: User, password: str) -> None:
    # Hash the password anyway (and discard it): the same work as a new account, so the
    # time taken says nothing about whether the address is known.
    make_password(password)
    audit_record(
        action=actions.ACCOUNT_SIGNUP_EXISTING.name,
        actor_label="self sign-up",
        target=user,
        agency=user.agency,
    )
    _email_later("email_signup_existing", user.pk)


def _email_later(task_name: str, user_id: int | None) -> None:
    """Queue an account email once the transaction commits; the request never sends it.

    Sending takes a mail server's time, and only some answers send one: left in the request,
    that time would tell a prober which addresses have accounts. The task gets the id alone.
    A broker outage must not turn the (already committed) answer into an error page.
    """
    # By name: the tasks module imports this one to do the sending.
    queueing.send_named_on_commit(f"portal.tasks.{task_name}", user_id)


def _reset_recipients(email: str) -> list[User]:
    # Django's rule: active accounts with a usable password, the address compared casefolded.
    from django.contrib.auth.forms import PasswordResetForm

    return list(PasswordResetForm().get_users(email))


@transaction.atomic
def password_reset_request(*, email: str) -> None:
    """Queue one reset task, known address or not: with the account's id, or with None when
    no account may reset at this address (the task then sends nothing). Queueing only for a
    known address would cost the request one broker round-trip more, which a prober can time.

    Addresses are unique regardless of case, so there is at most one account to email.
    """
    recipient = next(iter(_reset_recipients(email)), None)
    _email_later("email_password_reset", recipient.pk if recipient else None)


def account_email_send(*, kind: str, user_id: int | None) -> bool:
    """Send a queued account email, reading the account now (it may have changed or gone).
    None is a reset asked for an address with no account: nothing is sent."""
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    if user is None:
        return False
    if kind == "verify":
        if not user.is_active or user.email_verified_at is not None:
            return False
        emails.send_email_verification(user=user, token=email_verification_token(user))
    elif kind == "signup_existing":
        emails.send_signup_existing(user=user)
    elif kind == "password_reset":
        if user not in _reset_recipients(user.email):
            return False
        emails.send_password_reset(user=user)
    else:
        raise ValueError(kind)
    return True


def email_verification_token(user: User) -> str:
    return signing.dumps({"uid": user.pk, "email": user.email}, salt=_EMAIL_VERIFY_SALT)


@transaction.atomic
def public_user_verify_email(*, token: str) -> User | None:
    """Confirm an email from the signed link; None for a bad, stale or already-used link."""
    try:
        data = signing.loads(
            token, salt=_EMAIL_VERIFY_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE_SECONDS
        )
    except signing.BadSignature:
        return None
    user = (
        User.objects.select_for_update().filter(pk=data.get("uid"), email=data.get("email")).first()
    )
    if user is None or user.email_verified_at is not None:
        return None
    user.email_verified_at = timezone.now()
    user.save(update_fields=["email_verified_at"])
    audit_record(action=actions.ACCOUNT_EMAIL_VERIFIED.name, actor=user, target=user)
    return user


def password_changed(*, user: User) -> None:
    """Audit a password set through a reset link, and lift a public user's lockout."""
    with transaction.atomic():
        audit_record(
            action=actions.PASSWORD_CHANGED.name,
            actor_label=user.label,
            target=user,
            agency=user.agency,
        )
        account_unlock_by_email_proof(user=user)


# --- reading the audit log is audited too (CJIS, ASVS V7) ---------------------------------


def audit_log_record_read(*, actor: User, view: str, **details: Any) -> None:
    """Someone read the audit log (a page, the dashboard or the API), with their filters."""
    audit_record(
        action=actions.AUDIT_LOG_VIEWED.name, actor=actor, details={"view": view, **details}
    )


def audit_log_record_export(*, actor: User, filters: dict[str, Any], rows: int) -> None:
    """Someone exported the audit log as CSV."""
    audit_record(
        action=actions.AUDIT_LOG_EXPORTED.name,
        actor=actor,
        details={"filters": filters, "rows": rows},
    )
