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
FAILED = register_action(
    "evidence.failed", "Processing failed every allowed attempt; the original is kept"
)
RETRIED = register_action(
    "evidence.retried", "A failed item was offered to the pipeline again by an operator"
)
VIEWED = register_action("evidence.viewed", "An item's page or record was viewed")
PLAYED = register_action("evidence.played", "An item's media was played")
DOWNLOADED = register_action("evidence.downloaded", "An original or derivative was downloaded")
METADATA_CHANGED = register_action("evidence.metadata_changed", "An item's metadata was changed")
EXPORTED = register_action("evidence.exported", "An item was exported")
SHARED = register_action("evidence.shared", "An item was shared")
RELEASE_WITHHELD = register_action(
    "evidence.release_withheld",
    "An item of a redacted-only share was withheld: it has no releasable redacted copy",
)
VERIFIED = register_action("evidence.verified", "An original was re-hashed and matched")
INTEGRITY_FAILED = register_action(
    "evidence.integrity_failed", "An original no longer matches its SHA-256"
)
LISTED = register_action("evidence.listed", "The evidence list was viewed")
CUSTODY_VIEWED = register_action("evidence.custody_viewed", "An item's custody record was viewed")
CUSTODY_PROOF_EXPORTED = register_action(
    "evidence.custody_proof_exported", "An item's custody proof (offline-verifiable) was exported"
)
CUSTODY_PROOF_REFUSED = register_action(
    "evidence.custody_proof_refused",
    "An item's custody proof was refused: the user's hourly allowance of exports was used up",
)
# The audit log's own Merkle checkpoints (evidence.custody.proof), kept in the log they sign.
CHECKPOINT_SIGNED = register_action(
    "audit.checkpoint_signed", "A signed checkpoint of the audit log's Merkle tree was made"
)
UPLOAD_GRANTED = register_action("upload.granted", "An upload grant was issued")
UPLOAD_GRANTS_REVOKED = register_action(
    "upload.grants_revoked", "Upload grants were revoked (replaced by a new one)"
)
UPLOAD_TERMINATED = register_action("upload.terminated", "An unfinished upload was cancelled")
UPLOADS_EXPIRED = register_action(
    "upload.expired", "Unfinished uploads expired and their bytes were removed"
)

# Cases
CASE_CREATED = register_action("case.created", "A case was opened")
CASE_UPDATED = register_action("case.updated", "A case's details were changed")
CASE_VIEWED = register_action("case.viewed", "A case's page or record was viewed")
CASE_LISTED = register_action("case.listed", "The case list was viewed")
CASE_LOOKED_UP = register_action(
    "case.looked_up", "Cases were looked up by number or title (to add evidence to one)"
)
CASE_MEMBER_ADDED = register_action("case.member_added", "A member was added to a case")
CASE_MEMBER_REMOVED = register_action("case.member_removed", "A member was removed from a case")
CASE_ITEM_ADDED = register_action("case.item_added", "An item was added to a case")
CASE_ITEM_REMOVED = register_action("case.item_removed", "An item was removed from a case")
DO_NOT_DISCLOSE_SET = register_action(
    "evidence.do_not_disclose_set", "An item's do-not-disclose flag was changed", needs_reason=True
)

# Shares with prosecuting offices
SHARE_CREATED = register_action("share.created", "A case was shared with a prosecuting office")
SHARE_REVOKED = register_action("share.revoked", "A share was revoked")
SHARE_VIEWED = register_action("share.viewed", "A prosecutor viewed a shared case")
SHARE_REFUSED = register_action("share.refused", "A prosecutor was refused an action on a share")
# Names no one: only counts and the ids the caller sent, so the log is no directory either.
SHARE_RECIPIENTS_REFUSED = register_action(
    "share.recipients_refused", "A share named recipients who are not prosecutors of the office"
)
SHARE_ACKNOWLEDGED = register_action("share.acknowledged", "A prosecutor acknowledged receipt")
SHARE_LINK_CREATED = register_action(
    "share.link_created", "A prosecutor reshared a case as a download link"
)
SHARE_LINK_USED = register_action("share.link_used", "A reshare download link was used")
SHARE_LINK_REFUSED = register_action(
    "share.link_refused", "A spent, expired or revoked reshare link was refused"
)
PACKAGE_DOWNLOADED = register_action("case.package_downloaded", "A case package was downloaded")
SHARE_PACKAGE_DOWNLOADED = register_action(
    "share.package_downloaded", "A prosecutor downloaded a shared case's package"
)

# Retention and deletion
RETENTION_CATEGORY_CREATED = register_action(
    "retention.category_created", "A retention category was created"
)
RETENTION_SET = register_action("evidence.retention_set", "An item's retention category was set")
LEGAL_HOLD_SET = register_action(
    "evidence.legal_hold_set",
    "A legal hold was placed on or lifted from an item",
    needs_reason=True,
)
DELETION_REQUESTED = register_action(
    "evidence.deletion_requested", "Deletion of an item was requested", needs_reason=True
)
DELETION_REFUSED = register_action(
    "evidence.deletion_refused", "A deletion request was refused or could not proceed"
)
DELETED = register_action(
    "evidence.deleted", "An item's original and derivatives were removed; its tombstone remains"
)
RETENTION_APPLIED = register_action(
    "retention.applied", "The nightly retention run deleted what was past retention"
)
# Face redaction (evidence/processing/redaction.py): custody of the redacted copies.
REDACTION_REQUESTED = register_action(
    "evidence.redaction_requested", "A face-redacted copy was requested (who asked and approved)"
)
REDACTION_CANCELLED = register_action(
    "evidence.redaction_cancelled", "A face-redaction job was cancelled"
)
REDACTED = register_action(
    "evidence.redacted",
    "A face-redacted copy and its recipe were made (hashes, recipe, who asked and approved)",
)
REDACTION_FAILED = register_action(
    "evidence.redaction_failed", "A face-redaction job failed; nothing was recorded"
)
REDACTION_ANALYSED = register_action(
    "evidence.redaction_analysed", "Faces were found; the draft recipe waits for a reviewer"
)
REDACTION_EDITED = register_action(
    "evidence.redaction_edited",
    "A reviewer saved edits to a redaction's draft (boxes, removed detections, mutes, fill)",
)
REDACTION_TRACKED = register_action(
    "evidence.redaction_tracked", "A reviewer's manual boxes were tracked across the frames"
)
REDACTION_APPROVED = register_action(
    "evidence.redaction_approved", "A redaction's reviewed recipe was approved for rendering"
)
