"""Audit actions of the notifications app."""

from portal.audit import register_action

PREFERENCES_CHANGED = register_action(
    "notifications.preferences_changed", "A user changed which notifications they get"
)
