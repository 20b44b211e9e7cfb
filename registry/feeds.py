"""Live feeds, the owner's side: the linked RTSP stream (sealed), its test, the live policy,
the pause, and "ask me each time" requests answered through an emailed link.

Writes are services here (audited in the same transaction); the decision of whether an agency
may watch now lives in livefeeds/cctv.py, which reads these rows. Network work (the test's
probe and still) runs outside any transaction.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import socket
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation

from notifications.services import language_of
from portal import emails, media, ratelimit
from portal.audit import audit_record
from portal.models import Agency, User
from portal.redis_fallback import client as redis_client
from portal.sealing import secret_seal, secret_unseal
from portal.tokens import token_digest, token_issue
from registry import audit_actions as actions
from registry import selectors
from registry.models import Camera, CameraFeed, FeedTest, LiveAsk, LiveMode

logger = logging.getLogger(__name__)

_SEAL_INFO = b"canvass registry camera feed"
ALLOW_MINUTES = (15, 30, 60)
ASK_LINK_MINUTES = 30
STILL_SECONDS = 600
PROBE_TIMEOUT = 10.0
STILL_TIMEOUT = 15.0
_H264 = "h264"


@dataclass(frozen=True)
class FeedSource:
    """A feed's RTSP address (no credentials in it) and its credentials, unsealed."""

    address: str
    username: str
    password: str

    @property
    def url(self) -> str:
        """The address with the credentials in it, as ffmpeg takes them."""
        if not self.username:
            return self.address
        parts = urlsplit(self.address)
        auth = quote(self.username, safe="") + ":" + quote(self.password, safe="")
        return urlunsplit(parts._replace(netloc=f"{auth}@{parts.netloc}"))


# --- the stream address ----------------------------------------------------------------------


