"""A case's activity told in plain words ("Dana Ortiz added IMG_0042.jpg as exhibit 3").

The audit rows stay the record; this only reads them. An item is named as its reader may see
it: by its file name when the sender's choice lets them see it, else by its exhibit number.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from evidence import audit_actions as actions
from evidence.selectors import ITEM_TARGET_TYPE
from portal.audit import action_description
from portal.models import AuditEvent

# What was done, with {who} (the person or system) and {what} (the item); the case's own
# events need no {what}.
_SENTENCES = {
    actions.CASE_CREATED.name: "{who} opened the case",
    actions.CASE_VIEWED.name: "{who} viewed the case",
    actions.CASE_ITEM_REMOVED.name: "{who} took {what} out of the case",
    actions.RECEIVED.name: "{what} was received from {who}",
    actions.HASHED.name: "{what} was stored and its SHA-256 fingerprint taken",
    actions.PROCESSED.name: "Playable copies of {what} were made",
    actions.UNPLAYABLE.name: "{what} could not be played; the original is kept",
    actions.REJECTED.name: "{what} broke an upload limit; the original is kept",
    actions.FAILED.name: "Processing {what} failed; the original is kept",
    actions.VIEWED.name: "{who} opened {what}",
    actions.PLAYED.name: "{who} played {what}",
    actions.DOWNLOADED.name: "{who} downloaded {what}",
    actions.METADATA_CHANGED.name: "{who} corrected the time or place of {what}",
    actions.SHARED.name: "{who} shared {what} with a prosecuting office",
    actions.VERIFIED.name: "{what} was checked against its SHA-256 and matched",
    actions.INTEGRITY_FAILED.name: "{what} no longer matches its SHA-256",
    actions.CUSTODY_VIEWED.name: "{who} read the custody record of {what}",
    actions.CUSTODY_PROOF_EXPORTED.name: "{who} exported the custody proof of {what}",
    actions.DO_NOT_DISCLOSE_SET.name: "{who} changed whether {what} may be disclosed",
    actions.SHARE_CREATED.name: "{who} shared the case with a prosecuting office",
    actions.SHARE_REVOKED.name: "{who} revoked a share of the case",
    actions.SHARE_VIEWED.name: "{who} viewed the shared case",
    actions.SHARE_ACKNOWLEDGED.name: "{who} acknowledged receipt of the shared case",
    "case.package_downloaded": "{who} downloaded the case package",
}


@dataclass(frozen=True)
class ActivityLine:
    at: dt.datetime
    text: str
    refused: bool


def person(label: str) -> str:
    """A name without the e-mail address the audit label carries beside it."""
    name = label.split(" <", 1)[0].strip()
    return name or label


def _sentence(event: AuditEvent, what: str) -> str:
    who = person(event.actor_label) or "the system"
    details: dict[str, Any] = event.details if isinstance(event.details, dict) else {}
    if event.action == actions.CASE_ITEM_ADDED.name:
        exhibit = details.get("exhibit")
        return f"{who} added {what}" + (f" as exhibit {exhibit}" if exhibit else "")
    if event.action == actions.CASE_UPDATED.name:
        fields = ", ".join(f.replace("_", " ") for f in sorted(details.get("changes", {})))
        return f"{who} changed the case's {fields or 'details'}"
    if event.action in (actions.CASE_MEMBER_ADDED.name, actions.CASE_MEMBER_REMOVED.name):
        member = person(str(details.get("member", "a colleague")))
        if event.action == actions.CASE_MEMBER_ADDED.name:
            return f"{who} added {member} to the case"
        return f"{who} took {member} off the case"
    template = _SENTENCES.get(event.action)
    if template is None:
        return f"{who}: {action_description(event.action)}" + (
            f" ({what})" if event.target_type == ITEM_TARGET_TYPE else ""
        )
    text = template.format(who=who, what=what)
    return text[0].upper() + text[1:]


def activity_in_words(*, events, item_names: dict[str, str]) -> list[ActivityLine]:
    """Each audit row as one line; `item_names` maps item ids to what this reader calls them."""
    lines = []
    for event in events:
        what = "an item"
        if event.target_type == ITEM_TARGET_TYPE:
            what = item_names.get(event.target_id, "an item no longer in the case")
        lines.append(
            ActivityLine(
                at=event.at,
                text=_sentence(event, what),
                refused=event.outcome == AuditEvent.Outcome.DENIED,
            )
        )
    return lines
