"""English and Spanish: chosen from the browser, changed with the switcher, fully translated."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

PO = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def po_entries(path: Path) -> list[dict]:
    """Each entry of a .po file: msgid, msgstr and flags (enough of the format for a check).

    A plural entry also has msgid_plural and plurals (its msgstr[n] in order); its msgstr is
    the first form, and is empty when any form is.
    """
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict = {"flags": set(), "msgid": "", "msgstr": ""}
        part = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] |= {f.strip() for f in line[2:].split(",")}
            elif line.startswith(("msgid ", "msgstr ", "msgid_plural ", "msgstr[")):
                part, _, rest = line.partition(" ")
                entry[part] = entry.get(part, "") + ast.literal_eval(rest)
            elif line.startswith('"') and part:
                entry[part] += ast.literal_eval(line)
        if "msgid_plural" in entry:
            forms = sorted(k for k in entry if k.startswith("msgstr["))
            entry["plurals"] = [entry[k] for k in forms]
            filled = entry["plurals"] and all(f.strip() for f in entry["plurals"])
            entry["msgstr"] = entry["plurals"][0] if filled else ""
        if part:
            entries.append(entry)
    return entries


def test_every_spanish_string_is_translated_and_none_is_fuzzy():
    entries = [e for e in po_entries(PO) if e["msgid"]]
    assert len(entries) > 150
    untranslated = [e["msgid"] for e in entries if not e["msgstr"].strip()]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert not untranslated, untranslated
    assert not fuzzy, fuzzy
    for e in entries:
        # The same placeholders, so no Spanish page can break a format string.
        for msgstr in e.get("plurals", [e["msgstr"]]):
            assert sorted(re.findall(r"%\(\w+\)[sd]", e["msgid"])) == sorted(
                re.findall(r"%\(\w+\)[sd]", msgstr)
            ), e["msgid"]


def test_the_compiled_catalog_is_the_po_file():
    with open(MO, "rb") as f:
        compiled = gettext.GNUTranslations(f)._catalog
    expected = {}
    for e in po_entries(PO):
        if "plurals" in e:
            expected |= {(e["msgid"], n): form for n, form in enumerate(e["plurals"])}
        elif e["msgid"]:
            expected[e["msgid"]] = e["msgstr"]
    assert {k: v for k, v in compiled.items() if k} == expected


@pytest.mark.django_db
def test_spanish_browsers_get_the_tip_page_in_spanish(client, tips_agency):
    page = client.get(f"/tips/{tips_agency.slug}/", HTTP_ACCEPT_LANGUAGE="es-US,es;q=0.9")
    text = page.content.decode()
    assert page.status_code == 200
    assert '<html lang="es">' in text
    for spanish in ("Enviar una denuncia a Riverton PD", "¿Qué pasó?", "Enviar mi denuncia"):
        assert spanish in text, spanish
    assert "What happened?" not in text and "Send my tip" not in text
    english = client.get(f"/tips/{tips_agency.slug}/", HTTP_ACCEPT_LANGUAGE="en-US").content
    assert b"Send my tip" in english and b"Enviar mi denuncia" not in english


@pytest.mark.django_db
def test_spanish_browsers_get_the_return_and_account_pages_in_spanish(client):
    for path, spanish in (
        ("/tips/return/", "Abrir mi denuncia"),
        ("/tips/", "Elija la agencia de policía"),
        ("/", "Registre su cámara"),
        ("/login/", "¿Olvidó su contraseña?"),
        ("/signup/", "Nombre completo"),
    ):
        text = client.get(path, HTTP_ACCEPT_LANGUAGE="es").content.decode()
        assert spanish in text, path


@pytest.mark.django_db
def test_the_switcher_changes_the_language_of_the_public_pages(tips_agency):
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en-US")
    page = browser.get(f"/tips/{tips_agency.slug}/")
    assert 'id="language-switcher"' in page.content.decode()
    # The switcher sets no cookie on a tip page: only choosing a language does.
    assert not page.cookies
    switched = browser.post(
        "/i18n/setlang/", {"language": "es", "next": f"/tips/{tips_agency.slug}/"}
    )
    assert switched.status_code == 302 and switched["Location"] == f"/tips/{tips_agency.slug}/"
    assert set(switched.cookies) == {settings.LANGUAGE_COOKIE_NAME}
    assert "Enviar mi denuncia" in browser.get(f"/tips/{tips_agency.slug}/").content.decode()
    assert "Abrir mi denuncia" in browser.get("/tips/return/").content.decode()
    browser.post("/i18n/setlang/", {"language": "en"})
    assert "Open my tip" in browser.get("/tips/return/").content.decode()


@pytest.mark.django_db
def test_the_switcher_refuses_an_offsite_next_and_unknown_languages(client):
    response = client.post("/i18n/setlang/", {"language": "es", "next": "https://evil.example/"})
    assert response.status_code == 302 and not response["Location"].startswith("https://evil")
    client.post("/i18n/setlang/", {"language": "xx"})
    # The offsite address was ignored, the language kept; the unknown one changed nothing.
    page = client.get("/tips/return/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="es">' in page and "Abrir mi denuncia" in page
