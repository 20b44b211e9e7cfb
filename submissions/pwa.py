"""The tip page as an installable web app: its manifest, icons, service worker and the words
the offline queue (static/src/tip-offline.js) shows, in the visitor's language.

Served by Django rather than as static files so the worker can live at /tips/sw.js, whose
scope covers every tip page, and so the manifest and the words follow the chosen language.
"""

import functools
import io
import json

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from PIL import Image, ImageDraw

ICON_SIZES = (192, 512)
THEME_COLOR = "#1d4ed8"
# The worker keeps these so the tip page opens with no signal. Bump the version when the
# worker's own logic changes; file changes already change the worker's bytes (hashed names).
CACHE_NAME = "canvass-tips-v1"
SHELL_FILES = (
    "css/canvass.css",
    "dist/tip.js",
    "dist/tip.css",
    "dist/tip-offline.js",
    "leaflet/leaflet.js",
    "leaflet/leaflet.css",
)


def _scope() -> str:
    return reverse("submissions:landing")


@require_GET
def manifest(request):
    """The web app manifest: installs the tip pages as "Send a tip"."""
    scope = _scope()
    data = {
        "name": _("Send a tip"),
        "short_name": _("Tips"),
        "description": _("Send a tip to the police from your phone. No account needed."),
        "start_url": scope,
        "scope": scope,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOR,
        "icons": [
            {
                "src": reverse("submissions:pwa_icon", args=[size]),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any maskable",
            }
            for size in ICON_SIZES
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    response["Cache-Control"] = "no-cache"
    return response


@functools.cache
def _icon_png(size: int) -> bytes:
    """A speech bubble on the theme colour, drawn once per size (maskable: art in the middle)."""
    image = Image.new("RGB", (size, size), THEME_COLOR)
    draw = ImageDraw.Draw(image)
    s = size / 192
    draw.rounded_rectangle((46 * s, 52 * s, 146 * s, 122 * s), radius=16 * s, fill="white")
    draw.polygon([(70 * s, 120 * s), (70 * s, 146 * s), (96 * s, 120 * s)], fill="white")
    for x in (72, 96, 120):
        draw.ellipse(((x - 7) * s, 80 * s, (x + 7) * s, 94 * s), fill=THEME_COLOR)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


@require_GET
def icon(request, size: int):
    if size not in ICON_SIZES:
        raise Http404("No icon of that size.")
    response = HttpResponse(_icon_png(size), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_GET
def service_worker(request):
    """The worker script: keeps the tip page shell and its static files for offline use."""
    config = {
        "CACHE": CACHE_NAME,
        "SCOPE": _scope(),
        "RETURN_PREFIX": reverse("submissions:return_start"),
        "STRINGS_URL": reverse("submissions:pwa_offline_strings"),
        # The prefix itself, not static(""): the hashed-name storage has no entry for "".
        "STATIC_PREFIX": settings.STATIC_URL,
        "SHELL": [static(name) for name in SHELL_FILES],
    }
    # Our own URLs, as JSON: a JS object literal (this is a script, never HTML).
    context = {"config_json": json.dumps(config)}
    response = render(request, "submissions/sw.js", context, content_type="text/javascript")
    response["Service-Worker-Allowed"] = _scope()
    # Browsers check for a new worker on each visit; never let a cache hold an old one.
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def offline_strings(request):
    """What the offline queue says, in the language of the page (LocaleMiddleware chose it)."""
    return JsonResponse(
        {
            "saved": _(
                "Saved on this phone. It will be sent when you are back online — keep this page "
                "open or come back to it."
            ),
            "savedAfterFailure": _(
                "The server could not be reached, so your tip is saved on this phone. It will be "
                "sent by itself when the connection works — keep this page open or come back to "
                "it."
            ),
            "sending": _("You are back online. Sending the tip you saved…"),
            "sendingFiles": _("Sending the files of your saved tip: %(done)s of %(total)s…"),
            "sent": _("Your saved tip was sent."),
            "failed": _(
                "Your saved tip could not be sent yet (%(reason)s). It stays on this phone; we "
                "will try again."
            ),
            "refused": _(
                "Your saved tip was not accepted: %(reason)s It is back in the form: correct it "
                "and send it again."
            ),
            "filesFailed": _(
                "Some files could not be sent (%(reason)s). Add them later with your receipt."
            ),
        },
        json_dumps_params={"ensure_ascii": False},
    )
