"""{% load portal_audit %}: an audit row in words (`|action_label`) and its details as
indented JSON (`|pretty_json`, escaped by the template like any other text)."""

from django import template

from portal.audit_labels import action_label as _action_label
from portal.audit_labels import details_json

register = template.Library()


@register.filter
def action_label(name: str) -> str:
    return _action_label(name)


@register.filter
def pretty_json(details) -> str:
    return details_json(details)
