"""Platform jobs: beat jobs, and the account emails a request must not send itself. Thin: the
work is in services."""

from celery import shared_task

from portal import checkpoints, services


@shared_task
def disable_inactive_accounts() -> int:
    """Nightly: disable staff accounts unused for INACTIVE_ACCOUNT_DAYS (CJIS 5.9.5)."""
    return len(services.users_disable_inactive())


@shared_task
def take_audit_checkpoints() -> int:
    """Daily: each agency signs the audit chain's head (once a day: a rerun makes none)."""
    return len(checkpoints.audit_checkpoints_take())


# Sign-up and password reset hand their emails to these tasks, known address or not, so that
# the time a request takes says nothing about whether an account exists. They carry a user id
# only (a reset for an unknown address carries None and sends nothing), never the address:
# everything else is read here, at sending time.


@shared_task
def email_signup_verification(user_id: int) -> bool:
    return services.account_email_send(kind="verify", user_id=user_id)


@shared_task
def email_signup_existing(user_id: int) -> bool:
    return services.account_email_send(kind="signup_existing", user_id=user_id)


@shared_task
def email_password_reset(user_id: int | None) -> bool:
    return services.account_email_send(kind="password_reset", user_id=user_id)
