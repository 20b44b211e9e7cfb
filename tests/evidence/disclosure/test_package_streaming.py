"""Big packages: memory stays flat over real HTTP, and past 4 GiB the ZIP is a correct ZIP64."""

import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.utils import timezone

from evidence.cases import services as case_services
from evidence.disclosure.packages import package_stream
from evidence.models import EvidenceItem, Source
from portal import storage
from portal.roles import Role
from tests.evidence.bigcase import (
    BLOCK,
    MiB,
    RssWatch,
    Server,
    remove_original,
    rss_kib,
    sign_in,
    write_random_original,
)
from tests.evidence.disclosure.packaging import exhibit, make_case, verified

KEEP_TAIL = 1 * MiB


def keep_tail(tail: bytes, chunk: bytes) -> bytes:
    return chunk[-KEEP_TAIL:] if len(chunk) >= KEEP_TAIL else (tail + chunk)[-KEEP_TAIL:]


class TailFile(io.RawIOBase):
    """A seekable view of a long stream of which only the last bytes were kept.

    zipfile reads an archive's directory from its end, so this is enough to list the entries
    of a multi-gigabyte ZIP without storing it; any read before the kept tail fails loudly.
    """

    def __init__(self, size: int, tail: bytes):
        self.size, self.tail, self.pos = size, tail, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def readinto(self, buffer) -> int:
        start = self.pos - (self.size - len(self.tail))
        if start < 0:
            raise OSError(f"read at {self.pos}, before the kept tail")
        data = self.tail[start : start + len(buffer)]
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)


def download(session: requests.Session, url: str) -> tuple[int, int, bytes]:
    """Content-Length, bytes received and the last KEEP_TAIL bytes of one download."""
    received, tail = 0, b""
    with session.get(url, stream=True, timeout=300) as response:
        assert response.status_code == 200, response.text[:500]
        for chunk in response.iter_content(1 * MiB):
            received += len(chunk)
            tail = keep_tail(tail, chunk)
    return int(response.headers["Content-Length"]), received, tail


def entries(size: int, tail: bytes) -> dict[str, int]:
    with zipfile.ZipFile(TailFile(size, tail)) as archive:
        return {info.filename: info.file_size for info in archive.infolist()}


@pytest.mark.django_db(transaction=True)
def test_server_memory_does_not_grow_from_200_mb_to_2_gb_package(make_staff, settings):
    lead = verified(make_staff(role=Role.INVESTIGATOR))
    agency = lead.agency
    block = os.urandom(BLOCK)
    small_case = make_case(lead=lead, number="SMALL-1")
    big_case = make_case(lead=lead, number="BIG-1")
    small = [write_random_original(agency=agency, size=200 * MiB, block=block)]
    big = [write_random_original(agency=agency, size=1024 * MiB, block=block) for _ in range(2)]
    for case, items in ((small_case, small), (big_case, big)):
        for item in items:
            case_services.case_item_add(actor=lead, case=case, item=item)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DATA_DIR": str(settings.DATA_DIR),
    }
    server = Server(env)
    try:
        session = requests.Session()
        sign_in(session, server.base, lead)
        pid = server.worker_pid()
        url = server.base + "/staff/evidence/cases/{}/package/"
        download(session, url.format(small_case.pk))  # loads the code the download path uses
        baseline_kib = rss_kib(pid)
        with RssWatch(pid) as small_watch:
            small_length, small_received, small_tail = download(session, url.format(small_case.pk))
        with RssWatch(pid) as big_watch:
            big_length, big_received, big_tail = download(session, url.format(big_case.pk))
    finally:
        server.stop()
        for item in small + big:
            remove_original(item)

    assert small_received == small_length > 200 * MiB
    assert big_received == big_length > 2048 * MiB
    listed = entries(big_length, big_tail)
    assert {listed[f"originals/{exhibit(big_case, item)}.mp4"] for item in big} == {1024 * MiB}
    assert (
        entries(small_length, small_tail)[f"originals/{exhibit(small_case, small[0])}.mp4"]
        == 200 * MiB
    )
    growth_small = (small_watch.peak_kib - baseline_kib) / 1024
    growth_big = (big_watch.peak_kib - baseline_kib) / 1024
    # Ten times the data, the same memory: a loose bound, far below either package's size.
    assert growth_big < 150, (growth_small, growth_big)
    assert growth_big - growth_small < 48, (growth_small, growth_big)


@pytest.mark.django_db
def test_a_package_past_4_gib_is_a_correct_zip64(make_staff, tmp_path):
    lead = verified(make_staff(role=Role.INVESTIGATOR))
    size = (4 << 30) + 3 * MiB
    key = storage.new_object_key(f"evidence/{lead.agency.slug}/originals")
    path = Path(storage.local_path(key))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as sparse:  # a hole on disk: 4 GiB without writing 4 GiB
        sparse.truncate(size)
    digest = hashlib.sha256()
    zeros = bytes(64 * MiB)
    for _ in range(size // len(zeros)):
        digest.update(zeros)
    digest.update(zeros[: size % len(zeros)])
    item = EvidenceItem.objects.create(
        agency=lead.agency, source=Source.STAFF_UPLOAD, original_key=key,
        original_filename="long.mp4", size=size, sha256=digest.hexdigest(),
        media_type="video/mp4", state=EvidenceItem.State.READY, uploaded_by_label="test",
        received_at=timezone.now(),
    )  # fmt: skip
    second = write_random_original(agency=lead.agency, size=5 * MiB)
    case = make_case(lead=lead)
    try:
        package = package_stream(actor=lead, case=case, items=[item, second])
        sent, tail = 0, b""
        for chunk in package:
            sent += len(chunk)
            tail = keep_tail(tail, chunk)
    finally:
        remove_original(item)
        remove_original(second)
    assert sent == package.size > 4 << 30
    assert b"PK\x06\x06" in tail  # the ZIP64 end of central directory record
    listed = entries(sent, tail)
    assert listed[f"originals/{item.pk}.mp4"] == size
    # The second file starts past 4 GiB: its offset is only expressible in ZIP64.
    with zipfile.ZipFile(TailFile(sent, tail)) as archive:
        assert archive.getinfo(f"originals/{second.pk}.mp4").header_offset > 4 << 30
