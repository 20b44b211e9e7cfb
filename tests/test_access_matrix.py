"""The access matrix: every route whose URL carries an object id, asked by everyone who must
not get the object.

The routes come from Django's URL resolver, so a new route with an id joins by itself and
fails `test_route_has_a_builder` until someone registers a builder for it below (one call to
`joins`, keyed by the namespaced URL name). A builder makes the object(s) for the owner's
agency and returns the URL kwargs; `joins` says what the route is (page, API or admin; who
owns it; which methods read and which write; a minimal POST body).

For every route with a builder:
- the owner gets a real answer (so the object exists: a 404 for everyone would make the
  stranger check pass for nothing);
- a stranger (same role, another agency; another resident for a resident's camera) gets 404
  on every method, and no success audit row names the object while they ask;
- a colleague in the same role reads it too;
- a read-only colleague (same agency, a role that may look but not change; where no role only
  looks, one that may do nothing there) gets 403 on each write;
- anonymous is sent to sign in (pages: 302 to the sign-in page) or refused (API: 403, as DRF's
  session authentication answers: it sends no WWW-Authenticate challenge, so never 401);
- residents and businesses get 403 or 404 on staff routes, staff on a resident's routes.

The Django admin says "no" its own way, and the checks accept exactly that: a missing object
is a 302 to the admin's index, and whoever may not use the admin is sent to its sign-in.

Routes opened by a bearer token instead of a session (a camera owner's emailed footage link,
its API, a tus upload under its grant) join with `joins_with_token`, and for each:
- the right token gets a real answer (so the link exists and works);
- a good token of ANOTHER link (another request, another owner of the same request, another
  agency, another grant, another user's staff grant) gets 404 on every method, and nothing
  succeeds (no success audit row) while it is tried;
- no token, or a wrong one, gets 404, even from the agency's own signed-in investigator (the
  device API, whose token is a body camera's credential, answers 401 with its challenge).

The counts (December 2026; update them with the tables): 159 routes take a value from their
URL; 125 join with a session, 15 with a token (16 token builders: a tus upload under a secret
grant and under a staff grant), and 19 are exempt, each with its reason, in EXEMPT below.
"""

import dataclasses
import datetime as dt
import hashlib
import importlib
import inspect
import itertools
import json
import pkgutil
import re
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.files.base import ContentFile
from django.shortcuts import resolve_url
from django.test import Client, TestCase
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from devices.models import Device, DeviceCommand, DeviceCredential
from evidence import services as evidence_services
from evidence.models import CaseMember, Derivative, RetentionCategory, Share, UploadGrant
from notifications.kinds import Kind
from notifications.models import Notification
from portal import storage
from portal.models import Agency, AuditEvent, User
from portal.redis_fallback import client as redis_client
from portal.roles import PUBLIC_ROLES, AgencyKind, Role
from registry import feeds
from registry.footage.api import TOKEN_HEADER as FOOTAGE_TOKEN_HEADER
from review import services as review_services
from tests.conftest import client_for
from tests.devices.factories import DeviceFactory, credential_for
from tests.devices.helpers import Camera, manifest
from tests.evidence.cases_helpers import make_case, make_share, verified
from tests.evidence.intake.tus.helpers import b64, tus_headers, upload_url
from tests.evidence.intake.tus.helpers import create as tus_create
from tests.evidence.intake.tus.helpers import patch as tus_patch
from tests.factories import (
    AgencyFactory,
    PublicUserFactory,
    UserFactory,
    add_totp_device,
    stored_item,
)
from tests.registry.cameras import INCIDENT, camera_data, register
from tests.registry.requests_helpers import (
    ask,
    camera_facing_incident,
    links_in_outbox,
    search,
    token_of,
)
from tests.review.helpers import this_month
from transparency.models import Goal

PAGE, API, ADMIN = "page", "api", "admin"


# --- the routes -------------------------------------------------------------------------------


def _walk(resolver, namespace=None, prefix="", groups=0):
    for pattern in resolver.url_patterns:
        # Any group in the pattern or in an include's prefix (path converters and regex groups
        # alike) takes a value from the URL.
        found = groups + pattern.pattern.regex.groups
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern, inner, prefix + str(pattern.pattern), found)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            if pattern.name:
                key = f"{namespace}:{pattern.name}" if namespace else pattern.name
            else:  # unnamed: keyed by its pattern, so it can still be named in the tables
                key = f"{namespace or ''}:<{route}>"
            if found:
                yield key, route


def routes_with_ids() -> dict[str, str]:
    """Namespaced URL name -> the full pattern, for every route that takes a value from its URL."""
    return dict(_walk(get_resolver()))


# --- what each route is -----------------------------------------------------------------------


@dataclasses.dataclass
class Built:
    """What a builder made: the URL kwargs and the ids an audit row would name."""

    kwargs: dict
    targets: list
    objects: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Route:
    build: Callable
    kind: str = PAGE
    role: str = Role.INVESTIGATOR  # the owner's (and the stranger's) role
    read_only_role: str | None = Role.DISPATCHER  # None: no role of that agency reads only
    agency_kind: str = AgencyKind.POLICE
    reads: tuple = ("GET",)
    writes: tuple = ()
    body: dict | Callable = dataclasses.field(default_factory=dict)  # for POST/PUT; may use Built
    owner_status: int | None = None  # a route no agency user may use: what the owner gets

    @property
    def public(self) -> bool:
        """Owned by a resident or business (their cameras), not by an agency."""
        return self.role in PUBLIC_ROLES


BUILDERS: dict[str, Route] = {}


def joins(name: str, build: Callable, **spec) -> None:
    assert name not in BUILDERS, f"{name} joins the matrix twice"
    BUILDERS[name] = Route(build=build, **spec)


# Routes that take a value from the URL but address no object of an agency. Each names its
# reason and the tests that cover it. Keep this small: an agency's object addressed by id belongs
# in BUILDERS, one reached through a bearer token in TOKEN_BUILDERS.
EXEMPT = {
    # Django's password reset names a user, not an agency's object, and does not fit the token
    # checks: the token is a path value itself, a wrong one gets Django's 200 "invalid link"
    # page (not 404), and a good one is swapped for a session key at once (a 302 to the
    # token-free `set-password` URL, which is where the POST goes). Its own checks:
    # test_a_password_link_opens_only_for_its_own_user below; tests/portal/test_lockout.py.
    "portal:password_reset_confirm": "Django's password reset; test_a_password_link_opens_...",
    # Public by design: the value names no agency's object.
    "submissions:pwa_icon": "an icon size; tests/submissions/test_pwa.py",
    "submissions:tip_form": "an agency's public tip form; tests/submissions/test_public_pages.py",
    "tips_api:categories": "an agency's public tip categories; tests/submissions/test_api.py",
    "receipts:keys": "an agency's published receipt keys; tests/evidence/test_receipt.py",
    "receipts:public_key": "a published public key; tests/evidence/test_receipt.py",
    # An agency's signed audit checkpoints: public by design (a sequence number, a hash and a
    # time, the same for every agency); tests/portal/test_audit_checkpoints.py.
    "checkpoints:list": "an agency's published audit checkpoints",
    "checkpoints:latest": "an agency's newest published audit checkpoint",
    "checkpoints:download": "a published audit checkpoint, looked up within its agency",
    # An agency's published transparency page, log and downloads: public by design, generated
    # from recorded facts under the small-count rule; tests/transparency/.
    "transparency:agency": "an agency's public transparency page; tests/transparency/",
    "transparency:footage_log": "an agency's public footage-request log; tests/transparency/",
    "transparency:data": "an agency's public open data; tests/transparency/test_figures.py",
    "admin:app_list": "an app label, not an object; who gets in: tests/portal/test_admin.py",
    # Django admin's own redirects: they load nothing, they send to the named change URLs above.
    "admin:<admin/auth/group/<path:object_id>/>": "redirect to admin:auth_group_change",
    "admin:<admin/otp_totp/totpdevice/<path:object_id>/>": "redirect to ...totpdevice_change",
    "admin:<admin/portal/agency/<path:object_id>/>": "redirect to admin:portal_agency_change",
    "admin:<admin/portal/user/<path:object_id>/>": "redirect to admin:portal_user_change",
    "admin:<admin/(?P<url>.*)$>": "admin's catch-all 404 for unknown admin URLs",
}


