from django.core.management.base import BaseCommand, CommandError

from evidence.processing.integrity import originals_verify


class Command(BaseCommand):
    help = "Re-hash evidence originals (all, or those not verified for --older-than days)."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=None, metavar="DAYS")

    def handle(self, *args, older_than=None, **options):
        checks = originals_verify(older_than_days=older_than)
        bad = [c for c in checks if not c.ok]
        for check in bad:
            self.stderr.write(
                f"MISMATCH {check.item_id}: {check.problem} (found {check.sha256_found or '-'})"
            )
        if bad:
            raise CommandError(f"{len(bad)} of {len(checks)} original(s) failed verification.")
        self.stdout.write(f"OK: {len(checks)} original(s) verified.")
