"""tus 1.0.0 for evidence uploads: core, creation, creation-with-upload, termination, checksum
and expiration, as plain Django views over evidence.intake.uploads (no maintained Python tus server
works; see shared/standards.md). Plus the small DRF endpoint that issues staff upload grants.

Status codes we chose where the spec leaves a choice:
- No usable grant (missing, unknown, expired, revoked, another user's, wrong secret):
  403 on creation, 404 on an upload URL, so an upload's existence is never revealed.
- Terminated upload: 404 (it is gone as if it never was). Expired upload: 410.
- A body running past Upload-Length: 413, nothing of it kept.
- DELETE of a complete upload: 403 (it is evidence now).
- X-HTTP-Method-Override is honoured on POST, the method such clients fall back to.

CSRF: these views are exempt (tus clients send no CSRF token). That is safe because every
request that writes must carry the Canvass-Upload-Grant header, and a page on another origin
cannot send a custom header without a CORS preflight, which we never answer. Nothing on the way
(middleware included) reads request.POST or request.body here, so DATA_UPLOAD_MAX_MEMORY_SIZE
never applies: bodies are streamed with request.read().
"""

import base64
import binascii
import re
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from evidence.intake import errors as upload_errors
from evidence.intake import grants, staging, uploads
from evidence.models import Upload
from evidence.policies import can_upload_evidence
from evidence.rest import GrantSerializer
from portal.api.permissions import IsVerifiedUser

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
OFFSET_STREAM = "application/offset+octet-stream"
_NON_NEGATIVE = re.compile(r"[0-9]{1,18}")
# Printable ASCII without space and comma: safe to echo back in a header.
_METADATA_KEY = re.compile(r"[!-+\--~]+")


class WrongContentType(upload_errors.UploadError):
    """A body that is not application/offset+octet-stream."""


_STATUS: dict[type, tuple[int, str]] = {
    WrongContentType: (415, "Unsupported Media Type"),
    upload_errors.UploadLengthRequired: (411, "Length Required"),
    upload_errors.UploadInvalid: (400, "Bad Request"),
    upload_errors.UploadNotFound: (404, "Not Found"),
    upload_errors.UploadGone: (410, "Gone"),
    upload_errors.UploadConflict: (409, "Conflict"),
    upload_errors.UploadTooLarge: (413, "Request Entity Too Large"),
    upload_errors.UploadTypeRefused: (415, "Unsupported Media Type"),
    upload_errors.UploadRefused: (403, "Forbidden"),
    upload_errors.ChecksumMismatch: (460, "Checksum Mismatch"),
}
NOT_FOUND = "Upload not found."


# --- headers ------------------------------------------------------------------------------


def parse_metadata(header: str) -> dict[str, str]:
    """Read Upload-Metadata: comma-separated `key base64value` pairs, the value optional."""
    metadata: dict[str, str] = {}
    if not header.strip():
        return metadata
    for pair in header.split(","):
        key, _, encoded = pair.strip().partition(" ")
        if not _METADATA_KEY.fullmatch(key):
            raise upload_errors.UploadInvalid(
                "Upload-Metadata must be comma-separated 'key base64value' pairs; "
                "keys are non-empty ASCII without spaces or commas."
            )
        if key in metadata:
            raise upload_errors.UploadInvalid(f"Upload-Metadata repeats the key {key[:50]!r}.")
        try:
            value = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise upload_errors.UploadInvalid(
                f"The Upload-Metadata value of {key[:50]!r} is not base64-encoded UTF-8 text."
            ) from None
        if "\x00" in value:  # PostgreSQL's jsonb cannot hold it, and no real name has one
            raise upload_errors.UploadInvalid(
                f"The Upload-Metadata value of {key[:50]!r} has a NUL."
            )
        metadata[key] = value
    return metadata


def encode_metadata(metadata: dict) -> str:
    """Upload-Metadata as the client sent it: keys as given, values base64 again."""
    return ",".join(
        f"{key} {base64.b64encode(str(value).encode()).decode('ascii')}" if value else key
        for key, value in metadata.items()
    )


def _non_negative(value: str | None, name: str) -> int:
    if value is None or not _NON_NEGATIVE.fullmatch(value.strip()):
        raise upload_errors.UploadInvalid(f"{name} must be a non-negative integer.")
    return int(value)


def _checksum(request: HttpRequest) -> staging.Checksum | None:
    value = request.headers.get("Upload-Checksum")
    return None if value is None else staging.parse_checksum(value)