# --- builders: evidence -----------------------------------------------------------------------


def _media(item, name="poster.jpg", kind=Derivative.Kind.POSTER) -> Derivative:
    content = b"\xff\xd8\xff poster bytes"
    key = storage.new_object_key(f"evidence/{item.agency.slug}/derivatives")
    storage.save_once(key, ContentFile(content))
    return Derivative.objects.create(
        item=item,
        kind=kind,
        name=name,
        key=key,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        media_type="image/jpeg",
    )


def item(p) -> Built:
    """An evidence item of the owner's agency (with a poster image)."""
    it = stored_item(agency=p.agency)
    poster = _media(it)
    return Built({"item_id": it.pk}, [it.pk], {"item": it, "poster": poster})


def item_media(p) -> Built:
    built = item(p)
    built.kwargs["name"] = built.objects["poster"].name
    return built


def redaction_job(p) -> Built:
    """A face-redaction job the owner asked for on an item (queued; no worker runs it)."""
    from evidence.models import Redaction

    built = item(p)
    job = Redaction.objects.create(item=built.objects["item"], fill="solid", requested_by=p.owner)
    return Built(
        {"item_id": built.kwargs["item_id"], "redaction_id": job.pk}, [job.pk, *built.targets]
    )


def redaction_in_review(p) -> Built:
    """A face-redaction job whose analysis is done: its draft waits for a reviewer."""
    from evidence.models import Redaction

    built = item(p)
    draft = {
        "recipe_version": 2,
        "params": {"fill": "solid", "mask_scale": 1.3, "dilate_frames": 3},
        "source": {"kind": "image", "width": 64, "height": 48, "fps": None, "frames": 1},
        "detections": {},
        "manual_boxes": [],
        "suppressed": [],
        "mute_ranges": [],
    }
    job = Redaction.objects.create(
        item=built.objects["item"], fill="solid", requested_by=p.owner,
        state=Redaction.State.REVIEW, draft=draft,
    )  # fmt: skip
    return Built(
        {"item_id": built.kwargs["item_id"], "redaction_id": job.pk}, [job.pk, *built.targets]
    )


def deletion_request(p) -> Built:
    """An item whose deletion a second supervisor asked for (the owner decides)."""
    from evidence import services

    built = item(p)
    asker = verified(UserFactory(role=Role.SUPERVISOR, agency=p.agency))
    request = services.deletion_request(actor=asker, item=built.objects["item"], reason="Dup")
    return Built({"request_id": request.pk}, [request.pk, *built.targets])


def case(p) -> Built:
    """A case the owner leads, with an item; the colleague and the read-only one work it."""
    it = stored_item(agency=p.agency)
    c = make_case(lead=p.owner, items=[it])
    for member in (p.colleague, p.read_only):
        if member is not None:
            CaseMember.objects.create(case=c, user=member, added_by_label="test")
    spare = stored_item(agency=p.agency, content=b"another original")
    spare_user = UserFactory(role=Role.INVESTIGATOR, agency=p.agency)
    return Built(
        {"case_id": c.pk},
        [c.pk, it.pk],
        {"case": c, "item": it, "spare": spare, "spare_user": spare_user},
    )


def case_member(p) -> Built:
    built = case(p)
    built.kwargs["user_id"] = p.colleague.pk
    return built


def case_item(p) -> Built:
    built = case(p)
    built.kwargs["item_id"] = built.objects["item"].pk
    return built


def _office(name="Matrix DA") -> Agency:
    return AgencyFactory(
        name=name, slug=name.lower().replace(" ", "-"), kind=AgencyKind.PROSECUTION
    )


def case_share(p) -> Built:
    """A share of the owner's case with a prosecuting office."""
    built = case(p)
    share = make_share(case=built.objects["case"], by=p.owner, office=_office())
    built.kwargs["share_id"] = share.pk
    built.targets.append(share.pk)
    return built


def share_only(p) -> Built:
    built = case_share(p)
    return Built({"share_id": built.kwargs["share_id"]}, built.targets, built.objects)


def received_share(p) -> Built:
    """A share a police case made to the owner's prosecuting office (downloads allowed), with
    an item that has a poster."""
    lead = UserFactory(role=Role.INVESTIGATOR, agency=p.police)
    it = stored_item(agency=p.police)
    poster = _media(it)
    c = make_case(lead=lead, items=[it])
    share = make_share(case=c, by=lead, office=p.agency, level=Share.Level.DOWNLOAD)
    Share.objects.filter(pk=share.pk).update(
        acknowledged_at=timezone.now(), acknowledged_by=p.owner
    )
    return Built({"share_id": share.pk}, [share.pk, c.pk, it.pk], {"item": it, "poster": poster})


def acknowledged_share(p) -> Built:
    """A received share whose receipt the owner acknowledged (through the page's button)."""
    built = received_share(p)
    url = reverse("evidence:shared_acknowledge", kwargs=built.kwargs)
    assert client_for(p.owner).post(url).status_code == 302
    return built


def received_share_item(p) -> Built:
    built = received_share(p)
    built.kwargs["item_id"] = built.objects["item"].pk
    return built


def received_share_media(p) -> Built:
    built = received_share_item(p)
    built.kwargs["name"] = built.objects["poster"].name
    return built


def _retention_body(built) -> dict:
    category = RetentionCategory.objects.create(
        agency=built.objects["item"].agency, name="Homicide", days=36500
    )
    return {"category": category.pk}


REASON = {"on": "on", "reason": "Matrix check"}

joins("evidence:detail", item)
joins("evidence:custody_report", item)
joins("evidence:custody_proof", item)
joins("evidence:media", item_media)
joins("evidence:download_issue", item, reads=("POST",))
joins(
    "evidence:metadata",
    item,
    reads=(),
    writes=("POST",),
    body={"lat": "40.75", "lon": "-73.95", "reason": "Matrix check"},
)
joins("evidence:item_redact", item, reads=(), writes=("POST",), body={"fill": "solid"})
joins("evidence:redaction", redaction_job)
joins("evidence:redaction_cancel", redaction_job, reads=(), writes=("POST",))
joins("evidence:redaction_draft", redaction_in_review, reads=(), writes=("POST",))
joins("evidence:redaction_track", redaction_in_review, reads=(), writes=("POST",))
joins("evidence:redaction_approve", redaction_in_review, reads=(), writes=("POST",))
joins("evidence:item_disclosure", item, reads=(), writes=("POST",), body=REASON)
joins("evidence:item_retention", item, reads=(), writes=("POST",), body=_retention_body)
joins(
    "evidence:item_legal_hold",
    item,
    role=Role.SUPERVISOR,
    read_only_role=Role.INVESTIGATOR,
    reads=(),
    writes=("POST",),
    body=REASON,
)
joins(
    "evidence:item_delete",
    item,
    role=Role.SUPERVISOR,
    read_only_role=Role.INVESTIGATOR,
    reads=(),
    writes=("POST",),
    body={"reason": "Matrix check"},
)
joins(
    "evidence:deletion_decide",
    deletion_request,
    role=Role.SUPERVISOR,
    read_only_role=Role.INVESTIGATOR,
    reads=(),
    writes=("POST",),
    body={"decision": "refuse", "reason": "Matrix check"},
)
joins("evidence:case_detail", case)
joins("evidence:case_edit", case, writes=("POST",), body={})
joins("evidence:case_package", case)
joins(
    "evidence:case_member_add",
    case,
    reads=(),
    writes=("POST",),
    body=lambda b: {"user": b.objects["spare_user"].pk},
)
joins("evidence:case_member_remove", case_member, reads=(), writes=("POST",))
joins(
    "evidence:case_item_add",
    case,
    reads=(),
    writes=("POST",),
    body=lambda b: {"item": str(b.objects["spare"].pk)},
)
joins("evidence:case_item_remove", case_item, reads=(), writes=("POST",))
joins(
    "evidence:case_item_clock",
    case_item,
    reads=(),
    writes=("POST",),
    body={"seconds": "2", "reason": "Matrix check"},
)
joins("evidence:case_playback", case)
joins("evidence:case_item_custody", case_item)
joins("evidence:case_activity", case)
joins("evidence:share_create", case, writes=("POST",), body={})
joins("evidence:share_revoke", case_share, reads=(), writes=("POST",))
joins("api-evidence-detail", item, kind=API)
joins("api-evidence-custody", item, kind=API)
joins("api-evidence-custody-proof", item, kind=API)
joins("api-evidence-download-url", item, kind=API, reads=("POST",))
joins("api-case-detail", case, kind=API)
joins("api-case-shares", case, kind=API, writes=("POST",), body={})
joins("api-share-revoke", share_only, kind=API, reads=(), writes=("POST",))

