"""The evidence store's models, one module per part; all under the one app label "evidence",
so tables, migrations and the audit log's target types ("evidence.evidenceitem", ...) are
the same as when they lived in one file."""

from evidence.models.cases import Case, CaseItem, CaseMember
from evidence.models.custody import AuditLeaf
from evidence.models.disclosure import Share, ShareItem, ShareLink, SigningKey
from evidence.models.intake import Upload, UploadGrant
from evidence.models.items import (
    Confidence,
    Derivative,
    EvidenceItem,
    IntegrityCheck,
    MediaKind,
    ProvenanceStatus,
    Redaction,
    Source,
    ValueSource,
)
from evidence.models.retention import DeletionRequest, RetentionCategory

__all__ = [
    "AuditLeaf",
    "Case",
    "CaseItem",
    "CaseMember",
    "Confidence",
    "DeletionRequest",
    "Derivative",
    "EvidenceItem",
    "IntegrityCheck",
    "MediaKind",
    "ProvenanceStatus",
    "Redaction",
    "RetentionCategory",
    "Share",
    "ShareItem",
    "ShareLink",
    "SigningKey",
    "Source",
    "Upload",
    "UploadGrant",
    "ValueSource",
]
