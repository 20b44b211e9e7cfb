"""The materialised monthly figures the public transparency page reads.

Nothing here is typed in: every row is written by `figures_materialise` from a named metric
(transparency.metrics) over recorded facts, and is replaced whole when recomputed.
"""

from django.db import models

from portal.models import Agency


class MonthlyFigure(models.Model):
    """One generated figure: a metric's value for one agency, month and dimension."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    # The first day of the month, in the agency's time zone.
    month = models.DateField()
    metric = models.CharField(max_length=60)
    # A breakdown value (a trigger kind, an outcome, ...); empty for the metric's total.
    dimension = models.CharField(max_length=80, blank=True)
    value = models.FloatField()
    # How many recorded facts the value stands on: a count is its own basis; a median or a
    # share stands on the rows it was taken over. The small-count rule reads this.
    basis = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["agency", "metric", "month", "dimension"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "month", "metric", "dimension"], name="monthly_figure_once"
            )
        ]
        indexes = [models.Index(fields=["agency", "month"], name="monthly_figure_agency_month")]

    def __str__(self) -> str:
        return f"{self.agency_id} {self.month:%Y-%m} {self.metric}/{self.dimension}: {self.value}"
