"""A photo's capture time: EXIF fallbacks in order, each recorded with its tag and confidence.

DateTimeOriginal (+ OffsetTimeOriginal), DateTimeDigitized, DateTime, the GPS date and time
stamp, then the uploader's claim or the time received. JPEGs are generated with Pillow and run
through the real pipeline.
"""

import datetime as dt

import pytest
from django.urls import reverse
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from evidence.models import EvidenceItem
from evidence.processing import pipeline
from tests.evidence.helpers import ingest

pytestmark = pytest.mark.django_db(transaction=True)
Base, GPS = ExifTags.Base, ExifTags.GPS
NEW_YORK = dt.timezone(dt.timedelta(hours=-4))  # March 14 2026 is daylight time there


def photo(tmp_path, *, ifd0=None, exif_ifd=None, gps=None, name="photo.jpg"):
    exif = Image.Exif()
    exif[Base.Make] = "Canon"
    for tag, value in (ifd0 or {}).items():
        exif[tag] = value
    if exif_ifd:
        exif[ExifTags.IFD.Exif] = exif_ifd
    if gps:
        exif[ExifTags.IFD.GPSInfo] = gps
    path = tmp_path / name
    Image.new("RGB", (64, 48), (10, 200, 10)).save(path, "JPEG", exif=exif)
    return path


def processed(path, police) -> EvidenceItem:
    item = ingest(path, police)
    assert pipeline.process(item.pk) == EvidenceItem.State.READY
    item.refresh_from_db()
    return item


def when(item):
    return (
        item.capture_time,
        item.capture_time_source,
        item.capture_time_confidence,
        item.capture_time_tag,
    )


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_date_time_original_with_its_offset_is_high_confidence(police, tmp_path):
    path = photo(
        tmp_path,
        exif_ifd={
            Base.DateTimeOriginal: "2026:03:14 15:09:26",
            Base.OffsetTimeOriginal: "+02:00",
            Base.DateTimeDigitized: "2026:03:14 15:09:27",
        },
        ifd0={Base.DateTime: "2026:05:01 08:00:00"},
    )
    assert when(processed(path, police)) == (
        utc(2026, 3, 14, 13, 9, 26),
        "device_metadata",
        "high",
        "DateTimeOriginal",
    )


def test_date_time_original_without_offset_is_placed_in_the_agency_zone(police, tmp_path):
    path = photo(tmp_path, exif_ifd={Base.DateTimeOriginal: "2026:03:14 15:09:26"})
    assert when(processed(path, police)) == (
        dt.datetime(2026, 3, 14, 15, 9, 26, tzinfo=NEW_YORK),
        "device_metadata",
        "medium",
        "DateTimeOriginal",
    )


def test_date_time_digitized_is_next(police, tmp_path):
    path = photo(
        tmp_path,
        exif_ifd={
            Base.DateTimeDigitized: "2026:03:14 15:09:26",
            Base.OffsetTimeDigitized: "-07:00",
        },
        ifd0={Base.DateTime: "2026:05:01 08:00:00"},
    )
    assert when(processed(path, police)) == (
        utc(2026, 3, 14, 22, 9, 26),
        "device_metadata",
        "medium",
        "DateTimeDigitized",
    )


def test_a_photo_with_only_date_time_uses_it_not_the_time_received(police, tmp_path):
    path = photo(tmp_path, ifd0={Base.DateTime: "2026:03:14 15:09:26"})
    item = processed(path, police)
    assert when(item) == (
        dt.datetime(2026, 3, 14, 15, 9, 26, tzinfo=NEW_YORK),
        "file_metadata",
        "low",
        "DateTime",
    )
    assert item.capture_time != item.received_at


def test_date_time_with_its_offset_time(police, tmp_path):
    path = photo(
        tmp_path,
        ifd0={Base.DateTime: "2026:03:14 15:09:26"},
        exif_ifd={Base.OffsetTime: "+00:00", Base.SubsecTime: "25"},
    )
    assert when(processed(path, police)) == (
        utc(2026, 3, 14, 15, 9, 26, 250000),
        "file_metadata",
        "low",
        "DateTime",
    )


def test_the_gps_stamp_is_used_when_no_exif_time_is_there_and_is_utc(police, tmp_path):
    path = photo(
        tmp_path,
        gps={
            GPS.GPSDateStamp: "2026:03:14",
            GPS.GPSTimeStamp: (IFDRational(19, 1), IFDRational(9, 1), IFDRational(265, 10)),
        },
    )
    assert when(processed(path, police)) == (
        utc(2026, 3, 14, 19, 9, 26, 500000),
        "device_metadata",
        "medium",
        "GPSDateStamp+GPSTimeStamp",
    )


def test_unreadable_and_implausible_times_fall_through_to_the_next_tag(police, tmp_path):
    path = photo(
        tmp_path,
        exif_ifd={
            Base.DateTimeOriginal: "0000:00:00 00:00:00",  # what cameras write when unset
            Base.DateTimeDigitized: "1985:01:01 00:00:00",  # before any digital evidence
        },
        ifd0={Base.DateTime: "2026:03:14 15:09:26"},
    )
    assert when(processed(path, police))[3] == "DateTime"


def test_no_time_at_all_is_the_time_received(police, tmp_path):
    item = processed(photo(tmp_path), police)
    assert when(item) == (item.received_at, "time_received", "low", "")


def test_the_item_page_and_api_say_which_tag_was_used(police, tmp_path, make_staff, signed_in):
    item = processed(photo(tmp_path, ifd0={Base.DateTime: "2026:03:14 15:09:26"}), police)
    client = signed_in(make_staff())
    page = client.get(reverse("evidence:detail", args=[item.pk])).content.decode()
    assert "2026-03-14 15:09:26 America/New_York (19:09:26 UTC)" in page
    assert "from file metadata (DateTime), low confidence" in page
    api = client.get(reverse("api-evidence-detail", args=[item.pk])).json()
    assert api["capture_time_tag"] == "DateTime" and api["capture_time_confidence"] == "low"
