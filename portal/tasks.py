"""Platform beat jobs. Thin: the work is in services."""

from celery import shared_task

from portal import services


@shared_task
def disable_inactive_accounts() -> int:
    """Nightly: disable staff accounts unused for INACTIVE_ACCOUNT_DAYS (CJIS 5.9.5)."""
    return len(services.users_disable_inactive())
