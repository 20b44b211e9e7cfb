import re
from urllib.parse import parse_qs, urlencode, urlsplit
from uuid import UUID

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

_REQUEST_PATH = re.compile(r"/footage/([0-9a-fA-F-]{36})/")


class FootageLinkForm(forms.Form):
    """A camera owner pastes the link from a footage-request email; it opens their answer page."""

    link = forms.CharField(
        label=_("Paste the link from the email"),
        max_length=2000,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "url", "spellcheck": "false"}
        ),
    )

    def clean_link(self) -> str:
        """The answer page's path and token; the page itself checks the token (404 if wrong)."""
        parts = urlsplit(self.cleaned_data["link"].strip())
        match = _REQUEST_PATH.search(parts.path)
        token = (parse_qs(parts.query).get("t") or [""])[0]
        request_id = None
        if match:
            try:
                request_id = UUID(match.group(1))
            except ValueError:
                request_id = None
        if request_id is None or not token:
            raise forms.ValidationError(
                _(
                    "That is not a whole footage-request link. Copy all of it from the email: "
                    "it contains /footage/ and ends with a long code after t=."
                )
            )
        path = reverse("registry_owner:respond", args=[request_id])
        return f"{path}?{urlencode({'t': token})}"
