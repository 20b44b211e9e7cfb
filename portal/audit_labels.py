"""The audit log in an auditor's words: actions grouped and labelled, target kinds by name,
date presets. Shared by the audit log's filters (portal.forms), its selector and its table."""

import datetime as dt
import json
from typing import Any

from django.apps import apps
from django.utils.translation import gettext_lazy as _

from portal.audit import action_description, registered_actions

# The audit log's action groups (the action name's prefix), in words an auditor reads.
ACTION_GROUPS = {
    "access": _("Access refused"),
    "account": _("Accounts"),
    "admin": _("Administration"),
    "audit": _("Audit log"),
    "auth": _("Sign-in"),
    "case": _("Cases"),
    "device": _("Body cameras"),
    "evidence": _("Evidence"),
    "goal": _("Goals"),
    "live": _("Live feeds"),
    "notifications": _("Notifications"),
    "registry": _("Camera registry and footage requests"),
    "retention": _("Retention"),
    "review": _("Community review"),
    "share": _("Sharing with prosecutors"),
    "tip": _("Tips"),
    "upload": _("Uploads"),
}
# Prefixes that belong to another prefix's group.
SAME_GROUP = {"livefeeds": "live"}
# The apps whose rows are audit targets; Django's own and third-party models are not.
TARGET_APPS = (
    "portal",
    "evidence",
    "registry",
    "submissions",
    "devices",
    "livefeeds",
    "review",
    "transparency",
    "notifications",
)
PERIODS = [
    ("", _("Dates below")),
    ("today", _("Today")),
    ("7d", _("Last 7 days")),
    ("30d", _("Last 30 days")),
    ("month", _("This month")),
]


def action_group_of(name: str) -> str:
    """The group key of an action (its name's prefix; language-independent, used in links)."""
    prefix = name.split(".", 1)[0]
    return SAME_GROUP.get(prefix, prefix)


def group_label(group: str) -> str:
    return str(ACTION_GROUPS.get(group, group.replace("_", " ").capitalize()))


def action_choices() -> list:
    """Every registered action under its group's label, labelled by its description; each
    group starts with "any action of the group" (value `group:<key>`)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for action in registered_actions():
        groups.setdefault(action_group_of(action.name), []).append(
            (action.name, action.description)
        )
    choices: list = [("", _("Any action"))]
    for key in sorted(groups, key=group_label):
        label = group_label(key)
        any_of = (f"group:{key}", _("Any of: %(group)s") % {"group": label})
        choices.append((label, [any_of, *sorted(groups[key], key=lambda c: c[1])]))
    return choices


def actions_in_group(group: str) -> list[str]:
    return [a.name for a in registered_actions() if action_group_of(a.name) == group]


def target_type_choices(current: str = "") -> list[tuple[str, Any]]:
    """The kinds of record an audit row can be about, by name; a value typed into an old
    link that names no model is kept so the link still filters."""
    choices = sorted(
        (
            (model._meta.label_lower, str(model._meta.verbose_name).capitalize())
            for model in apps.get_models()
            if model._meta.app_config.name in TARGET_APPS
        ),
        key=lambda c: c[1],
    )
    if current and current not in dict(choices):
        choices.append((current, current))
    return [("", _("Any kind")), *choices]


def period_dates(period: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """A date preset as the first and last day it covers (both included)."""
    if period == "today":
        return today, today
    if period == "7d":
        return today - dt.timedelta(days=6), today
    if period == "30d":
        return today - dt.timedelta(days=29), today
    return today.replace(day=1), today


def action_label(name: str) -> str:
    """The registered description of an action, or its name if it is no longer registered."""
    return action_description(name)


def details_json(details, *, indent: int | None = 2) -> str:
    """An audit row's details as JSON, keys sorted: indented on the page, one line in the CSV."""
    return json.dumps(details, indent=indent, sort_keys=True, ensure_ascii=False, default=str)
