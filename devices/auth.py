"""How a body camera signs its API calls: `Authorization: Device <token>`.

The token is the device credential issued once on the staff device page; only its SHA-256 is
kept (portal.tokens), so the lookup is by digest and a stolen database replays nothing.
"""

import datetime as dt
import hashlib
import hmac

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission

from devices.models import Device, DeviceCredential
from portal.tokens import token_digest

KEYWORD = "Device"
STREAM_KEY_LABEL = b"canvass live stream key v1"


def stream_key_for(token: str) -> str:
    """The key a camera publishes its live stream with: derived from its credential, so it is
    never stored or sent apart from it, and rotates with it (hex HMAC-SHA256 of the label)."""
    return hmac.new(token.encode(), STREAM_KEY_LABEL, hashlib.sha256).hexdigest()


# last_used_at is for the staff page ("last seen"), not an audit trail: one write a minute at
# most, however often the device calls.
_LAST_USED_GRAIN = dt.timedelta(minutes=1)


class DeviceAuthentication(authentication.BaseAuthentication):
    """A live credential of a device in service sets request.auth to the Device."""

    def authenticate(self, request):
        keyword, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        if keyword.lower() != KEYWORD.lower():
            return None  # no device credential offered: the permission refuses with 401
        token = token.strip()
        if not token or " " in token or len(token) > 200:
            raise exceptions.AuthenticationFailed("The device credential is malformed.")
        credential = (
            DeviceCredential.objects.select_related("device")
            .filter(token_hash=token_digest(token), revoked_at__isnull=True)
            .exclude(device__status=Device.Status.RETIRED)
            .first()
        )
        if credential is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked device credential.")
        now = timezone.now()
        if credential.last_used_at is None or credential.last_used_at < now - _LAST_USED_GRAIN:
            DeviceCredential.objects.filter(pk=credential.pk).update(last_used_at=now)
        return AnonymousUser(), credential.device

    def authenticate_header(self, request):
        return KEYWORD


class IsDevice(BasePermission):
    message = "Send the device credential: Authorization: Device <token>."

    def has_permission(self, request, view):
        return isinstance(request.auth, Device)


class DeviceAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "devices.auth.DeviceAuthentication"
    name = "deviceCredential"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Device <token>`: the body camera's credential, issued once on the "
            "staff device page.",
        }