# Shares, seen by the prosecuting office they were made to. Every prosecutor of the office may
# do all of it (acknowledge, download, make a link); no role there reads without that, so the
# "read-only" colleague is one who may do none of it.
PROSECUTOR = {
    "role": Role.PROSECUTOR,
    "read_only_role": Role.AUDITOR,  # the office's auditor: reads the audit log, not the shares
    "agency_kind": AgencyKind.PROSECUTION,
}
joins("evidence:shared_case", received_share, **PROSECUTOR)
joins("evidence:shared_package", received_share, **PROSECUTOR)
joins("evidence:shared_receipt", acknowledged_share, **PROSECUTOR)
joins("evidence:shared_acknowledge", received_share, reads=(), writes=("POST",), **PROSECUTOR)
joins("evidence:shared_link", received_share, reads=(), writes=("POST",), **PROSECUTOR)
joins("evidence:shared_item", received_share_item, **PROSECUTOR)
joins("evidence:shared_item_download", received_share_item, reads=("POST",), **PROSECUTOR)
joins("evidence:shared_media", received_share_media, **PROSECUTOR)
joins("api-shared-case", received_share, kind=API, **PROSECUTOR)


# --- builders: registry -----------------------------------------------------------------------


def camera_search(p) -> Built:
    """A camera search the owner ran (a resident's camera faces the incident)."""
    camera = camera_facing_incident(PublicUserFactory())
    found = search(verified(p.owner))
    return Built({"search_id": found.pk}, [found.pk], {"search": found, "camera": camera})


def footage_request(p) -> Built:
    """A footage request the owner sent to the owner of one camera."""
    built = camera_search(p)
    request = ask(verified(p.owner), built.objects["search"], [built.objects["camera"]])
    recipient = request.recipients.get()
    return Built({"request_id": request.pk}, [request.pk], {"recipient": recipient})


def footage_recipient(p) -> Built:
    built = footage_request(p)
    built.kwargs["recipient_id"] = built.objects["recipient"].pk
    return built


def camera(p) -> Built:
    """A camera the owner (a resident) registered."""
    cam = register(p.owner, *INCIDENT)
    return Built({"camera_id": cam.pk}, [cam.pk], {"camera": cam})


joins("registry:search_results", camera_search)
joins("api-registry-search-detail", camera_search, kind=API)
joins("registry_requests:detail", footage_request)
joins("registry_requests:approve", footage_request, reads=(), writes=("POST",))
joins("registry_requests:refuse", footage_request, reads=(), writes=("POST",), body={"reason": "x"})
joins("registry_requests:resend", footage_recipient, reads=(), writes=("POST",))
joins("api-footage-request", footage_request, kind=API)
joins("api-footage-request-approve", footage_request, kind=API, reads=(), writes=("POST",))
joins(
    "api-footage-request-refuse",
    footage_request,
    kind=API,
    reads=(),
    writes=("POST",),
    body={"reason": "Matrix check"},
)

# A resident's own cameras: the stranger is another resident; no one reads them without
# being their owner.
RESIDENT = {"role": Role.RESIDENT, "read_only_role": None}
joins("cameras:edit", camera, writes=("POST",), body={}, **RESIDENT)
joins("cameras:pause", camera, reads=(), writes=("POST",), **RESIDENT)
joins("cameras:resume", camera, reads=(), writes=("POST",), **RESIDENT)
joins("cameras:delete", camera, reads=(), writes=("POST",), **RESIDENT)
joins("camera_history:camera", camera, **RESIDENT)


def owner_request(p) -> Built:
    """A footage request an agency sent to the owner (a resident) for their camera; the
    stranger, another resident, was not asked."""
    officer = UserFactory(agency=AgencyFactory(kind=AgencyKind.POLICE))
    add_totp_device(officer)
    cam = camera_facing_incident(p.owner)
    request = ask(verified(officer), search(verified(officer)), [cam])
    rc = request.cameras.get()
    return Built({"request_id": request.pk}, [request.pk], {"rc": rc})


def owner_request_camera(p) -> Built:
    built = owner_request(p)
    built.kwargs["rc_id"] = built.objects["rc"].pk
    return built


def _account_answer(built) -> dict:
    return {"camera": built.objects["rc"].pk, "answer": "no_footage"}


# The signed-in owner's Requests pages: the same answers as the emailed link, by session.
joins("cameras:request", owner_request, **RESIDENT)
joins(
    "cameras:request_answer",
    owner_request,
    reads=(),
    writes=("POST",),
    body=_account_answer,
    **RESIDENT,
)
joins("cameras:request_upload", owner_request_camera, **RESIDENT)
joins("cameras:request_grant", owner_request_camera, reads=(), writes=("POST",), **RESIDENT)
joins("cameras:request_receipt", owner_request, **RESIDENT)


def camera_with_still(p) -> Built:
    """A camera whose owner's last "Test connection" left a still frame to look at."""
    built = camera(p)
    redis_client().set(feeds._still_key(built.objects["camera"].pk), b"\xff\xd8\xff", ex=60)
    return built


joins("cameras:live", camera, writes=("POST",), body={}, **RESIDENT)
joins("cameras:live_test", camera, reads=(), writes=("POST",), **RESIDENT)
joins("cameras:live_still", camera_with_still, **RESIDENT)
joins("cameras:live_policy", camera, reads=(), writes=("POST",), body={}, **RESIDENT)
joins("cameras:live_pause", camera, reads=(), writes=("POST",), **RESIDENT)
joins("cameras:live_resume", camera, reads=(), writes=("POST",), **RESIDENT)
joins(
    "api-registry-camera",
    camera,
    kind=API,
    writes=("PUT", "DELETE"),
    body=camera_data(*INCIDENT, name="Renamed"),
    **RESIDENT,
)
joins("api-registry-camera-pause", camera, kind=API, reads=(), writes=("POST",), **RESIDENT)
joins("api-registry-camera-resume", camera, kind=API, reads=(), writes=("POST",), **RESIDENT)


# --- builders: submissions --------------------------------------------------------------------


def tip(p) -> Built:
    """A tip sent to the owner's agency."""
    from submissions import services
    from submissions.demo import seed_categories
    from submissions.models import TipCategory

    seed_categories(p.agency)
    created = services.tip_create(
        agency=p.agency,
        category=TipCategory.objects.filter(agency=p.agency).first(),
        description="Someone is selling stolen bikes behind the station.",
        occurred_at=timezone.now() - dt.timedelta(hours=1),
    ).tip
    return Built(
        {"reference": created.reference},
        [created.reference, created.pk],
        {"assignee": p.colleague},
    )


TIP_WRITE = {"reads": (), "writes": ("POST",)}
joins("submissions_staff:tip", tip)
joins("submissions_staff:transition", tip, body={"to": "in_review"}, **TIP_WRITE)
joins(
    "submissions_staff:assign",
    tip,
    body=lambda b: {"assignee": b.objects["assignee"].pk},
    **TIP_WRITE,
)
joins("submissions_staff:details", tip, body={"priority": 3}, **TIP_WRITE)
joins("submissions_staff:note", tip, body={"body": "Matrix check"}, **TIP_WRITE)
joins("submissions_staff:question", tip, body={"body": "Which way?"}, **TIP_WRITE)


def question_template(p) -> Built:
    """A question template of the owner's agency (kept by its supervisors)."""
    from submissions.models import QuestionTemplate

    template = QuestionTemplate.objects.create(
        agency=p.agency, title="Plate", body="Did you see the plate?", created_by=p.owner
    )
    return Built({"template_id": template.pk}, [template.pk])


# Supervisors keep the templates; investigators only use them (403 on every write).
TEMPLATE_OWNER = {"role": Role.SUPERVISOR, "read_only_role": Role.INVESTIGATOR}
joins(
    "submissions_staff:template_edit",
    question_template,
    writes=("POST",),
    body={"title": "Plate", "body": "Which plate?"},
    **TEMPLATE_OWNER,
)
joins(
    "submissions_staff:template_delete", question_template, reads=(), writes=("POST",),
    **TEMPLATE_OWNER,
)  # fmt: skip


