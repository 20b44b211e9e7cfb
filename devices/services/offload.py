"""Offload: a device announces a recording by its manifest, uploads it through the store's
tus endpoint under a grant bound to that recording, and its GPS track beside it.

The store makes the evidence item when the last byte arrives and tells us through the bodycam
SourceHooks (devices/apps.py): `recording_item_received` links it to the recording and puts the
manifest in its custody; `recording_item_hashed` compares the device's SHA-256 with the one the
media pipeline computed while storing the original.
"""

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib.gis.geos import Point
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from devices import audit_actions as actions
from devices import selectors
from devices.models import Device, Recording, TrackPoint
from devices.services.cad import cad_recordings_file
from devices.tracks import Fix
from evidence import services as evidence_services
from evidence.models import EvidenceItem, UploadGrant
from portal.audit import audit_record

logger = logging.getLogger(__name__)

GRANT_TTL = dt.timedelta(days=7)  # a camera offloads at its dock, not always the same day
MEDIA_TYPES = ["video/"]


@dataclass(frozen=True)
class Announced:
    """A recording as the device API answers for it: `created` on the first announcement,
    `upload` (the grant's offer) when a new grant was issued."""

    recording: Recording
    created: bool
    upload: dict[str, Any] | None


def _label(device: Device) -> str:
    return f"body camera {device.serial}"


def _point(location: dict[str, Any] | None) -> Point | None:
    if not location:
        return None
    return Point(float(location["lon"]), float(location["lat"]), srid=4326)


