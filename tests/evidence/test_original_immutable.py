"""The database refuses to change an original's SHA-256, size or storage key once set."""

import hashlib

import pytest
from django.db import IntegrityError, connection, transaction

from evidence.models import EvidenceItem
from evidence.processing import pipeline
from tests.evidence.helpers import ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def hashed_item(police, tmp_path):
    path = tmp_path / "note.bin"
    path.write_bytes(b"not media, still evidence")
    item = ingest(path, police)
    assert item.sha256 == ""
    # Unset -> set once is allowed: this is the pipeline recording the hash.
    pipeline.process(item.pk)
    item.refresh_from_db()
    assert item.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    return item


def raw_update(item, column: str, value) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE evidence_evidenceitem SET {column} = %s WHERE id = %s",  # noqa: S608
            [value, item.pk],
        )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("sha256", "0" * 64),
        ("sha256", ""),
        ("size", 1),
        ("original_key", "evidence/elsewhere/forged"),
    ],
)
def test_a_raw_sql_update_of_a_set_original_field_is_refused(hashed_item, column, value):
    with pytest.raises(IntegrityError, match="cannot change once set"):
        raw_update(hashed_item, column, value)
    fresh = EvidenceItem.objects.get(pk=hashed_item.pk)
    assert getattr(fresh, column) == getattr(hashed_item, column)


def test_writing_the_same_values_and_other_columns_is_still_allowed(hashed_item):
    raw_update(hashed_item, "sha256", hashed_item.sha256)
    raw_update(hashed_item, "state_reason", "checked by hand")
    hashed_item.refresh_from_db()
    hashed_item.legal_hold = True
    hashed_item.save()  # a full-row save rewrites sha256/size/key with their own values
    assert EvidenceItem.objects.get(pk=hashed_item.pk).legal_hold is True