# --- builders: devices ------------------------------------------------------------------------


def bwc_device(p) -> Built:
    """A body camera of the owner's agency, with a trained officer ready to take it out."""
    from tests.devices.factories import DeviceFactory, officer_of

    device = DeviceFactory(agency=p.agency)
    return Built({"device_id": device.pk}, [device.pk], {"officer": officer_of(p.agency)})


def bwc_device_out(p) -> Built:
    """The same, checked out to the officer."""
    from tests.devices.factories import assigned

    built = bwc_device(p)
    assigned(Device.objects.get(pk=built.kwargs["device_id"]), built.objects["officer"])
    return built


def bwc_device_with_credential(p) -> Built:
    from tests.devices.factories import credential_for

    built = bwc_device(p)
    credential_for(Device.objects.get(pk=built.kwargs["device_id"]), by=p.owner)
    return built


def bwc_officer(p) -> Built:
    """A patrol officer of the owner's agency, with current training."""
    from tests.devices.factories import officer_of

    officer = officer_of(p.agency)
    return Built({"officer_id": officer.pk}, [officer.pk], {"officer": officer})


# Supervisors manage the inventory; dispatchers see it and change nothing.
DEVICES = {"role": Role.SUPERVISOR, "read_only_role": Role.DISPATCHER}
DEVICE_WRITE = {"reads": (), "writes": ("POST",), **DEVICES}
joins("devices:detail", bwc_device, **DEVICES)
joins("devices:edit", bwc_device, body={"status": "in_repair"}, **DEVICE_WRITE)
joins(
    "devices:check_out",
    bwc_device,
    body=lambda b: {"officer": b.objects["officer"].pk},
    **DEVICE_WRITE,
)
joins("devices:check_in", bwc_device_out, **DEVICE_WRITE)
joins("devices:credential_issue", bwc_device, **DEVICE_WRITE)
joins("devices:credential_revoke", bwc_device_with_credential, **DEVICE_WRITE)
joins("devices:officer", bwc_officer, **DEVICES)
joins(
    "devices:officer_training",
    bwc_officer,
    body={"course": "BWC", "completed_on": "2026-01-01", "expires_on": "2027-12-31"},
    **DEVICE_WRITE,
)


def bwc_alert(p) -> Built:
    """An open SOS alert of the owner's agency, raised by a camera checked out to an officer."""
    from devices.services.triggers import TriggerIn, trigger_receive
    from tests.devices.factories import assigned, officer_of

    device = DeviceFactory(agency=p.agency)
    assigned(device, officer_of(p.agency))
    trigger = trigger_receive(
        agency=p.agency,
        event=TriggerIn(kind="sos", occurred_at=timezone.now()),
        device=device,
    )
    return Built({"alert_id": trigger.alert.pk}, [trigger.alert.pk, trigger.pk])


def trigger_source(p) -> Built:
    """A trigger source of the owner's agency (its secret was shown once, to the owner)."""
    from devices.services.triggers import trigger_source_add

    source, _ = trigger_source_add(actor=verified(p.owner), name="Matrix TASER hub")
    return Built({"source_id": source.pk}, [source.pk])


# Supervisors, dispatchers and agency admins operate (close alerts); investigators may not.
joins(
    "devices:alert_close",
    bwc_alert,
    role=Role.SUPERVISOR,
    read_only_role=Role.INVESTIGATOR,
    reads=(),
    writes=("POST",),
    body={"state": "resolved", "reason": "Matrix check"},
)
joins("devices:trigger_source_rotate", trigger_source, **DEVICE_WRITE)
joins("devices:trigger_source_revoke", trigger_source, **DEVICE_WRITE)


# --- builders: community review ---------------------------------------------------------------


def review_sample(p) -> Built:
    """This month's review sample of the owner's agency (a reviewer's), drawn over one search."""
    search(verified(UserFactory(role=Role.INVESTIGATOR, agency=p.agency)))
    sample = review_services.review_sample_create(agency=p.agency, month=this_month(p.agency))
    item = sample.items.get()
    return Built({"sample_id": sample.pk}, [sample.pk], {"item": item})


def review_item(p) -> Built:
    built = review_sample(p)
    item = built.objects["item"]
    return Built({"item_id": item.pk}, [item.pk])


def review_recording_redacted(p) -> Built:
    """This month's sample over one body-camera recording whose item has an approved
    solid-fill redacted copy (made by the real redaction job)."""
    from devices.models import Recording
    from tests.evidence.redaction.released import photo_item, redacted
    from tests.review.helpers import make_facts

    _searches, (recording,) = make_facts(p.agency, searches=0, recordings=1)
    item = photo_item(p.agency)
    Recording.objects.filter(pk=recording.recording.pk).update(item=item)
    boss = verified(UserFactory(role=Role.SUPERVISOR, agency=p.agency))
    redacted(item, by=boss, approved_by=boss)
    sample = review_services.review_sample_create(agency=p.agency, month=this_month(p.agency))
    sampled = sample.items.get(kind="bodycam_recording")
    return Built({"item_id": sampled.pk}, [sampled.pk, item.pk])


# The panel's reviewers review; the agency's admin oversees the sample (and may not record).
REVIEWER = {"role": Role.COMMUNITY_REVIEWER, "read_only_role": Role.AGENCY_ADMIN}
joins("review:sample", review_sample, **REVIEWER)
joins(
    "review:item",
    review_item,
    writes=("POST",),
    body={"outcome": "within_policy", "text": "Matrix check"},
    **REVIEWER,
)
joins("review:item_redacted", review_recording_redacted, **REVIEWER)


# --- builders: live feeds ---------------------------------------------------------------------


def live_device(p) -> Built:
    """A body camera of the owner's agency, recording now: it may be watched live."""
    device = DeviceFactory(agency=p.agency)
    Device.objects.filter(pk=device.pk).update(
        state=Device.State.RECORDING, last_heartbeat_at=timezone.now()
    )
    return Built({"device_id": device.pk}, [device.pk])


def live_view(p) -> Built:
    """The owner's open live view of that camera."""
    from livefeeds.services import view_start

    built = live_device(p)
    device = Device.objects.get(pk=built.kwargs["device_id"])
    session, _ = view_start(
        actor=verified(p.owner), device=device, reason="Matrix check", case_ref="M-1"
    )
    return Built({"view_id": session.pk}, [session.pk, device.pk])


# Supervisors watch and revoke (dispatchers watch too); investigators have no part in it.
LIVE = {"role": Role.SUPERVISOR, "read_only_role": Role.INVESTIGATOR}
joins(
    "livefeeds:watch",
    live_device,
    writes=("POST",),
    body={"reason": "Matrix check", "case_ref": "M-1", "reason_category": "incident"},
    **LIVE,
)
joins("livefeeds:view", live_view, **LIVE)
joins("livefeeds:view_status", live_view, **LIVE)
joins("livefeeds:view_renew", live_view, reads=(), writes=("POST",), **LIVE)
joins("livefeeds:view_end", live_view, reads=(), writes=("POST",), **LIVE)
joins(
    "livefeeds:view_revoke",
    live_view,
    reads=(),
    writes=("POST",),
    body={"reason": "Matrix check"},
    **LIVE,
)
# Clips from the viewer page: the view's viewer saves (no case M-1 here: refused as invalid).
joins(
    "livefeeds:clip_save",
    live_view,
    reads=(),
    writes=("POST",),
    body={"case_number": "M-1", "seconds": "30"},
    **LIVE,
)
joins("livefeeds:clip_status", live_view, **LIVE)


# --- builders: the goals dashboard ---------------------------------------------------------


def goal(p) -> Built:
    """A goal of the owner's agency (a supervisor's), stored as the service leaves it."""
    from tests.transparency.goal_facts import make_goal

    made = make_goal(p.agency, p.owner, title="Matrix goal")
    return Built({"goal_id": made.pk}, [made.pk])


def _goal_body(built) -> dict:
    from tests.transparency.goal_facts import goal_form

    return goal_form(Agency.objects.get(pk=Goal.objects.get(pk=built.kwargs["goal_id"]).agency_id))


