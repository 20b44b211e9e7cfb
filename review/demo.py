"""Demo data: the current month's review sample of the demo police agency (seed_demo)."""

import zoneinfo

from django.urls import reverse
from django.utils import timezone

from review import services
from review.models import ReviewSample


def seed_review(*, agencies, users, stdout) -> None:
    """Draw this month's sample (once), so the demo reviewer has something to review."""
    police = agencies["police"]
    month = services.month_start(
        timezone.now().astimezone(zoneinfo.ZoneInfo(police.time_zone)).date()
    )
    sample = ReviewSample.objects.filter(agency=police, month=month).first()
    if sample is None:
        sample = services.review_sample_create(
            agency=police, month=month, drawn_by_label="seed_demo"
        )
    drawn = sum(len(ids) for ids in services.sample_recorded(sample=sample).values())
    stdout.write(
        f"Community review sample of {month:%Y-%m} ({drawn} items, seed {sample.seed[:12]}…): "
        + reverse("review:sample", kwargs={"sample_id": sample.pk})
    )
