"""Every public page speaks Spanish to a Spanish browser: a crawl that fails on English left over.

Each page is asked for twice, with `Accept-Language: es` and `Accept-Language: en`, by the same
visitor. What a person reads (text nodes outside scripts and styles, the title, and the
placeholder, title, aria-label, alt and button values) is taken from both. A piece of text that
is the same in both renderings and is made of English words was never translated: the words are
checked against a list of common English words that are not also Spanish, so names, numbers,
references and user data (the same in both languages, but not English prose) pass, and so does
any Spanish. The pages: every route a visitor reaches without a session (the home page, sign-in
and sign-up, the tips line and the way back with a receipt, the public camera map, receipt
verification and the agency keys, the transparency pages, the audit checkpoints), the pages
opened by an emailed token (a camera owner's footage request, its upload and receipt pages, a
live-view request, a defence download link, a password link), and a camera owner's own pages
once signed in (the registry, the live feed set-up and policy, who looked, requests history).
"""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from notifications import services as notification_services
from portal.roles import Role
from registry import feeds
from tests.conftest import client_for
from tests.evidence.cases_helpers import verified
from tests.factories import AgencyFactory, PublicUserFactory, UserFactory
from tests.portal.public_pages import anonymous_pages, owner_pages, public_world
from tests.portal.test_languages import PO, po_entries
from tests.registry.requests_helpers import (
    ask,
    camera_facing_incident,
    search,
)
from tests.submissions.helpers import send_tip, tipster_client

pytestmark = pytest.mark.django_db

# Common English words that are not Spanish words too ("a", "no", "me", "son", "con", "sin",
# "video", "total", "error", "local" are left out): one of them in a text the Spanish page shows
# unchanged from the English page means the text is English.
_ENGLISH_WORDS = """
    the and of to in is are was were be been being have has had do does did will would can
    could should may might must shall you your yours we our us they their them it its this that
    these those there here what which who whom whose when where why how all any each every
    some more most other such only own same than too very just also not nor or but if then
    because as until while about against between into through during before after above below
    from up down out on off over under again further once for with by at an
    send sent sign signed save saved open opened close closed back next show hide add added
    remove removed delete deleted edit cancel yes please thank thanks welcome choose chose
    enter entered keep kept read write written answer answered ask asked asks request
    requests requested camera cameras footage tip tips upload uploaded uploads file files
    download downloads downloaded page link links email password account time date name
    address phone map search help home submit continue receipt verify verified agency agencies
    police case cases evidence live feed feeds owner owners watch watched watching looked look
    who nobody someone anyone everyone none new old today yesterday tomorrow day days hour
    hours minute minutes week weeks month months year years never always already yet now
    still see seen view viewed use used using make made get got give given take taken
    allow allowed deny denied decline declined refuse refused accept accepted paused pause
    resume resumed stop stopped start started end ended expires expired expiry deadline
    recording recorded record records privacy policy settings setting language english
    report reported reports share shared sharing found missing lost theft burglary vehicle
    drug drugs violence threats vandalism graffiti something else person property crime
    message messages question questions reply replied note notes status state more less
    learn log logged code codes verification confirm confirmed reset forgot forgotten
    create created register registered registration direction range field view angle
    hidden public private anonymous anonymously contact officer officers investigator
    data download key keys public signature signed valid invalid checkpoint checkpoints
    transparency figures published table tables month quarterly audit log goals goal
    people neighbours neighbour business businesses resident residents street near
    within around place location where happened happen happening describe description
    photos photo videos drop browse files choose file added uploading complete done
    failed retry try again error errors wrong required optional should
"""
ENGLISH = set(_ENGLISH_WORDS.split())
# A word: letters not touching digits (so a hash such as e8ee7c4439b6f8be holds no "be").
WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z']+(?![A-Za-z0-9])")
# Shown the same in every language: the language switcher's own names for the languages.
ALLOWED = {"English"}
ATTRIBUTES = {"placeholder", "title", "aria-label", "alt"}
SKIPPED = {"script", "style", "template", "code", "pre", "svg"}
# Time zone names (America/New_York) are identifiers, the same in every language.
TIME_ZONE = re.compile(r"^\(?[A-Za-z_]+(/[A-Za-z0-9_+\-]+)+\)?$")
# A bare address (the printed receipt's way back) is the same in every language too.
URL = re.compile(r"^https?://\S+$")


