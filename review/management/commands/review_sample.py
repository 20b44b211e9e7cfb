"""Draw a month's community review sample, or check a drawn one against its recorded seed."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.models import Agency
from portal.roles import AgencyKind
from review import services
from review.models import ReviewSample


def _month(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError as exc:
        raise CommandError("--month is YYYY-MM, e.g. 2026-11.") from exc


class Command(BaseCommand):
    help = (
        "Draw the community review sample of --month (YYYY-MM) for every police agency (or "
        "--agency SLUG). A month drawn already is drawn again from its recorded seed and "
        "compared with what was recorded."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--agency", help="an agency's slug (default: every police agency)")
        parser.add_argument("--seed", default="", help="64 hex digits (default: derived)")

    def handle(self, *args, month, agency=None, seed="", **options):
        when = _month(month)
        agencies = Agency.objects.filter(kind=AgencyKind.POLICE).order_by("slug")
        if agency:
            agencies = agencies.filter(slug=agency)
            if not agencies.exists():
                raise CommandError(f"No police agency {agency!r}.")
        differ = False
        for each in agencies:
            existing = ReviewSample.objects.filter(agency=each, month=when).first()
            if existing is not None:
                same = services.sample_redraw(sample=existing) == services.sample_recorded(
                    sample=existing
                )
                differ = differ or not same
                self.stdout.write(
                    f"{each.slug} {when:%Y-%m}: drawn already with seed {existing.seed}; "
                    + (
                        "drawn again from it, the same items."
                        if same
                        else "drawn again from it, DIFFERENT items (facts changed since)."
                    )
                )
                continue
            try:
                made = services.review_sample_create(
                    agency=each, month=when, seed=seed, drawn_by_label="review_sample command"
                )
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            counts = ", ".join(
                f"{kind} {len(ids)}" for kind, ids in services.sample_recorded(sample=made).items()
            )
            self.stdout.write(
                f"{each.slug} {when:%Y-%m}: seed {made.seed} ({made.seed_basis['source']}); "
                f"drew {counts}; access until {made.access_until:%Y-%m-%d %H:%M} UTC."
            )
        if differ:
            raise CommandError("A recorded sample no longer matches its seed's draw.")
