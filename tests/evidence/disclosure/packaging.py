"""Cases, shares and packages for the package, CASE/UCO and receipt tests (real services)."""

import datetime as dt
import io
import zipfile
from pathlib import Path

from django.contrib.gis.geos import Point
from django.utils import timezone

from evidence.cases import services as case_services
from evidence.disclosure import services as share_services
from evidence.disclosure.packages import package_stream
from evidence.models import Case, Share, ValueSource
from tests.factories import stored_item


def verified(user):
    """Services check policies that need a passed second factor, as a signed-in request would."""
    user.is_verified = lambda: True
    return user


def make_case(*, lead, title="Burglary on Elm Street", number="2026-0042") -> Case:
    return case_services.case_create(
        actor=verified(lead),
        number=number,
        title=title,
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
        case_services.case_item_add(actor=case.lead, case=case, item=item)
        items.append(item)
    return items


def make_share(*, case: Case, items, recipient_agency, by) -> Share:
    return share_services.share_create(
        actor=verified(by),
        case=case,
        recipient_agency=recipient_agency,
        items=items,
        level=Share.Level.DOWNLOAD,
        note="For the charging decision",
    )


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


def exhibit(case: Case, item) -> str:
    """The stem the package names an item's files by: its exhibit number in the case."""
    number = case.case_items.get(item=item).exhibit_number
    return f"exhibit-{number:03d}"


def exhibit_of(item) -> str:
    """The same, for an item in exactly one case."""
    return f"exhibit-{item.case_items.get().exhibit_number:03d}"
