"""Custody events: the audit actions every evidence item's timeline is made of."""

from portal.audit import register_action

RECEIVED = register_action("evidence.received", "An original was received")
HASHED = register_action("evidence.hashed", "An original was stored and its SHA-256 computed")
PROCESSED = register_action("evidence.processed", "Derivatives were made (with parameters)")
UNPLAYABLE = register_action(
    "evidence.unplayable", "The original could not be decoded; kept as evidence"
)
REJECTED = register_action(
    "evidence.rejected", "The original broke a limit or an allowed type; kept, not processed"
)
VIEWED = register_action("evidence.viewed", "An item's page or record was viewed")
PLAYED = register_action("evidence.played", "An item's media was played")
DOWNLOADED = register_action("evidence.downloaded", "An original or derivative was downloaded")
METADATA_CHANGED = register_action("evidence.metadata_changed", "An item's metadata was changed")
EXPORTED = register_action("evidence.exported", "An item was exported")
SHARED = register_action("evidence.shared", "An item was shared")
VERIFIED = register_action("evidence.verified", "An original was re-hashed and matched")
INTEGRITY_FAILED = register_action(
    "evidence.integrity_failed", "An original no longer matches its SHA-256"
)
LISTED = register_action("evidence.listed", "The evidence list was viewed")
CUSTODY_VIEWED = register_action("evidence.custody_viewed", "An item's custody record was viewed")
UPLOAD_GRANTED = register_action("upload.granted", "An upload grant was issued")
UPLOAD_GRANTS_REVOKED = register_action(
    "upload.grants_revoked", "Upload grants were revoked (replaced by a new one)"
)
UPLOAD_TERMINATED = register_action("upload.terminated", "An unfinished upload was cancelled")
UPLOADS_EXPIRED = register_action(
    "upload.expired", "Unfinished uploads expired and their bytes were removed"
)
