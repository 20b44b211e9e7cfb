"""The audit log's Merkle leaves, kept so an export does not re-read the whole log.

A stored leaf is only a cache of SHA-256(0x00 || canonical JSON) of its row: a changed row no
longer matches its leaf (the offline verifier fails on it, and the hourly checkpoint, which
re-derives every leaf, refuses to sign); a changed leaf no longer gives a signed root.
"""

from django.db import models


class AuditLeaf(models.Model):
    seq = models.BigIntegerField(primary_key=True)
    leaf = models.BinaryField(max_length=32)

    class Meta:
        app_label = "evidence"

    def __str__(self) -> str:
        return f"leaf of audit row {self.seq}"
