from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, no_translations

from evidence.disclosure.receipts import ReceiptError, receipt_parse, receipt_verify


class Command(BaseCommand):
    help = (
        "Check a signed receipt. Exit 0 when valid, 1 when not. With --public-key it runs "
        "offline, without a database; without it, the key is looked up by its id."
    )
    # Offline use: no system checks, nothing that needs the database unless asked.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="the receipt (.json)")
        parser.add_argument(
            "--public-key",
            metavar="FILE_OR_HEX",
            help="the sharing agency's public key: a file (hex or PEM) or 64 hex digits",
        )

    @no_translations  # the reasons in English, whatever language was active
    def handle(self, *args, file, public_key=None, **options):
        try:
            data = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
        try:
            document = receipt_parse(data)
        except ReceiptError as exc:
            raise CommandError(f"invalid: {exc}") from exc
        key = self._key_text(public_key) if public_key else self._published(document)
        ok, reason = receipt_verify(document, key)
        if not ok:
            raise CommandError(reason)
        self.stdout.write(reason)

    def _key_text(self, value: str) -> str:
        candidate = Path(value)
        if len(value.strip()) != 64 and candidate.is_file():
            return candidate.read_text(errors="replace")
        return value

    def _published(self, document: dict) -> str:
        from evidence.models import SigningKey

        key_id = str(document["signature"].get("key_id"))
        key = SigningKey.objects.filter(key_id=key_id).first()
        if key is None:
            raise CommandError(
                f"invalid: no published key {key_id!r} here; pass --public-key from the agency"
            )
        return key.public_key