@dataclass(frozen=True)
class Body:
    """A request body to stream: the stream and its Content-Length (None when chunked)."""

    stream: staging.Readable
    length: int | None

    @property
    def present(self) -> bool:
        return self.length != 0


def _body(request: HttpRequest) -> Body:
    if request.META.get("CONTENT_LENGTH", "") != "":
        length = _non_negative(request.META["CONTENT_LENGTH"], "Content-Length")
        # Under gunicorn, straight from the socket into the writer's buffers; elsewhere
        # request.read(), which is bounded by Content-Length and never touches request.body.
        return Body(staging.socket_body(request.META, length) or request, length)
    if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
        # Django reads nothing without a Content-Length; gunicorn decodes chunked bodies and
        # says so with wsgi.input_terminated, so we read its input directly.
        if request.META.get("wsgi.input_terminated"):
            return Body(request.META["wsgi.input"], None)
        raise upload_errors.UploadLengthRequired("Send a Content-Length with the body.")
    return Body(request, 0)


def _stream_body(request: HttpRequest) -> Body:
    body = _body(request)
    if body.present and request.content_type != OFFSET_STREAM:
        raise WrongContentType(f"Upload data must be sent as {OFFSET_STREAM}.")
    return body


def _expiry_headers(upload: Upload) -> dict[str, str]:
    if upload.state != Upload.State.OPEN:
        return {}
    return {"Upload-Expires": http_date(upload.expires_at.timestamp())}


def _reply(
    status_code: int, message: str = "", headers: dict | None = None, reason: str | None = None
) -> HttpResponse:
    """Every tus answer: Tus-Resumable, never cached, errors as one short line of text."""
    response = HttpResponse(
        f"{message}\n" if message else b"",
        status=status_code,
        reason=reason,
        content_type="text/plain; charset=utf-8",
    )
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _error_reply(error: upload_errors.UploadError) -> HttpResponse:
    kind = next(k for k in type(error).__mro__ if k in _STATUS)
    status_code, reason = _STATUS[kind]
    return _reply(status_code, str(error), reason=reason)


def _options_reply() -> HttpResponse:
    return _reply(
        204,
        headers={
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            # The largest any flow takes; each grant's own limit is enforced at creation.
            "Tus-Max-Size": str(max(settings.UPLOAD_MAX_BYTES_BY_FLOW.values())),
            "Tus-Checksum-Algorithm": ",".join(staging.CHECKSUM_ALGORITHMS),
        },
    )


def _method(request: HttpRequest) -> str | None:
    override = request.headers.get("X-HTTP-Method-Override", "").strip().upper()
    return override if request.method == "POST" and override else request.method


def _dispatch(request: HttpRequest, handlers: dict, **kwargs) -> HttpResponse:
    method = _method(request)
    if method == "OPTIONS":
        return _options_reply()  # the spec says to ignore Tus-Resumable here
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        return _reply(
            412,
            f"This server speaks tus {TUS_VERSION}; send Tus-Resumable: {TUS_VERSION}.",
            headers={"Tus-Version": TUS_VERSION},
        )
    handler = handlers.get(method)
    if handler is None:
        return _reply(
            405, "Method not allowed.", headers={"Allow": ", ".join([*handlers, "OPTIONS"])}
        )
    try:
        return handler(request, **kwargs)
    except upload_errors.UploadError as error:
        return _error_reply(error)


def _grant_or_not_found(request: HttpRequest):
    grant = grants.grant_from_header(request)
    if grant is None:
        raise upload_errors.UploadNotFound(NOT_FOUND)
    return grant


# --- the views ----------------------------------------------------------------------------


def _create(request: HttpRequest) -> HttpResponse:
    grant = grants.grant_from_header(request)
    if grant is None:
        return _reply(
            403,
            f"Uploading needs a valid {grants.GRANT_HEADER} header; "
            "the grant may have expired or been revoked.",
        )
    if "Upload-Defer-Length" in request.headers:
        raise upload_errors.UploadInvalid("Deferred length is not supported; send Upload-Length.")
    length = _non_negative(request.headers.get("Upload-Length"), "Upload-Length")
    metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
    checksum = _checksum(request)
    body = _stream_body(request)
    if body.length is not None and body.length > length:
        raise upload_errors.UploadTooLarge("The body is longer than Upload-Length.")
    upload = uploads.upload_create(grant=grant, length=length, metadata=metadata)
    headers = {"Location": request.build_absolute_uri(reverse("uploads:upload", args=[upload.id]))}
    if body.present:
        upload = _append_at_creation(grant, upload, body, checksum)
        headers["Upload-Offset"] = str(upload.offset)
    return _reply(201, headers=headers | _expiry_headers(upload))


