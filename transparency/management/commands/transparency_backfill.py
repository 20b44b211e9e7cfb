"""Recompute every month's transparency figures from the recorded facts (safe to run again)."""

from django.core.management.base import BaseCommand, CommandError

from transparency import services


class Command(BaseCommand):
    help = "Materialise the monthly transparency figures of every month since the first fact."

    def add_arguments(self, parser):
        parser.add_argument("--agency", help="Only this agency (its slug).")

    def handle(self, *args, **options):
        agencies = services.published_agencies()
        if options["agency"]:
            agencies = [a for a in agencies if a.slug == options["agency"]]
            if not agencies:
                raise CommandError(f"No police agency with the slug {options['agency']!r}.")
        for agency in agencies:
            written = services.figures_backfill(agency=agency)
            self.stdout.write(
                f"{agency.slug}: {written} figure(s) since {services.first_fact_month(agency=agency):%Y-%m}."
            )
