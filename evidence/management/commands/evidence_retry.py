import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from evidence.models import EvidenceItem
from evidence.processing import pipeline


class Command(BaseCommand):
    help = "Offer failed evidence items to the media pipeline again (after fixing the cause)."

    def add_arguments(self, parser):
        parser.add_argument("item_ids", nargs="*", metavar="ITEM_ID")
        parser.add_argument("--all-failed", action="store_true", help="every item now failed")

    def handle(self, *args, item_ids=(), all_failed=False, **options):
        if all_failed == bool(item_ids):
            raise CommandError("Give item ids or --all-failed (not both).")
        if all_failed:
            item_ids = EvidenceItem.objects.filter(state=EvidenceItem.State.FAILED).values_list(
                "pk", flat=True
            )
        operator = getpass.getuser()
        refused = []
        for item_id in item_ids:
            try:
                offered = pipeline.failed_retry(item_id, operator=operator)
            except ValidationError:  # not a UUID
                offered = False
            if not offered:
                refused.append(str(item_id))
            else:
                self.stdout.write(f"offered again: {item_id}")
        if refused:
            raise CommandError(f"not failed (or no such item): {', '.join(refused)}")
