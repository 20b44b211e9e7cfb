"""Community review background work: the monthly draw."""

from celery import shared_task

from review import services


@shared_task(name="review.tasks.draw_monthly_samples")
def draw_monthly_samples() -> int:
    """Early each month (and again each day, for an agency missed): the previous month."""
    return len(services.samples_draw_due())