def _resolve(host: str) -> list[str]:
    """Every address the host name resolves to now (the system's resolver; tests stand in)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _private_allowed(host: str, port: int | None, addresses: list[str]) -> bool:
    """Whether these private addresses may be used anyway: RELAYMGR_ALLOW_PRIVATE_SOURCES (the
    tests, or a deployment inside the cameras' network), or `make run`'s demo camera, exactly
    RELAY_DEMO_CAMERA's host and port, on loopback only (the settings refuse RELAY_DEMO_CAMERA
    with HTTPS on, i.e. in production)."""
    if getattr(settings, "RELAYMGR_ALLOW_PRIVATE_SOURCES", False):
        return True
    demo = getattr(settings, "RELAY_DEMO_CAMERA", "")
    if not demo:
        return False
    parts = urlsplit(demo)
    return (
        parts.hostname == host
        and (parts.port or 554) == (port or 554)
        and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)
    )


def _checked_addresses(host: str, port: int | None = None) -> tuple[list[str], str]:
    """(the host's addresses, "") or ([], why the relay may not connect to it). Loopback,
    private, link-local, multicast and reserved networks are the server's own neighbourhood,
    not a resident's camera, unless the settings allow them; one such address among several
    refuses the host (a name that resolves both ways is a rebinding attempt)."""
    try:
        addresses = _resolve(host)
    except (OSError, UnicodeError):
        return [], "That host name cannot be found."
    if not addresses:
        return [], "That host name cannot be found."
    if _private_allowed(host, port, addresses):
        return addresses, ""
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            return [], "The address must be reachable from the internet, not a private network."
    return addresses, ""


def _refused_host(host: str, port: int | None = None) -> str:
    """Why the relay may not connect to this host, or ""."""
    return _checked_addresses(host, port)[1]


def relay_pinned(url: str) -> tuple[str | None, str]:
    """The stream URL with its host replaced by the address checked just now, or None and why.

    Checked at every relay start, not only when the owner saved the address: the name may
    resolve elsewhere since (DNS rebinding), and ffmpeg would resolve it again itself. ffmpeg
    is handed the checked address, so what it connects to is what was checked.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    addresses, why = _checked_addresses(host, parts.port)
    if why:
        return None, why
    # IPv4 first: what a camera on a home router answers on.
    address = sorted(addresses, key=lambda a: ":" in a)[0]
    netloc_host = f"[{address}]" if ":" in address else address
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = netloc_host + (f":{parts.port}" if parts.port else "")
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit(parts._replace(netloc=netloc)), ""


def address_parse(raw: str) -> tuple[str, str, str]:
    """(address without credentials, user, password) from what the owner typed."""
    raw = raw.strip()
    parts = urlsplit(raw)
    if parts.scheme.lower() != "rtsp" or not parts.hostname:
        raise ValidationError("Enter the camera's stream address, beginning rtsp://")
    if len(raw) > 500 or any(c.isspace() for c in raw):
        raise ValidationError("That stream address is not valid.")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValidationError("The port in that address is not valid.") from None
    why = _refused_host(parts.hostname, parts.port)
    if why:
        raise ValidationError(why)
    return media.rtsp_redacted(raw), unquote(parts.username or ""), unquote(parts.password or "")


def _seal(camera: Camera, source: FeedSource) -> str:
    blob = json.dumps([source.address, source.username, source.password])
    return secret_seal(blob, info=_SEAL_INFO, context=str(camera.pk))


def feed_source(feed: CameraFeed) -> FeedSource | None:
    """The feed's address and credentials, or None if no stream is linked."""
    if not feed.source_sealed:
        return None
    address, username, password = json.loads(
        secret_unseal(feed.source_sealed, info=_SEAL_INFO, context=str(feed.camera_id))
    )
    return FeedSource(address, username, password)


def feed_of(camera: Camera) -> CameraFeed:
    """The camera's feed row as the database has it now (never a cached relation: a pause
    must count on the very next call), with the camera fresh too; unsaved, mode "never", if
    the owner set nothing yet."""
    feed = CameraFeed.objects.select_related("camera").filter(camera_id=camera.pk).first()
    return feed if feed is not None else CameraFeed(camera=camera)


def _feed_locked(*, actor: User, camera_id: UUID | str) -> CameraFeed:
    camera = selectors.camera_get_for(actor=actor, id=camera_id, write=True, lock=True)
    feed, _ = CameraFeed.objects.select_for_update().get_or_create(camera=camera)
    return feed


@transaction.atomic
def feed_set(
    *, actor: User, camera_id: UUID | str, address: str, username: str, password: str
) -> CameraFeed:
    """The owner links (or changes) the camera's stream. A blank password keeps the saved one
    when the user name is unchanged; credentials typed into the address are taken from it."""
    clean, url_user, url_password = address_parse(address)
    username = username.strip() or url_user
    password = password or url_password
    feed = _feed_locked(actor=actor, camera_id=camera_id)
    old = feed_source(feed)
    if username and not password and old is not None and old.username == username:
        password = old.password
    if len(username) > 200 or len(password) > 200:
        raise ValidationError("The user name and password may have at most 200 characters.")
    source = FeedSource(clean, username, password)
    feed.source_sealed = _seal(feed.camera, source)
    feed.has_credentials = bool(username)
    if old is None or old.address != clean or old.username != username or old.password != password:
        feed.test_state, feed.test_detail, feed.tested_at = "", "", None
        feed.video_codec = feed.audio_codec = ""
    feed.save()
    audit_record(
        action=actions.FEED_SET.name,
        actor=actor,
        target=feed.camera,
        details={"has_credentials": feed.has_credentials},
    )
    return feed


@transaction.atomic
def feed_remove(*, actor: User, camera_id: UUID | str) -> CameraFeed:
    """The owner unlinks the stream; the policy stays but nothing can be watched."""
    feed = _feed_locked(actor=actor, camera_id=camera_id)
    feed.source_sealed, feed.has_credentials = "", False
    feed.test_state, feed.test_detail, feed.tested_at = "", "", None
    feed.video_codec = feed.audio_codec = ""
    feed.save()
    audit_record(action=actions.FEED_REMOVED.name, actor=actor, target=feed.camera)
    return feed


# --- "Test connection" -------------------------------------------------------------------


def _still_key(camera_id: object) -> str:
    return f"{settings.LIVE_NAMESPACE}registry:still:{camera_id}"


def feed_still(*, actor: User, camera_id: UUID | str) -> bytes | None:
    """The JPEG the owner's last test grabbed (kept 10 minutes, shown to the owner only)."""
    camera = selectors.camera_get_for(actor=actor, id=camera_id, write=True)
    still = redis_client().get(_still_key(camera.pk))
    return still if isinstance(still, bytes) else None


def _codec_message(probe: media.StreamProbe) -> tuple[str, str]:
    if probe.video_codec is None:
        return FeedTest.NOT_H264, "The stream carries no video."
    if probe.video_codec == "hevc":
        return FeedTest.NOT_H264, (
            "The camera sends H.265 (HEVC) video, which live viewing cannot carry: choose the "
            "camera's H.264 substream (in its settings, or its second stream) and test again."
        )
    if probe.video_codec != _H264:
        return FeedTest.NOT_H264, (
            f"The camera sends {probe.video_codec} video; live viewing needs H.264: choose an "
            "H.264 stream in the camera's settings and test again."
        )
    size = f", {probe.width}×{probe.height}" if probe.width and probe.height else ""
    message = f"Connected: H.264 video{size}."
    if probe.audio_converted:
        message += f" Its audio ({probe.audio_codec}, G.711/PCM) is converted to AAC for viewers."
    elif probe.audio_codec:
        message += f" Audio: {probe.audio_codec}."
    return FeedTest.OK, message


def _failure_message(error: media.StreamError, address: str) -> tuple[str, str]:
    if error.kind == "wrong_credentials":
        return FeedTest.WRONG_CREDENTIALS, (
            "The camera refused the user name or password (401 Unauthorized): check them "
            "and save again."
        )
    if error.kind == "unreachable":
        return FeedTest.UNREACHABLE, (
            f"The camera did not answer at {address}: check the address and port, and that "
            f"the camera is on and reachable from the internet. ({error.reason[:120]})"
        )
    return FeedTest.FAILED, f"The stream could not be read: {error.reason[:200]}"


def feed_test(*, actor: User, camera_id: UUID | str) -> CameraFeed:
    """Probe the stream's codecs and grab one still (each under a hard timeout), then record
    the outcome. The still goes to Redis for the owner's page only; it is never evidence."""
    camera = selectors.camera_get_for(actor=actor, id=camera_id, write=True)
    # Each test holds a web thread for up to ~25 s: a few a minute per owner, or one owner
    # could hold every thread (and probe addresses at will).
    limit = ratelimit.hit(
        "feed_test", f"u:{actor.pk}", settings.FEED_TESTS_PER_MINUTE, window_seconds=60
    )
    if not limit.allowed:
        raise ValidationError(
            f"Too many connection tests: try again in {limit.retry_after} seconds."
        )
    feed = feed_of(camera)
    source = feed_source(feed) if feed.pk else None
    if source is None:
        raise ValidationError("Save the camera's stream address first.")
    video = audio = ""
    still = None
    try:
        probe = media.rtsp_probe(source.url, timeout=PROBE_TIMEOUT)
        video, audio = probe.video_codec or "", probe.audio_codec or ""
        state, detail = _codec_message(probe)
        if probe.video_codec:
            with media.scratch_dir() as scratch:
                still = media.rtsp_still(
                    source.url, scratch, timeout=STILL_TIMEOUT
                ).path.read_bytes()
    except media.StreamError as exc:
        state, detail = _failure_message(exc, source.address)
    if still:
        redis_client().set(_still_key(camera.pk), still, ex=STILL_SECONDS)
    else:
        redis_client().delete(_still_key(camera.pk))
    with transaction.atomic():
        feed = _feed_locked(actor=actor, camera_id=camera_id)
        feed.test_state, feed.test_detail = state, detail[:300]
        feed.tested_at = timezone.now()
        feed.video_codec, feed.audio_codec = video[:20], audio[:20]
        feed.save()
        audit_record(
            action=actions.FEED_TESTED.name,
            actor=actor,
            target=camera,
            details={"state": state, "video_codec": video, "audio_codec": audio},
        )
    return feed


# --- the live policy and the pause ---------------------------------------------------------


def policy_agencies(camera: Camera) -> list[Agency]:
    """The agencies an owner may choose for "always": those whose area covers the camera."""
    return list(Agency.objects.filter(pk__in=camera.jurisdiction_ids).order_by("name"))


@transaction.atomic
def live_policy_set(
    *,
    actor: User,
    camera_id: UUID | str,
    mode: str,
    agency_id: int | None = None,
    incident_distance_m: int = 200,
) -> CameraFeed:
    """The owner chooses when agencies may watch live; it applies from the next request."""
    feed = _feed_locked(actor=actor, camera_id=camera_id)
    if mode not in LiveMode.values:
        raise ValidationError("Choose when agencies may watch.")
    if not 10 <= incident_distance_m <= 5000:
        raise ValidationError("The distance must be between 10 and 5000 metres.")
    agency = None
    if mode == LiveMode.ALWAYS:
        agency = next((a for a in policy_agencies(feed.camera) if a.pk == agency_id), None)
        if agency is None:
            raise ValidationError("Choose the agency that may always watch.")
    before = feed.mode
    feed.mode, feed.agency = mode, agency
    feed.incident_distance_m = incident_distance_m
    feed.save()
    audit_record(
        action=actions.LIVE_POLICY_CHANGED.name,
        actor=actor,
        target=feed.camera,
        details={
            "mode": mode,
            "before": before,
            "agency_id": agency.pk if agency else None,
            "incident_distance_m": incident_distance_m,
        },
    )
    return feed


@transaction.atomic
def live_pause(*, actor: User, camera_id: UUID | str, paused: bool = True) -> CameraFeed:
    """Pause (or resume) all live sharing of the camera, whatever the policy, at once."""
    feed = _feed_locked(actor=actor, camera_id=camera_id)
    feed.paused_at = (feed.paused_at or timezone.now()) if paused else None
    feed.save()
    action = actions.LIVE_PAUSED if paused else actions.LIVE_RESUMED
    audit_record(action=action.name, actor=actor, target=feed.camera)
    return feed


# --- "ask me each time" ------------------------------------------------------------------


def live_ask_path(ask: LiveAsk, token: str) -> str:
    """The owner's page; the token rides in the query string, which the access log leaves out."""
    return f"{reverse('cameras:live_ask', args=[ask.pk])}?{urlencode({'t': token})}"


def live_ask_pending(*, camera: Camera, agency: Agency, at: dt.datetime) -> LiveAsk | None:
    return (
        LiveAsk.objects.filter(
            camera=camera, agency=agency, status=LiveAsk.Status.PENDING, expires_at__gt=at
        )
        .order_by("-created_at")
        .first()
    )


def live_ask_allowed(*, camera: Camera, agency: Agency, at: dt.datetime) -> LiveAsk | None:
    """The owner's answer that lets the agency watch at `at`, if there is one."""
    return (
        LiveAsk.objects.filter(
            camera=camera,
            agency=agency,
            status=LiveAsk.Status.ALLOWED,
            decided_at__lte=at,
            allowed_until__gt=at,
        )
        .order_by("-allowed_until")
        .first()
    )


def live_ask_create(
    *, actor: User, camera: Camera, agency: Agency, reason: str, case_number: str = ""
) -> tuple[LiveAsk, bool]:
    """Ask the owner (by email, after commit) to let the agency watch; an unanswered ask of
    the same agency is reused, so a busy page cannot flood the owner. True if a new ask."""
    reason = reason.strip()
    if not reason or len(reason) > 2000:
        raise ValidationError("Say why you need to watch (at most 2000 characters).")
    now = timezone.now()
    with transaction.atomic():
        Camera.objects.select_for_update().filter(pk=camera.pk).first()
        pending = live_ask_pending(camera=camera, agency=agency, at=now)
        if pending is not None:
            return pending, False
        token, digest = token_issue()
        ask = LiveAsk.objects.create(
            camera=camera,
            agency=agency,
            requested_by=actor,
            requested_by_label=actor.get_full_name() or actor.email,
            reason=reason,
            case_number=case_number.strip()[:100],
            token_hash=digest,
            expires_at=now + dt.timedelta(minutes=ASK_LINK_MINUTES),
        )
        audit_record(
            action=actions.LIVE_ASKED.name,
            actor=actor,
            target=ask,
            agency=agency,
            reason=reason,
            case_ref=ask.case_number,
            details={"camera_id": str(camera.pk), "ask_id": str(ask.pk)},
        )
        owner = camera.owner
        to, path = owner.email, live_ask_path(ask, token)
        context = {"ask": ask, "camera": camera, "agency": agency, "minutes": ALLOW_MINUTES}

        def deliver() -> None:
            try:
                with translation.override(language_of(owner)):
                    emails.send_live_ask(to=to, path=path, context=context)
            except OSError as exc:
                logger.warning("live ask %s email failed: %s", ask.pk, type(exc).__name__)

        transaction.on_commit(deliver)
    return ask, True


def live_ask_for_link(*, ask_id: UUID | str, token: str) -> LiveAsk:
    """The ask a link names: 404 for a wrong token or a token of another ask."""
    if not token or len(token) > 200:
        raise Http404("No such link.")
    try:
        return LiveAsk.objects.select_related("camera", "agency").get(
            pk=ask_id, token_hash=token_digest(token), camera__deleted_at__isnull=True
        )
    except (LiveAsk.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No such link.") from exc


@transaction.atomic
def live_ask_answer(*, ask: LiveAsk, minutes: int | None) -> LiveAsk:
    """The owner allows for `minutes` (one of ALLOW_MINUTES), or declines (None)."""
    ask = LiveAsk.objects.select_for_update().select_related("camera", "agency").get(pk=ask.pk)
    now = timezone.now()
    if ask.status != LiveAsk.Status.PENDING:
        raise ValidationError("You have already answered this request.")
    if ask.expires_at <= now:
        raise ValidationError("This request has expired; the agency must ask again.")
    if minutes is not None and minutes not in ALLOW_MINUTES:
        raise ValidationError("Choose how long they may watch.")
    ask.decided_at = now
    if minutes is None:
        ask.status = LiveAsk.Status.DECLINED
        action = actions.LIVE_ASK_DECLINED
    else:
        ask.status = LiveAsk.Status.ALLOWED
        ask.allowed_until = now + dt.timedelta(minutes=minutes)
        action = actions.LIVE_ASK_ALLOWED
    ask.save(update_fields=["status", "decided_at", "allowed_until"])
    audit_record(
        action=action.name,
        actor=ask.camera.owner,
        target=ask,
        agency=ask.agency,
        details={
            "camera_id": str(ask.camera_id),
            "minutes": minutes,
            "allowed_until": ask.allowed_until,
        },
    )
    return ask


def feed_for_relay(camera: Camera) -> tuple[str | None, str]:
    """The stream URL (with credentials) the relay pulls, or None and why not: no stream, the
    owner paused sharing or the camera, or a policy of never."""
    if camera.deleted_at is not None or camera.paused_at is not None:
        return None, "the camera is paused"
    feed = feed_of(camera)
    source = feed_source(feed) if feed.pk else None
    if source is None:
        return None, "no stream is linked"
    if feed.paused_at is not None:
        return None, "the owner paused live sharing"
    if feed.mode == LiveMode.NEVER:
        return None, "the owner does not share live"
    return source.url, ""
