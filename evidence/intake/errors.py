"""What an upload can refuse; each message is safe to show to the client."""


class UploadError(Exception):
    """A refused upload request; the message is meant for the client."""


class UploadInvalid(UploadError):
    """The request is malformed (headers, checksum algorithm, a body cut short)."""


class UploadLengthRequired(UploadInvalid):
    """The body has neither a Content-Length nor a chunked encoding we can read."""


class UploadNotFound(UploadError):
    """No such upload for this grant: unknown, terminated, or another grant's."""


class UploadGone(UploadError):
    """The upload expired (or its staged bytes are gone); the client must start again."""


class UploadConflict(UploadError):
    """Wrong offset, or another request is writing to the same upload."""


class UploadTooLarge(UploadError):
    """Over the grant's or the server's size limit, or past the upload's declared length."""


class UploadTypeRefused(UploadError):
    """The declared file type is not one the grant allows."""


class UploadRefused(UploadError):
    """The grant allows no more of this (files exhausted, deleting a finished upload)."""


class ChecksumMismatch(UploadError):
    """The chunk does not match its Upload-Checksum; it was discarded."""
