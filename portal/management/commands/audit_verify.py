from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.audit import verify_chain
from portal.checkpoints import (
    MAX_CHECKPOINT_BYTES,
    CheckpointError,
    checkpoint_chain_problem,
    checkpoint_parse,
    checkpoint_signature_problem,
    key_id_of,
)


class Command(BaseCommand):
    help = (
        "Walk the audit log's hash chain; exit non-zero at the first broken row. With "
        "--checkpoint, also check the log against signed checkpoints: a log that ends before a "
        "checkpoint's sequence number lost its tail, a different hash there means a rewrite."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoint",
            action="append",
            default=[],
            metavar="FILE",
            help="a checkpoint JSON file (from /audit/checkpoints/<agency>/); may be repeated",
        )
        parser.add_argument(
            "--public-key",
            default="",
            metavar="KEY",
            help="the agency's published public key (64 hex digits, or a .pub file holding "
            "them); without it the key written in the checkpoint itself is used",
        )

    def _public_key(self, value: str) -> str:
        if value and Path(value).is_file():
            return Path(value).read_text().strip()
        return value.strip()

    def _check_checkpoint(self, path: str, pinned_key: str) -> str:
        """'' when the checkpoint is genuine and the log still holds its head; else why not."""
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_CHECKPOINT_BYTES + 1)
        except OSError as exc:
            return f"cannot read it ({exc.strerror})"
        try:
            document = checkpoint_parse(data)
        except CheckpointError as exc:
            return f"not a checkpoint: {exc}"
        signature = document["signature"]
        key = pinned_key or str(signature.get("public_key", ""))
        problem = checkpoint_signature_problem(document, key)
        if problem:
            return f"signature INVALID: {problem}"
        if not pinned_key:
            if signature.get("key_id") != key_id_of(key):
                return "signature INVALID: the key id does not name the key written beside it"
            self.stdout.write(
                f"{path}: signature checked with the key written in the file "
                f"({signature.get('key_id')}); pass --public-key with the agency's published "
                "key to know it is the agency's"
            )
        return checkpoint_chain_problem(document["checkpoint"])

    def handle(self, *args, **options):
        failures = []
        report = verify_chain()
        if report.ok:
            self.stdout.write(
                f"OK: {report.count} audit events, chain intact, head {report.head_hash}"
            )
        else:
            failures.append(
                f"BROKEN at seq {report.broken_seq} (id {report.broken_id}) after "
                f"{report.count} good event(s): {report.problem}"
            )
        pinned_key = self._public_key(options["public_key"])
        for path in options["checkpoint"]:
            problem = self._check_checkpoint(path, pinned_key)
            if problem:
                failures.append(f"checkpoint {path}: {problem}")
            else:
                self.stdout.write(
                    f"OK: checkpoint {path}: signature good, the log still holds its signed head"
                )
        if failures:
            raise CommandError("\n".join(failures))
