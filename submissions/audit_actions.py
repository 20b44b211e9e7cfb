"""Audit actions of the tips line: what tipsters and investigators do with a tip."""

from portal.audit import register_action

TIP_RECEIVED = register_action("tip.received", "An anonymous tip was received")
TIP_RETURNED = register_action("tip.returned", "A tipster came back with their receipt")
TIP_ANSWERED = register_action("tip.answered", "A tipster answered or wrote to investigators")
TIP_UPLOAD_GRANTED = register_action("tip.upload_granted", "A tipster was allowed to add files")
TIP_VIEWED = register_action("tip.viewed", "A tip was opened in the inbox")
TIPS_LISTED = register_action("tip.listed", "The tip inbox was viewed or searched")
TIP_TRANSITIONED = register_action("tip.transitioned", "A tip moved in the workflow")
TIP_ASSIGNED = register_action("tip.assigned", "A tip was assigned to an investigator")
TIP_CHANGED = register_action(
    "tip.changed", "A tip's priority, case number or status message changed"
)
TIP_NOTE_ADDED = register_action("tip.note_added", "An internal note was added to a tip")
TIP_QUESTION_SENT = register_action("tip.question_sent", "Investigators wrote to the tipster")
TIP_NOTIFIED = register_action("tip.notified", "Reviewers were emailed about a new tip")
TIPS_CASE_LOOKUP = register_action("tip.case_lookup", "Tips were looked up by case number")
TIP_TEMPLATE_SAVED = register_action(
    "tip.template_saved", "A question template for tipsters was added or changed"
)
TIP_TEMPLATE_DELETED = register_action(
    "tip.template_deleted", "A question template for tipsters was deleted"
)
TIP_SETTINGS_CHANGED = register_action(
    "tip.settings_changed", "The agency's tips-line settings changed"
)
