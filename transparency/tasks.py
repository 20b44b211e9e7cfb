"""Transparency background work: the hourly materialisation of the monthly figures."""

from celery import shared_task

from transparency import services


@shared_task(name="transparency.tasks.materialise_figures")
def materialise_figures() -> int:
    """Every hour: recompute the current and the previous month of every published agency."""
    return services.figures_materialise_recent()
