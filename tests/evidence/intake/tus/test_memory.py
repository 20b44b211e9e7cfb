"""Memory: appending a large body keeps traced memory small."""

import hashlib
import os
import tracemalloc

import pytest

from evidence.intake import staging as staged_files
from evidence.intake import uploads
from evidence.models import Upload
from tests.evidence.intake.tus.helpers import (
    MiB,
)

pytestmark = pytest.mark.django_db

# --- memory -------------------------------------------------------------------------------


class RepeatingStream:
    """`total` bytes as fresh copies of one preallocated block, like a socket would give."""

    def __init__(self, block: bytes, total: int):
        self.block, self.left = block, total

    def read(self, size: int = -1) -> bytes:
        size = min(self.left, len(self.block) if size < 0 else size, len(self.block))
        self.left -= size
        return bytes(memoryview(self.block)[:size])


def test_appending_64_mib_keeps_traced_memory_under_8_mib(secret_grant):
    grant, _ = secret_grant()
    total, block = 64 * MiB, os.urandom(MiB)
    upload = uploads.upload_create(grant=grant, length=total, metadata={})
    digest = hashlib.sha256()
    for _ in range(total // MiB):
        digest.update(block)
    claimed = staged_files.Checksum("sha256", digest.digest())

    tracemalloc.start()
    try:
        done = uploads.upload_append(
            grant=grant,
            upload_id=upload.id,
            offset=0,
            body=RepeatingStream(block, total),
            body_length=total,
            checksum=claimed,
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert done.offset == total and done.state == Upload.State.COMPLETE
    assert peak < 8 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"
