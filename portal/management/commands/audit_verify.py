from django.core.management.base import BaseCommand, CommandError

from portal.audit import verify_chain


class Command(BaseCommand):
    help = "Walk the audit log's hash chain; exit non-zero at the first broken row."

    def handle(self, *args, **options):
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"BROKEN at seq {report.broken_seq} (id {report.broken_id}) after "
                f"{report.count} good event(s): {report.problem}"
            )
        self.stdout.write(f"OK: {report.count} audit events, chain intact, head {report.head_hash}")