class _Readable(HTMLParser):
    """The text a person reads on a page, and its <html lang>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.lang = ""
        self._skipping: list[str] = []
        self._other_language = 0  # inside an element in another language (the switcher's names)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang") or ""
        elif tag == "option" and attrs.get("lang") not in (None, self.lang):
            self._other_language += 1
        # Text the server puts in a JSON block for the page's scripts to show is read too.
        if tag == "script" and attrs.get("type") == "application/json":
            self._skipping.append("json")
            return
        if tag in SKIPPED:
            self._skipping.append(tag)
        if self._skipping:
            return
        for name in ATTRIBUTES:
            if attrs.get(name):
                self.texts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.texts.append(attrs["value"])
        for name, value in attrs.items():
            # Words a script shows come from data- attributes named for them (data-label-*,
            # data-msg-*, data-text-*): they are read as text too.
            if name.startswith(("data-label", "data-msg", "data-text", "data-i18n")) and value:
                self.texts.append(value)

    def handle_endtag(self, tag):
        if tag == "option" and self._other_language:
            self._other_language -= 1
        if self._skipping and tag == (
            "script" if self._skipping[-1] == "json" else self._skipping[-1]
        ):
            self._skipping.pop()

    def handle_data(self, data):
        if self._skipping == ["json"]:
            self.texts += _json_strings(data)
        elif not (
            self._skipping
            or self._other_language
            or TIME_ZONE.match(data.strip())
            or URL.match(data.strip())
        ):
            self.texts.append(data)


def _json_strings(raw: str) -> list[str]:
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    found: list[str] = []

    def walk(v):
        if isinstance(v, str):
            found.append(v)
        elif isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(value)
    return found


def readable(html: str) -> tuple[str, set[str]]:
    parser = _Readable()
    parser.feed(html)
    return parser.lang, {" ".join(t.split()) for t in parser.texts if t.strip()}


def english_left(spanish_html: str, english_html: str) -> list[str]:
    """The texts of the Spanish rendering that are the English rendering's, in English words."""
    _, spanish = readable(spanish_html)
    _, english = readable(english_html)
    return sorted(
        text
        for text in spanish & english
        if text not in ALLOWED and any(w.lower().strip("'") in ENGLISH for w in WORD.findall(text))
    )


def _fetch(client, what, method, url, body, language):
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    response = client.get(url, **headers) if method == "GET" else client.post(url, body, **headers)
    # Each page is the page itself (a refused receipt is a 422, the "not found" page a 404),
    # never a redirect to somewhere else.
    expected = (404,) if what.endswith("unknown") else (200, 400, 410, 422)
    assert response.status_code in expected, (url, response.status_code)
    return response.content.decode()


def _crawl(client, pages) -> dict[str, list[str]]:
    left = {}
    for what, method, url, body in pages:
        spanish = _fetch(client, what, method, url, body, "es")
        english = _fetch(client, what, method, url, body, "en")
        found = english_left(spanish, english)
        if readable(spanish)[0] != "es":
            found.append("<html lang> is not es")
        if found:
            left[what] = found
    return left


def test_a_page_with_english_left_is_caught():
    english = (
        '<html lang="en"><h1>Your cameras</h1><p>Tienda</p><input placeholder="Search"></html>'
    )
    spanish = (
        '<html lang="es"><h1>Your cameras</h1><p>Tienda</p><input placeholder="Buscar"></html>'
    )
    assert english_left(spanish, english) == ["Your cameras"]
    script = '<html><script>var a = "Your cameras";</script><p>Riverton PD · 2026</p></html>'
    assert english_left(script, script) == []
    catalogue = '<script type="application/json" id="x">{"a": "Add photos"}</script>'
    assert english_left(catalogue, catalogue) == ["Add photos"]


