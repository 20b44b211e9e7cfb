"""The public pages and the objects behind them, for the Spanish crawl and the axe-core run.

Each page is (what, method, url, POST body); user data is Spanish or a name, so a crawl that
looks for English words finds only the site's own words.
"""

import datetime as dt
import json
import re

from django.core import mail
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from evidence.disclosure import services as share_services
from evidence.disclosure.receipts import receipt_issue
from evidence.models import Share
from portal.roles import Role
from registry import feeds
from submissions.demo import seed_categories
from tests.evidence.cases_helpers import make_case, make_share, verified
from tests.factories import AgencyFactory, PublicUserFactory, UserFactory, stored_item
from tests.registry.requests_helpers import (
    ask,
    camera_facing_incident,
    links_in_outbox,
    search,
    token_of,
)


def public_world() -> dict:
    """The objects behind every public page: a police agency with its tips line, a shop's
    camera asked for footage and for a live view, and a case shared down to a defence link."""
    police = AgencyFactory(name="Riverton PD", slug="riverton-pd")
    prosecution = AgencyFactory(name="Riverton DA", slug="riverton-da", kind="prosecution")
    seed_categories(police)
    investigator = verified(
        UserFactory(role=Role.INVESTIGATOR, agency=police, full_name="Luis Gómez")
    )
    shop = PublicUserFactory(role=Role.BUSINESS, full_name="Ana Pérez")
    cam = camera_facing_incident(shop, name="Tienda")
    with TestCase.captureOnCommitCallbacks(execute=True):
        found = search(investigator, reason="Robo en la calle Mayor 100")
        request = ask(
            investigator, found, [cam], reason="Robo en la calle Mayor 100", message="Gracias."
        )
    footage_token = token_of(links_in_outbox(shop.email)[-1])
    rc = request.cameras.get(camera=cam)
    with TestCase.captureOnCommitCallbacks(execute=True):
        live_ask, _ = feeds.live_ask_create(
            actor=investigator, camera=cam, agency=police, reason="Robo"
        )
    live_token = token_of(
        re.search(r"http://\S+/cameras/live-ask/\S+", mail.outbox[-1].body).group(0)
    )
    # A case shared with the prosecutors, acknowledged (a signed receipt) and passed on to the
    # defence as a download link.
    item = stored_item(agency=police, original_filename="clip.mp4")
    case = make_case(lead=investigator, items=[item])
    type(case).objects.filter(pk=case.pk).update(title="Robo")
    case.refresh_from_db()
    prosecutor = verified(UserFactory(role=Role.PROSECUTOR, agency=prosecution))
    share = make_share(
        case=case, by=investigator, office=prosecution, items=[item],
        level=Share.Level.DOWNLOAD, reshare_allowed=True,
    )  # fmt: skip
    share = share_services.share_acknowledge(actor=prosecutor, share=share)
    receipt = receipt_issue(actor=prosecutor, share=share)
    _, defence_token = share_services.share_link_create(
        actor=prosecutor,
        share=share,
        recipient_label="Defensa",
        expires_at=timezone.now() + dt.timedelta(days=3),
        max_downloads=2,
    )
    return {
        "police": police,
        "shop": shop,
        "camera": cam,
        "request": request,
        "rc": rc,
        "footage_token": footage_token,
        "live_ask": live_ask,
        "live_token": live_token,
        "receipt": receipt,
        "defence_token": defence_token,
        "investigator": investigator,
        "item": item,
        "case": case,
    }


def anonymous_pages(w) -> list[tuple[str, str, str, dict]]:
    """(what, method, url, POST body) for an anonymous visitor."""
    slug = w["police"].slug
    req, rc = w["request"].pk, w["rc"].pk
    footage = f"?t={w['footage_token']}"
    uid = urlsafe_base64_encode(force_bytes(w["shop"].pk))
    return [
        ("home", "GET", "/", {}),
        ("sign in", "GET", reverse("portal:login"), {}),
        ("sign up", "GET", reverse("portal:signup"), {}),
        ("password reset", "GET", reverse("portal:password_reset"), {}),
        ("password reset sent", "GET", reverse("portal:password_reset_done"), {}),
        # The emailed link puts its token in the session and redirects to the form.
        (
            "password set",
            "GET",
            reverse("portal:password_reset_confirm", args=[uid, "set-password"]),
            {},
        ),
        ("password set done", "GET", reverse("portal:password_reset_complete"), {}),
        ("tips", "GET", "/tips/", {}),
        ("tip form", "GET", f"/tips/{slug}/", {}),
        ("tip return", "GET", "/tips/return/", {}),
        ("public map", "GET", reverse("cameras:map"), {}),
        ("receipt verify", "GET", reverse("receipts:verify"), {}),
        (
            "receipt verified",
            "POST",
            reverse("receipts:verify"),
            {"receipt": json.dumps(w["receipt"])},
        ),
        ("receipt refused", "POST", reverse("receipts:verify"), {"receipt": "{not json"}),
        ("agency keys", "GET", reverse("receipts:keys", args=[slug]), {}),
        ("checkpoints", "GET", reverse("checkpoints:list", args=[slug]), {}),
        ("transparency", "GET", reverse("transparency:index"), {}),
        ("transparency agency", "GET", reverse("transparency:agency", args=[slug]), {}),
        (
            "transparency footage log",
            "GET",
            reverse("transparency:footage_log", args=[slug]),
            {},
        ),
        ("footage request", "GET", reverse("registry_owner:respond", args=[req]) + footage, {}),
        (
            "footage upload",
            "GET",
            reverse("registry_owner:upload", args=[req, rc]) + footage,
            {},
        ),
        ("footage receipt", "GET", reverse("registry_owner:receipt", args=[req]) + footage, {}),
        (
            "live ask",
            "GET",
            reverse("cameras:live_ask", args=[w["live_ask"].pk]) + f"?t={w['live_token']}",
            {},
        ),
        (
            "defence download",
            "GET",
            reverse("evidence_public:link") + f"?t={w['defence_token']}",
            {},
        ),
        ("defence link unknown", "GET", reverse("evidence_public:link") + "?t=nope", {}),
    ]


def owner_pages(w) -> list[tuple[str, str, str, dict]]:
    """A camera owner's own pages, signed in."""
    cam = w["camera"].pk
    req, rc = w["request"].pk, w["rc"].pk
    return [
        ("my cameras", "GET", reverse("cameras:mine"), {}),
        ("my footage requests", "GET", reverse("cameras:requests"), {}),
        ("footage request signed in", "GET", reverse("cameras:request", args=[req]), {}),
        (
            "footage upload signed in",
            "GET",
            reverse("cameras:request_upload", args=[req, rc]),
            {},
        ),
        ("footage receipt signed in", "GET", reverse("cameras:request_receipt", args=[req]), {}),
        ("new camera", "GET", reverse("cameras:new"), {}),
        ("import cameras", "GET", reverse("cameras:import"), {}),
        ("edit camera", "GET", reverse("cameras:edit", args=[cam]), {}),
        ("camera live", "GET", reverse("cameras:live", args=[cam]), {}),
        ("camera history", "GET", reverse("camera_history:all"), {}),
        ("camera history one", "GET", reverse("camera_history:camera", args=[cam]), {}),
        ("who looked", "GET", reverse("live_owner:who_looked", args=[cam]), {}),
        ("notifications", "GET", reverse("notifications:list"), {}),
        ("notification settings", "GET", reverse("notifications:settings"), {}),
        ("account", "GET", reverse("portal:account"), {}),
        ("public map signed in", "GET", reverse("cameras:map"), {}),
        ("home signed in", "GET", "/", {}),
    ]