# Supervisors and agency admins keep the goals; investigators (and officers) see none of them.
GOALS = {"role": Role.SUPERVISOR, "read_only_role": Role.INVESTIGATOR}
joins("goals:detail", goal, **GOALS)
joins("goals:edit", goal, writes=("POST",), body=_goal_body, **GOALS)
joins("goals:retire", goal, reads=(), writes=("POST",), **GOALS)


def live_cctv(p) -> Built:
    """A resident's camera inside the owner's agency only, shared with it always."""
    from registry import feeds
    from registry.models import Camera

    cam = register(PublicUserFactory(), *INCIDENT)
    Camera.objects.filter(pk=cam.pk).update(jurisdiction_ids=[p.agency.pk])
    feeds.feed_set(
        actor=cam.owner,
        camera_id=cam.pk,
        address="rtsp://93.184.216.34:554/stream",
        username="",
        password="",
    )
    feeds.live_policy_set(actor=cam.owner, camera_id=cam.pk, mode="always", agency_id=p.agency.pk)
    return Built({"camera_id": cam.pk}, [cam.pk])


def live_incident(p) -> Built:
    """An open CAD incident of the owner's agency, with a place: its live wall."""
    from django.contrib.gis.geos import Point

    from devices.models import CadIncident

    incident = CadIncident.objects.create(
        agency=p.agency,
        incident_id="M-WALL-1",
        point=Point(INCIDENT[1], INCIDENT[0], srid=4326),
        dispatched_at=timezone.now(),
        received_at=timezone.now(),
    )
    return Built({"incident_id": incident.pk}, [incident.pk])


joins(
    "livefeeds:watch_camera",
    live_cctv,
    writes=("POST",),
    body={"reason": "Matrix check", "case_ref": "M-1", "reason_category": "incident"},
    **LIVE,
)
joins(
    "livefeeds:wall",
    live_incident,
    writes=("POST",),
    body={
        "reason": "Matrix check",
        "case_ref": "M-1",
        "distance_m": 300,
        "reason_category": "incident",
    },
    **LIVE,
)
# The owner's "who looked" page beside the camera's live page (served by livefeeds).
joins("live_owner:who_looked", camera, **RESIDENT)


# --- builders: the admin ----------------------------------------------------------------------


def admin_user(p) -> Built:
    """A staff user of the owner's agency (the owner is its agency admin)."""
    return Built({"object_id": p.colleague.pk}, [p.colleague.pk])


def admin_agency(p) -> Built:
    return Built({"object_id": p.agency.pk}, [p.agency.pk])


def admin_device(p) -> Built:
    device = TOTPDevice.objects.get(user=p.colleague)
    return Built({"object_id": device.pk}, [device.pk], {"device": device})


def admin_device_pk(p) -> Built:
    built = admin_device(p)
    return Built({"pk": built.objects["device"].pk}, built.targets)


def admin_group(p) -> Built:
    group = Group.objects.create(name="Matrix group")
    return Built({"object_id": group.pk}, [group.pk])


def admin_view_on_site(p) -> Built:
    content_type = ContentType.objects.get_for_model(User)
    return Built(
        {"content_type_id": content_type.pk, "object_id": p.colleague.pk}, [p.colleague.pk]
    )


# The owner is the agency's admin; the read-only colleague, its auditor (no admin at all).
ADMIN_OF = {"kind": ADMIN, "role": Role.AGENCY_ADMIN, "read_only_role": Role.AUDITOR}
joins("admin:portal_user_change", admin_user, writes=("POST",), body={}, **ADMIN_OF)
joins("admin:portal_user_history", admin_user, **ADMIN_OF)
# Accounts are never deleted, agencies never changed by agency admins: the owner is refused too.
joins("admin:portal_user_delete", admin_user, writes=("POST",), owner_status=403, **ADMIN_OF)
joins("admin:portal_agency_change", admin_agency, writes=("POST",), body={}, **ADMIN_OF)
joins("admin:portal_agency_history", admin_agency, **ADMIN_OF)
joins("admin:portal_agency_delete", admin_agency, writes=("POST",), owner_status=403, **ADMIN_OF)
# TOTP devices and groups are superusers' business: agency admins hold no model permission.
for _name in ("change", "history", "delete"):
    joins(f"admin:otp_totp_totpdevice_{_name}", admin_device, owner_status=403, **ADMIN_OF)
    joins(f"admin:auth_group_{_name}", admin_group, owner_status=403, **ADMIN_OF)
joins("admin:otp_totp_totpdevice_config", admin_device_pk, owner_status=403, **ADMIN_OF)
joins("admin:otp_totp_totpdevice_qrcode", admin_device_pk, owner_status=403, **ADMIN_OF)
# No model of ours has a public page to send to: the shortcut says 404 to the owner as well.
joins("admin:view_on_site", admin_view_on_site, owner_status=404, **ADMIN_OF)


# --- builders: notifications ------------------------------------------------------------------


def notification(p) -> Built:
    """One of the owner's own notifications: a person's, so even a colleague gets 404."""
    note = Notification.objects.create(
        user=p.owner, kind=Kind.CASE_SHARED, title="A case was shared", url="/"
    )
    return Built({"notification_id": note.pk}, [note.pk], {"notification": note})


# Marking read is the only thing done to one; nobody reads another person's.
joins("notifications:read", notification, reads=(), writes=("POST",), read_only_role=None)


# --- builders: routes opened by a bearer token ------------------------------------------------
#
# These routes are used by someone with no account (a camera owner answering by email, a tus
# client under an upload grant): the value in the path names the object, a token (in `t`, in a
# header) decides who may reach it. For them "the stranger" is someone holding a good token of
# ANOTHER link, and "anonymous" is someone holding none, or a wrong one. Each joins with
# `joins_with_token`, saying how the token travels (`carry`) and which methods read and write.


@dataclasses.dataclass(frozen=True)
class Held:
    """A token that works only in its holder's session (a staff upload grant)."""

    token: str
    by: User


@dataclasses.dataclass
class Link:
    """What a token builder made: the URL kwargs, the right token, and good tokens of other
    links (what each is -> the token, held by no one signed in unless it is a Held), which must
    open nothing here."""

    kwargs: dict
    token: str | Held
    others: dict[str, str | Held]
    wrong: dict[str, str] = dataclasses.field(default_factory=dict)  # route-specific bad tokens
    objects: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class TokenRoute:
    name: str  # the URL name (a route may join more than once, one variant of its token each)
    build: Callable
    carry: Callable  # (client, method, url, token or None, body) -> response
    reads: tuple = ("GET",)
    writes: tuple = ()
    body: dict | Callable = dataclasses.field(default_factory=dict)  # may use the Link
    # What no token or a wrong one gets: 404 on routes that know no sign-in; 401 with a
    # `WWW-Authenticate: Device` challenge on the device API, which authenticates the caller
    # before it reads the path, so the answer is the same for any id (it says nothing of one).
    refused: int = 404


TOKEN_BUILDERS: dict[str, TokenRoute] = {}


def joins_with_token(
    name: str, build: Callable, carry: Callable, variant: str = "", **spec
) -> None:
    """Keyed by the URL name, or `name/variant` for a route whose tokens come in kinds."""
    key = f"{name}/{variant}" if variant else name
    assert key not in TOKEN_BUILDERS, f"{key} joins the matrix twice"
    TOKEN_BUILDERS[key] = TokenRoute(name=name, build=build, carry=carry, **spec)


def token_routes() -> set[str]:
    return {route.name for route in TOKEN_BUILDERS.values()}


def in_query(client, method, url, token, body):
    """The owner's pages: the token in `t`, as the emailed link and the pages' forms send it."""
    if token is not None:
        url = f"{url}?{urlencode({'t': token})}"
    return client.get(url) if method == "GET" else client.post(url, body)


def in_footage_header(client, method, url, token, body):
    """The owner's API: the token in its header, never in the URL."""
    headers = {} if token is None else {FOOTAGE_TOKEN_HEADER: token}
    if method == "GET":
        return client.get(url, headers=headers)
    return client.generic(method, url, json.dumps(body), "application/json", headers=headers)


def in_grant_header(client, method, url, token, body):
    """tus: the grant in Canvass-Upload-Grant; PATCH sends a few bytes at offset 0."""
    if method == "PATCH":
        return tus_patch(client, url, token, b"abcd", 0)
    return client.generic(method, url, headers=tus_headers(token))