def _append_at_creation(grant, upload: Upload, body: Body, checksum) -> Upload:
    # creation-with-upload: the upload exists now, so a rejected chunk (bad checksum, body cut
    # short) still answers 201 with the offset reached; the client PATCHes from there instead
    # of creating a second upload and spending another of the grant's files.
    try:
        return uploads.upload_append(
            grant=grant,
            upload_id=upload.id,
            offset=0,
            body=body.stream,
            body_length=body.length,
            checksum=checksum,
        )
    except (upload_errors.ChecksumMismatch, upload_errors.UploadInvalid):
        return uploads.upload_get_for(grant=grant, id=upload.id)


def _head(request: HttpRequest, upload_id) -> HttpResponse:
    grant = _grant_or_not_found(request)
    upload = uploads.upload_get_for(grant=grant, id=upload_id)
    headers = {
        "Upload-Offset": str(uploads.upload_resume_offset(upload)),
        "Upload-Length": str(upload.length),
    }
    if upload.metadata:
        headers["Upload-Metadata"] = encode_metadata(upload.metadata)
    return _reply(200, headers=headers | _expiry_headers(upload))


def _patch(request: HttpRequest, upload_id) -> HttpResponse:
    if grants.grant_header_id(request) is None:
        raise upload_errors.UploadNotFound(NOT_FOUND)
    if request.content_type != OFFSET_STREAM:
        raise WrongContentType(f"PATCH bodies must be sent as {OFFSET_STREAM}.")
    offset = _non_negative(request.headers.get("Upload-Offset"), "Upload-Offset")
    checksum = _checksum(request)
    body = _body(request)
    # The grant is checked under the upload's writer lock, from the row read with the upload
    # (uploads.upload_append_as): one query fewer on every PATCH.
    upload = uploads.upload_append_as(
        grant_for=lambda known: grants.grant_from_header(request, known=known),
        upload_id=upload_id,
        offset=offset,
        body=body.stream,
        body_length=body.length,
        checksum=checksum,
    )
    return _reply(204, headers={"Upload-Offset": str(upload.offset)} | _expiry_headers(upload))


def _terminate(request: HttpRequest, upload_id) -> HttpResponse:
    grant = _grant_or_not_found(request)
    uploads.upload_terminate(grant=grant, upload_id=upload_id)
    return _reply(204)


@csrf_exempt  # see the module docstring: the grant header is what protects these views
def upload_collection(request: HttpRequest) -> HttpResponse:
    """The tus creation URL: POST starts an upload, OPTIONS describes this server."""
    return _dispatch(request, {"POST": _create})


@csrf_exempt  # see the module docstring
def upload_resource(request: HttpRequest, upload_id) -> HttpResponse:
    """One upload: HEAD for its offset, PATCH to append, DELETE to cancel."""
    return _dispatch(
        request, {"HEAD": _head, "PATCH": _patch, "DELETE": _terminate}, upload_id=upload_id
    )


# --- staff upload grants (DRF) -----------------------------------------------------------


class CanUploadEvidence(IsVerifiedUser):
    message = "Only verified investigators and supervisors upload evidence."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and can_upload_evidence(request.user)


class GrantRequestSerializer(serializers.Serializer):
    max_files = serializers.IntegerField(
        min_value=1, max_value=grants.MAX_FILES_PER_GRANT, required=False
    )
    max_file_bytes = serializers.IntegerField(min_value=1, required=False)
    media_types = serializers.ListField(
        child=serializers.CharField(max_length=100), min_length=1, max_length=20, required=False
    )


class GrantCreate(APIView):
    """Issue an upload grant for the signed-in investigator's own tus uploads."""

    permission_classes = [CanUploadEvidence]

    @extend_schema(request=GrantRequestSerializer, responses={201: GrantSerializer})
    def post(self, request):
        asked = GrantRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        grant = grants.grant_create_for_staff(actor=request.user, **asked.validated_data)
        body = GrantSerializer(
            {
                "id": grant.id,
                "header": grants.GRANT_HEADER,
                "value": grants.grant_header_value(grant),
                "max_files": grant.max_files,
                "max_file_bytes": grant.max_file_bytes,
                "media_types": grant.media_types,
                "expires_at": grant.expires_at,
            }
        ).data
        return Response(body, status=status.HTTP_201_CREATED)
