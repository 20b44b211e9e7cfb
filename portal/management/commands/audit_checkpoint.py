from django.core.management.base import BaseCommand
from django.urls import reverse

from portal.checkpoints import audit_checkpoints_take


class Command(BaseCommand):
    help = (
        "Sign today's checkpoint of the audit chain's head for every agency without one yet "
        "(the daily beat job does the same)."
    )

    def handle(self, *args, **options):
        made = audit_checkpoints_take()
        for checkpoint in made:
            url = reverse(
                "checkpoints:download",
                kwargs={"agency_slug": checkpoint.agency.slug, "checkpoint_id": checkpoint.pk},
            )
            self.stdout.write(
                f"{checkpoint.agency.slug}: seq {checkpoint.seq} head {checkpoint.head_hash} "
                f"signed with key {checkpoint.key_id}; download {url}"
            )
        if not made:
            self.stdout.write(
                "No checkpoint to take: every agency has today's (or the log is empty)."
            )