def in_device_header(client, method, url, token, body):
    """The device API: the credential in `Authorization: Device <token>`."""
    headers = {} if token is None else {"Authorization": f"Device {token}"}
    if method == "GET":
        return client.get(url, headers=headers)
    return client.generic(method, url, json.dumps(body), "application/json", headers=headers)


def garbage_tokens(link: Link) -> dict[str, str | Held | None]:
    """Tokens that are no one's: none at all, empty, made up, the right one cut or changed
    (held in the same session as the right one, if it needs one)."""
    right = link.token
    token = right.token if isinstance(right, Held) else right
    garbage = {
        "no token": None,
        "an empty token": "",
        "a made-up token": "not-a-token",
        "the right token cut short": token[:-2],
        # Changed to a different character whatever its case: a staff grant's value is a UUID,
        # read case-insensitively, so "a" -> "A" would be the same grant (1 run in 16).
        "the right token with its last character changed": token[:-1]
        + ("0" if token[-1].lower() != "0" else "1"),
        "a huge token": "A" * 300,
    } | link.wrong
    if isinstance(right, Held):
        return {what: Held(bad, by=right.by) for what, bad in garbage.items()}
    return garbage


def _emailed(actor, cameras, to) -> tuple:
    """A footage request sent to the cameras' owners, and the token of `to`'s emailed link."""
    with TestCase.captureOnCommitCallbacks(execute=True):  # the emails go out on commit
        request = ask(actor, search(actor), cameras)
    return request, token_of(links_in_outbox(to.email)[-1])


def owner_link(p) -> Link:
    """A footage request from the owner's agency to a shop (and a neighbour's camera too), the
    shop's emailed token; other links: the neighbour's, the shop's for another request of the
    same agency, the shop's for another agency's request."""
    shop, neighbour = PublicUserFactory(role=Role.BUSINESS), PublicUserFactory(role=Role.RESIDENT)
    cam = camera_facing_incident(shop)
    porch = camera_facing_incident(neighbour, name="Porch")
    officer = verified(p.owner)
    request, token = _emailed(officer, [cam, porch], shop)
    neighbours = token_of(links_in_outbox(neighbour.email)[-1])
    _, another_request = _emailed(officer, [cam], shop)
    _, another_agency = _emailed(verified(p.stranger), [cam], shop)
    rc = request.cameras.get(camera=cam)
    return Link(
        {"request_id": request.pk},
        token,
        {
            "the shop's link to another request of the agency": another_request,
            "the shop's link to another agency's request": another_agency,
        },
        objects={"request": request, "rc": rc, "neighbours_token": neighbours},
    )


def owner_link_answer(p) -> Link:
    """The same, answering for the shop's camera (named in the body): the neighbour's link to
    the same request is good for the request, never for the shop's camera."""
    link = owner_link(p)
    link.others["the neighbour's link to the same request"] = link.objects["neighbours_token"]
    return link


def owner_link_camera(p) -> Link:
    """The same, with the shop's camera in the path."""
    link = owner_link_answer(p)
    link.kwargs["rc_id"] = link.objects["rc"].pk
    return link


def _tip_grant(agency, source_ref: str):
    """A secret-bearing grant, as a tip's or a footage link's uploader gets one."""
    return evidence_services.upload_grant_issue(
        agency=agency,
        flow=UploadGrant.Flow.TIP,
        source_ref=source_ref,
        max_files=2,
        max_file_bytes=1 << 20,
        media_types=["video/", "image/"],
        expires_at=timezone.now() + dt.timedelta(days=1),
        actor_label="matrix",
    )


def _staff_grant(user) -> str:
    """A staff upload grant's header value (a bare id: it works only in `user`'s session)."""
    response = client_for(user).post(reverse("uploads:grants"))
    assert response.status_code == 201, response.content
    return response.json()["value"]


def _tus_started(client, grant_value: str) -> str:
    """The id of an unfinished 10-byte upload started through tus under the grant."""
    metadata = f"filename {b64('clip.mp4')},filetype {b64('video/mp4')}"
    return upload_url(tus_create(client, grant_value, 10, metadata)).rstrip("/").rsplit("/", 1)[1]


def tus_upload(p) -> Link:
    """An unfinished upload under a tip-style grant A of the owner's agency; other grants: B of
    the same agency and flow, C of another agency, an investigator colleague's staff grant (in
    their session: a staff grant reaches its user's other uploads, never anyone else's)."""
    a, b = _tip_grant(p.agency, "matrix-a"), _tip_grant(p.agency, "matrix-b")
    c = _tip_grant(p.other_agency, "matrix-c")
    colleagues = _staff_grant(p.colleague)
    upload_id = _tus_started(Client(), a.value)
    return Link(
        {"upload_id": upload_id},
        a.value,
        {
            "another grant of the same agency and flow": b.value,
            "another agency's grant": c.value,
            "a colleague's staff grant, in their session": Held(colleagues, by=p.colleague),
        },
        # A bare grant id is a staff grant's form: it needs its user's session.
        wrong={"grant A's id without its secret": str(a.grant.pk)},
    )


def tus_staff_upload(p) -> Link:
    """An unfinished upload under the owner's staff grant A (in their session); other grants:
    a colleague's and another agency's investigator's staff grants (in their sessions), grant A
    in the colleague's session, a tip-style grant of the same agency."""
    a = _staff_grant(p.owner)
    upload_id = _tus_started(client_for(p.owner), a)
    tip = _tip_grant(p.agency, "matrix-tip")
    return Link(
        {"upload_id": upload_id},
        Held(a, by=p.owner),
        {
            "a colleague's staff grant, in their session": Held(
                _staff_grant(p.colleague), by=p.colleague
            ),
            "another agency's staff grant, in its user's session": Held(
                _staff_grant(p.stranger), by=p.stranger
            ),
            "grant A, in a colleague's session": Held(a, by=p.colleague),
            "grant A, with no session": a,
            "a tip grant of the same agency": tip.value,
        },
    )


def _device_world(p) -> tuple:
    """Device A of the owner's agency with a live credential (and a revoked one before it),
    and the live credentials of device B of the same agency and device C of another."""
    device = DeviceFactory(agency=p.agency)
    revoked = credential_for(device)
    DeviceCredential.objects.filter(device=device).update(revoked_at=timezone.now())
    token = credential_for(device)
    others = {
        "another device of the same agency": credential_for(DeviceFactory(agency=p.agency)),
        "another agency's device": credential_for(DeviceFactory(agency=p.other_agency)),
    }
    return device, token, others, {"device A's revoked credential": revoked}


def device_recording(p) -> Link:
    """A recording device A announced; other devices' credentials open nothing of it."""
    device, token, others, wrong = _device_world(p)
    response = Camera.of(device, token).post(reverse("api-devices-recordings"), manifest())
    assert response.status_code == 201, response.content
    return Link({"recording_id": response.json()["id"]}, token, others, wrong)


def device_command(p) -> Link:
    """A command waiting for device A."""
    device, token, others, wrong = _device_world(p)
    command = DeviceCommand.objects.create(
        device=device, kind=DeviceCommand.Kind.BEING_WATCHED, reason="matrix"
    )
    return Link({"command_id": command.pk}, token, others, wrong)


def _owner_answer(link: Link) -> dict:
    return {"camera": link.objects["rc"].pk, "answer": "no_footage"}


_LIVE_ASK_LINK = re.compile(r"^http://\S+/cameras/live-ask/\S+$", re.MULTILINE)


def _live_asked(actor, cam) -> tuple:
    """An "ask me each time" request to the camera's owner, and its emailed token."""
    with TestCase.captureOnCommitCallbacks(execute=True):  # the email goes out on commit
        asked, made = feeds.live_ask_create(
            actor=actor, camera=cam, agency=actor.agency, reason="Matrix check"
        )
    assert made
    [link] = _LIVE_ASK_LINK.findall(mail.outbox[-1].body)
    return asked, token_of(link)


