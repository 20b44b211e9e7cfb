"""Monthly community review samples, the items drawn into them, and reviewers' findings.

A sample is drawn once per agency and month from a recorded seed, so anyone holding the seed
and the month's facts can draw it again (review.services.sample_draw). Findings are written
once and never edited: the published summary counts them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.models import Agency, User


class ReviewSample(models.Model):
    """One month's draw for an agency's review panel: the seed, where it came from, and when
    the panel's access ends."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    # The first day of the month sampled, in the agency's time zone.
    month = models.DateField()
    # 64 hex digits; the draw of each kind is random.Random(f"{seed}:{kind}").
    seed = models.CharField(max_length=64)
    # What the seed was derived from (an audit checkpoint's head, or a seed given by hand).
    seed_basis = models.JSONField(default=dict)
    per_kind = models.PositiveIntegerField()
    drawn_at = models.DateTimeField()
    drawn_by_label = models.CharField(max_length=300)
    access_until = models.DateTimeField()

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "month"], name="review_sample_once_a_month")
        ]

    def __str__(self) -> str:
        return f"review sample {self.agency_id} {self.month:%Y-%m}"


class SampledItem(models.Model):
    """One thing drawn into a sample: its kind (review.kinds) and the id of the recorded fact."""

    sample = models.ForeignKey(ReviewSample, on_delete=models.PROTECT, related_name="items")
    kind = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    # The order of the draw within its kind (0 first).
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["sample", "kind", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["sample", "kind", "object_id"], name="sampled_item_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} in {self.sample_id}"


class Outcome(models.TextChoices):
    WITHIN_POLICY = "within_policy", _("Within policy")
    CONCERN = "concern", _("Concern")
    SERIOUS_CONCERN = "serious_concern", _("Serious concern")


class Finding(models.Model):
    """One reviewer's finding on one sampled item, written once."""

    item = models.ForeignKey(SampledItem, on_delete=models.PROTECT, related_name="findings")
    reviewer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    text = models.TextField(blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["recorded_at"]
        constraints = [
            models.UniqueConstraint(fields=["item", "reviewer"], name="finding_once_per_reviewer"),
            models.CheckConstraint(
                condition=models.Q(outcome__in=[o.value for o in Outcome]),
                name="finding_outcome_known",
            ),
        ]
        indexes = [models.Index(fields=["recorded_at"], name="finding_recorded_at")]

    def __str__(self) -> str:
        return f"{self.outcome} on {self.item_id} by {self.reviewer_id}"
