"""Cases, shares and packages made for the package, CASE/UCO and receipt tests."""

import datetime as dt
import io
import zipfile
from pathlib import Path

from django.contrib.gis.geos import Point
from django.utils import timezone

from evidence.models import Case, Share, ShareItem, ValueSource
from evidence.packages import package_stream
from tests.factories import stored_item


def make_case(*, lead, title="Burglary on Elm Street", number="2026-0042") -> Case:
    return Case.objects.create(
        agency=lead.agency,
        number=number,
        title=title,
        lead=lead,
        created_by_label=lead.label,
        incident_time=timezone.now() - dt.timedelta(days=2),
    )


def add_items(case: Case, contents: list[bytes], **fields) -> list:
    items = []
    for n, content in enumerate(contents):
        item = stored_item(
            agency=case.agency,
            content=content,
            capture_time=timezone.now() - dt.timedelta(days=2, minutes=n),
            capture_time_source=ValueSource.DEVICE_METADATA,
            capture_time_confidence="high",
            location=Point(-73.95, 40.75, srid=4326),
            location_source=ValueSource.FILE_METADATA,
            **fields,
        )
        case.case_items.create(item=item, added_by_label="test")
        items.append(item)
    return items


def make_share(*, case: Case, items, recipient_agency, by) -> Share:
    share = Share.objects.create(
        case=case,
        recipient_agency=recipient_agency,
        all_items=True,
        level=Share.Level.DOWNLOAD,
        expires_at=timezone.now() + dt.timedelta(days=30),
        created_by=by,
        created_by_label=by.label,
        note="For the charging decision",
    )
    ShareItem.objects.bulk_create([ShareItem(share=share, item=item) for item in items])
    return share


def package_bytes(*, actor, case, items, **kwargs) -> bytes:
    package = package_stream(actor=actor, case=case, items=items, **kwargs)
    data = b"".join(package)
    assert len(data) == package.size
    return data


def extract(data: bytes, folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        archive.extractall(folder)
    return folder