def live_ask_link(p) -> Link:
    """The agency asks to watch a shop's camera live; other links: the agency's ask for a
    neighbour's camera, and another agency's ask for the same camera."""
    shop, neighbour = PublicUserFactory(role=Role.BUSINESS), PublicUserFactory(role=Role.RESIDENT)
    cam = camera_facing_incident(shop)
    porch = camera_facing_incident(neighbour, name="Porch")
    asked, token = _live_asked(verified(p.owner), cam)
    _, neighbours = _live_asked(verified(p.owner), porch)
    _, another_agency = _live_asked(verified(p.stranger), cam)
    return Link(
        {"ask_id": asked.pk},
        token,
        {
            "the agency's link for a neighbour's camera": neighbours,
            "another agency's link for the same camera": another_agency,
        },
    )


joins_with_token("cameras:live_ask", live_ask_link, in_query)
joins_with_token(
    "cameras:live_ask_answer",
    live_ask_link,
    in_query,
    reads=(),
    writes=("POST",),
    body={"answer": "15"},
)
joins_with_token("registry_owner:respond", owner_link, in_query)
joins_with_token(
    "registry_owner:answer",
    owner_link_answer,
    in_query,
    reads=(),
    writes=("POST",),
    body=_owner_answer,
)
joins_with_token("registry_owner:upload", owner_link_camera, in_query)
joins_with_token("registry_owner:grant", owner_link_camera, in_query, reads=(), writes=("POST",))
joins_with_token("registry_owner:receipt", owner_link, in_query)
joins_with_token("api-footage-owner", owner_link, in_footage_header)
joins_with_token(
    "api-footage-owner-answer",
    owner_link_answer,
    in_footage_header,
    reads=(),
    writes=("POST",),
    body=_owner_answer,
)
joins_with_token(
    "api-footage-owner-grant", owner_link_camera, in_footage_header, reads=(), writes=("POST",)
)
joins_with_token("api-footage-owner-receipt", owner_link, in_footage_header)
TUS = {"reads": ("HEAD",), "writes": ("PATCH", "DELETE")}
joins_with_token("uploads:upload", tus_upload, in_grant_header, **TUS)
joins_with_token("uploads:upload", tus_staff_upload, in_grant_header, variant="staff-grant", **TUS)
DEVICE = {"carry": in_device_header, "refused": 401}
joins_with_token("api-devices-recording", device_recording, **DEVICE)
# An empty JSON body is not a track: 400, which still says the route let the device in.
joins_with_token(
    "api-devices-recording-track", device_recording, reads=(), writes=("POST",), **DEVICE
)
joins_with_token("api-devices-command-ack", device_command, reads=(), writes=("POST",), **DEVICE)


# --- the checks -------------------------------------------------------------------------------


ROUTES = routes_with_ids()
JOINED = sorted(name for name in ROUTES if name in BUILDERS)


class World:
    """The route's people and objects, made once per test."""

    def __init__(self, name, people):
        self.name, self.route = name, BUILDERS[name]
        route = self.route
        self.people = people(
            role=route.role, read_only_role=route.read_only_role, kind=route.agency_kind
        )
        self.built = route.build(self.people)
        self.url = reverse(name, kwargs=self.built.kwargs)
        self.body = route.body(self.built) if callable(route.body) else route.body

    def ask(self, user, method: str):
        client = client_for(user)
        if method == "GET":
            return client.get(self.url)
        if self.route.kind == API:
            return client.generic(
                method, self.url, json.dumps(self.body, default=str), "application/json"
            )
        if method == "POST":
            return client.post(self.url, self.body)
        return client.generic(method, self.url)

    @property
    def methods(self) -> tuple:
        return self.route.reads + self.route.writes

    def success_rows_since(self, seq: int) -> list[AuditEvent]:
        targets = [str(t) for t in self.built.targets]
        return list(
            AuditEvent.objects.filter(
                seq__gt=seq, target_id__in=targets, outcome=AuditEvent.Outcome.SUCCESS
            )
        )


def _last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return last or 0


@pytest.fixture
def world(request, people, settings):
    # Many people per test, none of whom types a password: hash them the cheap way.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return World(request.param, people)


def _by_route(names):
    return pytest.mark.parametrize("world", names, ids=names, indirect=True)


@pytest.mark.parametrize("name", sorted(ROUTES), ids=sorted(ROUTES))
def test_route_has_a_builder(name):
    if name not in BUILDERS and name not in token_routes() and name not in EXEMPT:
        pytest.fail(
            f"The route {name} ({ROUTES[name]}) takes an id from its URL but has no builder in the "
            "access matrix: add one with joins(...) in tests/test_access_matrix.py (for a route "
            "opened by a bearer token rather than a signed-in user, joins_with_token(...))."
        )


def test_the_tables_name_only_real_routes():
    tables = {
        "BUILDERS": set(BUILDERS),
        "TOKEN_BUILDERS": token_routes(),
        "EXEMPT": set(EXEMPT),
    }
    stale = sorted(set().union(*tables.values()) - set(ROUTES))
    assert not stale, f"Builders or exemptions for routes that no longer exist: {stale}"
    for (a, names_a), (b, names_b) in itertools.combinations(tables.items(), 2):
        both = sorted(names_a & names_b)
        assert not both, f"Routes both in {a} and {b}: {both}"


@pytest.mark.django_db
@_by_route(JOINED)
def test_owner_gets_the_object(world):
    route = world.route
    for method in route.reads or route.writes[:1]:
        status = world.ask(world.people.owner, method).status_code
        if route.owner_status is not None:
            assert status == route.owner_status, (method, status)
        elif route.reads:
            assert status < 400, (method, status)
        else:  # a write with a minimal body may be refused as invalid, never as not found
            assert status < 500 and status not in (401, 403, 404, 405), (method, status)


@pytest.mark.django_db
@_by_route(
    [
        n
        for n in JOINED
        if BUILDERS[n].reads and BUILDERS[n].kind != ADMIN and not BUILDERS[n].public
    ]
)
def test_colleague_with_the_same_role_reads_it_too(world):
    """What the owner reads, a colleague in the same role reads too (for a case: one who works
    it), so the owner's answer does not hang on who made the object."""
    for method in world.route.reads:
        status = world.ask(world.people.colleague, method).status_code
        assert status < 400, (method, status)


@pytest.mark.django_db
@_by_route(JOINED)
def test_stranger_gets_404(world):
    before = _last_seq()
    for method in world.methods:
        response = world.ask(world.people.stranger, method)
        if world.route.kind == ADMIN:
            # The admin says "not found" its own way: a 302 to its index, or 403 where even
            # the owner is refused.
            assert response.status_code in (403, 404, 302), (method, response.status_code)
            if response.status_code == 302:
                assert response["Location"] == reverse("admin:index"), method
        else:
            assert response.status_code == 404, (method, response.status_code)
    assert world.success_rows_since(before) == []


@pytest.mark.django_db
@_by_route([n for n in JOINED if BUILDERS[n].writes and BUILDERS[n].read_only_role])
def test_read_only_colleague_gets_403_on_writes(world):
    for method in world.route.writes:
        response = world.ask(world.people.read_only, method)
        if world.route.kind == ADMIN and response.status_code == 302:
            # The admin turns away whoever may not use it by sending them to sign in.
            assert response["Location"].split("?")[0] == reverse("admin:login"), method
            continue
        assert response.status_code == 403, (method, response.status_code)


@pytest.mark.django_db
@_by_route(JOINED)
def test_anonymous_is_sent_to_sign_in(world):
    for method in world.methods:
        response = world.ask(None, method)
        if world.route.kind == API:
            assert response.status_code == 403, (method, response.status_code)
            assert "detail" in response.json()
        else:
            assert response.status_code == 302, (method, response.status_code)
            login = (
                reverse("admin:login")
                if world.route.kind == ADMIN
                else resolve_url(django_settings.LOGIN_URL)
            )
            assert response["Location"].split("?")[0] == login, method


@pytest.mark.django_db
@_by_route([n for n in JOINED if BUILDERS[n].public])
def test_staff_are_refused_a_residents_routes(world):
    investigator = UserFactory(role=Role.INVESTIGATOR, agency=world.people.police)
    add_totp_device(investigator)
    for method in world.methods:
        status = world.ask(investigator, method).status_code
        assert status in (403, 404), (method, status)


@pytest.mark.django_db
@_by_route([n for n in JOINED if not BUILDERS[n].public])
def test_residents_and_businesses_are_refused(world):
    for role in (Role.RESIDENT, Role.BUSINESS):
        public_user = PublicUserFactory(role=role)
        for method in world.methods:
            response = world.ask(public_user, method)
            if world.route.kind == ADMIN and response.status_code == 302:
                # The admin turns away whoever may not use it by sending them to sign in.
                assert response["Location"].split("?")[0] == reverse("admin:login"), method
                continue
            assert response.status_code in (403, 404), (role, method, response.status_code)