def test_every_public_page_is_in_spanish(cheap_pow):
    w = public_world()
    # The way back to a tip: a tip sent, then its receipt given on the return page.
    tipster = tipster_client()
    answer = send_tip(tipster, w["police"])
    assert answer.status_code == 201, answer.content
    receipt = answer.json()["receipt"]
    tip_pages = [("tip returned", "GET", "/tips/return/tip/", {})]
    assert tipster.post("/tips/return/", {"receipt": receipt}).status_code == 302

    visitor = Client()
    uid = urlsafe_base64_encode(force_bytes(w["shop"].pk))
    emailed = reverse(
        "portal:password_reset_confirm",
        args=[uid, default_token_generator.make_token(w["shop"])],
    )
    assert visitor.get(emailed).status_code == 302
    left = _crawl(visitor, anonymous_pages(w))
    left |= _crawl(tipster, tip_pages)
    left |= _crawl(client_for(w["shop"]), owner_pages(w))
    assert not left, "English left on Spanish pages:\n" + "\n".join(
        f"{page}: {texts}" for page, texts in left.items()
    )


def test_owners_get_footage_and_live_emails_in_their_own_language():
    """The investigator's page is in English; each owner's email is in the language they chose."""
    police = AgencyFactory(name="Riverton PD", slug="riverton-pd")
    investigator = verified(
        UserFactory(role=Role.INVESTIGATOR, agency=police, full_name="Luis Gómez")
    )
    ana = PublicUserFactory(role=Role.BUSINESS, full_name="Ana Pérez")
    bob = PublicUserFactory(role=Role.RESIDENT, full_name="Bob Smith")
    notification_services.preferences_update(user=ana, email_off=[], in_app_off=[], language="es")
    shop, porch = camera_facing_incident(ana, name="Tienda"), camera_facing_incident(bob)
    with translation.override("en"), TestCase.captureOnCommitCallbacks(execute=True):
        ask(investigator, search(investigator), [shop, porch])
        feeds.live_ask_create(actor=investigator, camera=shop, agency=police, reason="Robo")
    to_ana = [m for m in mail.outbox if ana.email in m.to]
    to_bob = [m for m in mail.outbox if bob.email in m.to]
    assert [m.subject for m in to_ana] == [
        "Riverton PD le pide grabaciones de su cámara",
        "Riverton PD pide ver su cámara en directo",
    ]
    assert "Hola, Ana Pérez:" in to_ana[0].body and "(Investigador)" in to_ana[0].body
    assert "Responda antes del" in to_ana[0].body and "Answer by" not in to_ana[0].body
    assert "Usted decide: permitirles verla durante" in to_ana[1].body
    assert [m.subject for m in to_bob] == ["Riverton PD asks for footage from your camera"]
    assert "Hello Bob Smith," in to_bob[0].body and "(Investigator)" in to_bob[0].body


TRANSLATE_TAG = re.compile(r"""\{%\s*(?:translate|trans)\s+(?:"([^"]*)"|'([^']*)')""")
BLOCK_TAG = re.compile(
    r"\{%\s*blocktrans(?:late)?\b([^%]*)%\}(.*?)\{%\s*(?:endblocktrans(?:late)?|plural)\s*%\}",
    re.DOTALL,
)


def _msgids_used_in_templates() -> dict[str, str]:
    """Each literal msgid a template asks for (translate tags, and blocktranslate blocks with
    their {{ variables }} as %(variables)s), with the template it is in."""
    used = {}
    for path in sorted((Path(settings.BASE_DIR) / "templates").rglob("*")):
        if path.suffix not in (".html", ".txt"):
            continue
        text = path.read_text(encoding="utf-8")
        for double, single in TRANSLATE_TAG.findall(text):
            used.setdefault(double or single, str(path))
        for options, body in BLOCK_TAG.findall(text):
            if "context" in options.split():
                continue
            msgid = re.sub(r"\{\{\s*(\w+)\s*\}\}", r"%(\1)s", body)
            if "trimmed" in options.split():
                msgid = " ".join(line.strip() for line in msgid.strip().splitlines())
            used.setdefault(msgid, str(path))
    return used


def test_every_string_a_template_translates_has_spanish():
    """A msgid a template uses but the catalogue lacks shows in English on a Spanish page."""
    catalogue = {e["msgid"]: e for e in po_entries(PO) if e["msgid"]}
    missing = {
        msgid: where
        for msgid, where in _msgids_used_in_templates().items()
        if msgid not in catalogue
        or not catalogue[msgid]["msgstr"].strip()
        or "fuzzy" in catalogue[msgid]["flags"]
    }
    assert not missing, "\n".join(f"{where}: {msgid!r}" for msgid, where in missing.items())
