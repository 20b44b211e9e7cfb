"""The materialised monthly figures the public transparency page reads.

Nothing here is typed in: every row is written by `figures_materialise` from a named metric
(transparency.metrics) over recorded facts, and is replaced whole when recomputed.
"""

from django.db import models

from portal.models import Agency, User


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


class Goal(models.Model):
    """A quantified goal of an agency on one named metric: a baseline computed from its
    history, a target and a period, compared month by month (and unit by unit)."""

    class Direction(models.TextChoices):
        HIGHER = "higher", "Higher is better"
        LOWER = "lower", "Lower is better"

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=120)
    # Why the agency set it, in its own words (plain text, never HTML).
    why = models.TextField(max_length=1000, blank=True)
    # The name of a registered metric (transparency.metrics, goal=True).
    metric = models.CharField(max_length=60)
    direction = models.CharField(max_length=6, choices=Direction.choices)
    target_value = models.FloatField()
    # Months, stored as their first day; both ends included.
    period_start = models.DateField()
    period_end = models.DateField()
    baseline_start = models.DateField()
    baseline_end = models.DateField()
    # Computed by the metric over the whole baseline period, never typed in; refreshed by the
    # beat job with the monthly figures.
    baseline_value = models.FloatField(null=True, blank=True)
    baseline_basis = models.PositiveIntegerField(default=0)
    baseline_computed_at = models.DateTimeField(null=True, blank=True)
    # Chosen by the agency: shown on its public transparency page and in its open data.
    public = models.BooleanField(default=False)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["retired_at", "-period_end", "title"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="goal_period_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(baseline_end__gte=models.F("baseline_start")),
                name="goal_baseline_ordered",
            ),
        ]
        indexes = [models.Index(fields=["agency", "retired_at"], name="goal_agency_active")]

    def __str__(self) -> str:
        return self.title