def _json_safe(manifest: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(json.dumps(manifest, cls=DjangoJSONEncoder))
    return value


def _live_grant(recording: Recording) -> UploadGrant | None:
    return (
        UploadGrant.objects.filter(
            flow=UploadGrant.Flow.BODYCAM,
            source_ref=str(recording.pk),
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .order_by("-created_at")
        .first()
    )


def _grant_for(device: Device, recording: Recording) -> dict[str, Any]:
    issued = evidence_services.upload_grant_issue(
        agency=device.agency,
        flow=UploadGrant.Flow.BODYCAM,
        source_ref=str(recording.pk),
        max_files=1,
        max_file_bytes=evidence_services.upload_flow_max_bytes(UploadGrant.Flow.BODYCAM),
        media_types=MEDIA_TYPES,
        expires_at=timezone.now() + GRANT_TTL,
        actor_label=_label(device),
        audit_source={
            "source_ref": str(recording.pk),
            "device": str(device.pk),
            "device_recording_id": recording.device_recording_id,
        },
    )
    return issued.offer()


def recording_announce(*, device: Device, manifest: dict[str, Any]) -> Announced:
    """Record a device's manifest and grant the upload of its file; idempotent on the device's
    recording_id (a camera that rebooted announces again and gets the same recording).

    A repeat gets a new grant only when the one before is gone (expired or revoked): a grant's
    secret is shown once, and the device keeps it to resume its tus upload.
    """
    stored = _json_safe(manifest)
    trigger_on = manifest["trigger_on"]
    trigger_off = manifest.get("trigger_off") or {}
    with transaction.atomic():
        # Lock the device row: two announcements of one recording (a retry racing the
        # original) make one recording and one grant.
        Device.objects.select_for_update().filter(pk=device.pk).first()
        recording = Recording.objects.filter(
            device=device, device_recording_id=manifest["recording_id"]
        ).first()
        if recording is not None:
            return _announced_again(device, recording)
        recording = Recording.objects.create(
            agency_id=device.agency_id,
            device=device,
            device_recording_id=manifest["recording_id"],
            officer=selectors.officer_at(device, trigger_on["at"]),
            started_at=manifest["started_at"],
            stopped_at=manifest["stopped_at"],
            pre_event_seconds=manifest["pre_event_seconds"],
            pre_event_audio=manifest["pre_event_audio"],
            trigger_on_source=trigger_on["source"],
            trigger_on_at=trigger_on["at"],
            trigger_on_location=_point(trigger_on.get("location")),
            trigger_off_source=trigger_off.get("source", ""),
            trigger_off_at=trigger_off.get("at"),
            trigger_off_location=_point(trigger_off.get("location")),
            bookmarks=stored.get("bookmarks", []),
            device_sha256=manifest["sha256"].lower(),
            device_clock={**stored.get("device_clock", {}), "received_at": _now_text()},
            cad_event_id=manifest.get("cad_event_id", ""),
            manifest=stored,
        )
        audit_record(
            action=actions.RECORDING_ANNOUNCED.name,
            actor_label=_label(device),
            target=recording,
            agency=device.agency,
            details={
                "device": str(device.pk),
                "serial": device.serial,
                "officer": recording.officer.label if recording.officer else None,
                "manifest": stored,
            },
        )
        upload = _grant_for(device, recording)
    return Announced(recording=recording, created=True, upload=upload)


def _now_text() -> str:
    return timezone.now().isoformat()


def _announced_again(device: Device, recording: Recording) -> Announced:
    if recording.status == Recording.Status.COMPLETE:
        return Announced(recording=recording, created=False, upload=None)
    grant = _live_grant(recording)
    if grant is None:
        return Announced(recording=recording, created=False, upload=_grant_for(device, recording))
    if grant.files_started and recording.status == Recording.Status.ANNOUNCED:
        recording.status = Recording.Status.TRANSFERRING
        recording.save(update_fields=["status"])
    return Announced(recording=recording, created=False, upload=None)


def recording_get_for_device(*, device: Device, id: UUID | str) -> Recording:
    """One of the device's own recordings; any other id (another device's too) is a 404."""
    recording = (
        Recording.objects.filter(pk=id, device=device).select_related("officer", "device").first()
    )
    if recording is None:
        raise Http404("No such recording of this device.")
    return recording


def track_store(*, device: Device, recording: Recording, fmt: str, fixes: list[Fix]) -> int:
    """Keep a recording's GPS track as timestamped points; a track sent again replaces it."""
    with transaction.atomic():
        TrackPoint.objects.filter(recording=recording).delete()
        TrackPoint.objects.bulk_create(
            TrackPoint(
                recording=recording,
                t=fix.t,
                point=Point(fix.lon, fix.lat, srid=4326),
                accuracy_m=fix.accuracy_m,
            )
            for fix in fixes
        )
        audit_record(
            action=actions.TRACK_RECEIVED.name,
            actor_label=_label(device),
            target=recording,
            agency=device.agency,
            details={
                "format": fmt,
                "points": len(fixes),
                "first": fixes[0].t.isoformat() if fixes else None,
                "last": fixes[-1].t.isoformat() if fixes else None,
            },
        )
    return len(fixes)


# --- what the store tells us (SourceHooks of the bodycam source) --------------------------


def _recording_of(item: EvidenceItem) -> Recording | None:
    try:
        recording_id = uuid.UUID(item.source_ref)
    except ValueError:
        recording_id = None
    recording = (
        Recording.objects.select_for_update(of=("self",))
        .select_related("device", "officer")
        .filter(pk=recording_id, agency_id=item.agency_id)
        .first()
        if recording_id
        else None
    )
    if recording is None:
        logger.error("bodycam item %s names no recording (%r)", item.pk, item.source_ref)
    return recording


def recording_item_received(item: EvidenceItem) -> None:
    """The last byte of a recording arrived: link its item, complete it, and put the manifest
    in the item's custody and metadata (runs in the transaction that creates the item)."""
    recording = _recording_of(item)
    if recording is None:
        return
    recording.item = item
    recording.status = Recording.Status.COMPLETE
    recording.save(update_fields=["item", "status"])
    device = recording.device
    details = {
        "recording": str(recording.pk),
        "device": str(device.pk),
        "serial": device.serial,
        "make": device.make,
        "model": device.model,
        "firmware": device.firmware,
        "officer": recording.officer.label if recording.officer else None,
        "officer_id": str(recording.officer_id) if recording.officer_id else None,
        "manifest": recording.manifest,
    }
    audit_record(
        action=actions.RECORDING_RECEIVED.name,
        actor_label=_label(device),
        target=item,
        agency=item.agency,
        details=details,
    )
    evidence_services.item_source_details_set(item=item, details={"bodycam": details})
    # Filed into the case of any CAD incident its unit was dispatched to (Axon's auto-tagging).
    cad_recordings_file(recording)


def recording_item_hashed(item: EvidenceItem) -> None:
    """Compare the device's SHA-256 with ours; a mismatch keeps the item and flags the
    recording, loudly (custody row and an error in the log)."""
    recording = _recording_of(item)
    if recording is None or not item.sha256:
        return
    if item.sha256.lower() == recording.device_sha256.lower():
        return
    Recording.objects.filter(pk=recording.pk).update(hash_mismatch=True)
    audit_record(
        action=actions.RECORDING_HASH_MISMATCH.name,
        actor_label="system (body camera offload)",
        target=item,
        agency=item.agency,
        details={
            "recording": str(recording.pk),
            "device": str(recording.device_id),
            "serial": recording.device.serial,
            "device_sha256": recording.device_sha256,
            "sha256": item.sha256,
        },
    )
    logger.error(
        "body camera %s: recording %s arrived with SHA-256 %s, the device said %s; item %s kept "
        "and the recording flagged",
        recording.device.serial,
        recording.pk,
        item.sha256,
        recording.device_sha256,
        item.pk,
    )
