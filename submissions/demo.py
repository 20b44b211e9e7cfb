"""Demo data for `seed_demo`: the tips line's categories and two tips."""

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_noop

from submissions import services
from submissions.models import SubmissionSettings, Tip, TipCategory

CATEGORIES = [
    ("theft", gettext_noop("Theft or burglary")),
    ("vehicle", gettext_noop("Vehicle crime or dangerous driving")),
    ("drugs", gettext_noop("Drug activity")),
    ("violence", gettext_noop("Violence or threats")),
    ("vandalism", gettext_noop("Vandalism or graffiti")),
    ("missing", gettext_noop("Missing person or found property")),
    ("other", gettext_noop("Something else")),
]


def seed_categories(agency) -> None:
    """The demo agency's category list (idempotent)."""
    SubmissionSettings.objects.get_or_create(agency=agency)
    for position, (slug, name) in enumerate(CATEGORIES):
        TipCategory.objects.get_or_create(
            agency=agency, slug=slug, defaults={"name": name, "position": position}
        )


def seed_tips(*, agencies, users, stdout) -> None:
    """Categories for the demo police agency and two tips through the real service."""
    police = agencies["police"]
    seed_categories(police)
    if Tip.objects.filter(agency=police).exists():
        return
    now = timezone.now()
    first = services.tip_create(
        agency=police,
        category=TipCategory.objects.get(agency=police, slug="vehicle"),
        description="A grey van has been parked on Elm Street for three nights; people load boxes into it after midnight.",
        occurred_at=now - dt.timedelta(hours=20),
        latitude=40.7563,
        longitude=-73.9590,
        address="Elm Street near the school",
        share_file_metadata=True,
    )
    second = services.tip_create(
        agency=police,
        category=TipCategory.objects.get(agency=police, slug="vandalism"),
        description="Someone sprayed graffiti on the bus shelter at the corner of 3rd and Main.",
        occurred_at=now - dt.timedelta(days=2),
        latitude=40.7540,
        longitude=-73.9620,
    )
    stdout.write(
        f"Demo tips {first.tip.reference} (receipt {first.receipt}) and "
        f"{second.tip.reference} (receipt {second.receipt})."
    )