# --- the checks of routes opened by a bearer token --------------------------------------------


TOKEN_JOINED = sorted(key for key, route in TOKEN_BUILDERS.items() if route.name in ROUTES)


class TokenWorld:
    """A token route's link, its right token and the others, made once per test."""

    def __init__(self, name, people):
        self.route = TOKEN_BUILDERS[name]
        self.people = people()
        self.link = self.route.build(self.people)
        self.url = reverse(self.route.name, kwargs=self.link.kwargs)
        body = self.route.body
        self.body = body(self.link) if callable(body) else body

    def ask(self, token: str | Held | None, method: str, user=None):
        """Ask with the token (in its holder's session if Held; else in `user`'s, or none)."""
        if isinstance(token, Held):
            token, user = token.token, token.by
        return self.route.carry(client_for(user), method, self.url, token, self.body)

    @property
    def methods(self) -> tuple:
        return self.route.reads + self.route.writes


def _success_rows_since(seq: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=seq, outcome=AuditEvent.Outcome.SUCCESS))


@pytest.fixture
def token_world(request, people, settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.UPLOAD_STAGING_DIR = tmp_path / "staging"  # tus bytes land in this test's own
    return TokenWorld(request.param, people)


def _by_token_route(names):
    return pytest.mark.parametrize("token_world", names, ids=names, indirect=True)


@pytest.mark.django_db
@_by_token_route(TOKEN_JOINED)
def test_the_right_token_gets_a_real_answer(token_world):
    """So the link exists and works: a 404 for every token would make the others pass for
    nothing."""
    route = token_world.route
    for method in route.reads or route.writes[:1]:
        status = token_world.ask(token_world.link.token, method).status_code
        if route.reads:
            assert status < 400, (method, status)
        else:  # a write with a minimal body may be refused as invalid, never as not found
            assert status < 500 and status not in (401, 403, 404, 405), (method, status)


@pytest.mark.django_db
@_by_token_route(TOKEN_JOINED)
def test_another_links_token_gets_404(token_world):
    """A good token of another link (another request, recipient, agency or grant) opens nothing
    here: the token must match what the path names. Nothing succeeds while they ask."""
    before = _last_seq()
    for what, token in token_world.link.others.items():
        for method in token_world.methods:
            status = token_world.ask(token, method).status_code
            assert status == 404, (what, method, status)
    assert _success_rows_since(before) == []


@pytest.mark.django_db
@_by_token_route(TOKEN_JOINED)
def test_no_or_garbage_token_gets_404(token_world):
    """404, never 401 or 403: these routes know no sign-in to ask for, and "refused" would say
    the object exists (tus answers 404 on an upload URL for the same reason, see
    evidence/intake/tus.py). A session does not stand in for the token: the agency's own
    investigator, signed in, gets 404 without it too. (The device API answers 401 instead,
    before it looks at the path: `refused` on its TokenRoute.)"""
    refused = token_world.route.refused
    before = _last_seq()
    for what, token in garbage_tokens(token_world.link).items():
        for method in token_world.methods:
            status = token_world.ask(token, method).status_code
            assert status == refused, (what, method, status)
    for method in token_world.methods:
        status = token_world.ask(None, method, user=token_world.people.owner).status_code
        assert status == refused, ("signed in, no token", method, status)
    assert _success_rows_since(before) == []


@pytest.mark.django_db
def test_a_password_link_opens_only_for_its_own_user(people):
    """What the token checks say, for the EXEMPT password link: another user's token (same
    agency or another), a made-up or altered one, is Django's "invalid link" page, and the
    set-password step stays shut; the user's own token is taken (302 to set-password)."""
    p = people()
    user, before = p.colleague, p.colleague.password
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    make = default_token_generator.make_token
    mine = make(user)
    not_mine = {
        "a colleague's token": make(p.owner),
        "another agency's user's token": make(p.stranger),
        "a made-up token": "not-a-token",
        "the right token altered": mine[:-1] + ("a" if mine[-1] != "a" else "b"),
    }
    new = {"new_password1": "a long new passphrase", "new_password2": "a long new passphrase"}
    for what, token in not_mine.items():
        client = Client()
        page = client.get(reverse("portal:password_reset_confirm", args=[uid, token]))
        assert page.status_code == 200 and page.context["validlink"] is False, what
        step = client.post(
            reverse("portal:password_reset_confirm", args=[uid, "set-password"]), new
        )
        assert step.status_code == 200 and step.context["validlink"] is False, what
    user.refresh_from_db()
    assert user.password == before
    taken = Client().get(reverse("portal:password_reset_confirm", args=[uid, mine]))
    assert taken.status_code == 302
    assert taken["Location"] == reverse("portal:password_reset_confirm", args=[uid, "set-password"])


# --- the guard: no serializer or form field looks users or agencies up unscoped ---------------

OUR_APPS = ("portal", "evidence", "registry", "submissions", "devices", "livefeeds", "transparency")
GUARDED_NAMES = re.compile(r"(^|_)(api|forms|serializers)$")

# Class-level querysets over users or agencies that are right as they are, with why.
UNSCOPED_ALLOWED = {
    # Any police agency may share with any prosecuting office: the office list is public to
    # sharers (the share form lists the same offices). Recipients are plain ids resolved
    # against the chosen office only (share_recipients_resolve).
    "evidence.disclosure.api.ShareCreateSerializer.office": "every prosecuting office",
}


def _guarded_modules():
    from django.apps import apps

    for app in OUR_APPS:
        if not apps.is_installed(app):
            continue  # an app that has not arrived yet
        package = importlib.import_module(app)
        yield package
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{app}."):
            parts = info.name.split(".")
            if "migrations" in parts or "tests" in parts:
                continue
            if any(GUARDED_NAMES.search(part) for part in parts[1:]):
                yield importlib.import_module(info.name)


def _our_classes(base):
    seen, todo = set(), [base]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return [c for c in seen if c.__module__.split(".")[0] in OUR_APPS and not inspect.isabstract(c)]


def _querysets_of(field):
    """The querysets a form or serializer field resolves ids through, if any."""
    for candidate in (field, getattr(field, "child_relation", None), getattr(field, "child", None)):
        queryset = getattr(candidate, "queryset", None)
        if queryset is not None and hasattr(queryset, "model"):
            yield queryset


def unscoped_fields() -> list[str]:
    from django import forms
    from rest_framework import serializers

    list(_guarded_modules())  # importing them defines their classes
    found = []
    for cls in _our_classes(serializers.BaseSerializer):
        fields = dict(getattr(cls, "_declared_fields", {}))
        if issubclass(cls, serializers.ModelSerializer):
            # The fields a ModelSerializer makes from its model's foreign keys, too.
            fields.update(cls().get_fields())
        found += _unscoped(cls, fields)
    for cls in _our_classes(forms.BaseForm):
        found += _unscoped(cls, getattr(cls, "base_fields", {}))
    return sorted(set(found))


def _unscoped(cls, fields) -> list[str]:
    hits = []
    for field_name, field in fields.items():
        for queryset in _querysets_of(field):
            if not issubclass(queryset.model, (User, Agency)):
                continue
            if queryset.query.is_empty():  # .none(): the view scopes it per request
                continue
            key = f"{cls.__module__}.{cls.__qualname__}.{field_name}"
            if key not in UNSCOPED_ALLOWED:
                hits.append(f"{key}: {queryset.model.__name__}")
    return hits


def test_no_form_or_serializer_field_resolves_users_or_agencies_unscoped():
    found = unscoped_fields()
    assert not found, (
        "These fields look up users or agencies by id across every agency. Declare them with "
        ".none() and set the queryset per request, scoped to the actor's agency (see "
        "evidence's share_recipients_resolve / prosecutors_of):\n" + "\n".join(found)
    )


def test_the_guard_sees_the_modules_it_should():
    names = {module.__name__ for module in _guarded_modules()}
    for app in ("evidence", "registry", "submissions"):
        assert any(n.startswith(f"{app}.") and "api" in n for n in names), (app, names)
    assert any(n.startswith("evidence.") and "forms" in n for n in names), names
