"""{% load portal_text %}: `visible_controls` shows bidi overrides and control characters in
text we must not change (an evidence file's name) as their codes, e.g. "[U+202E]"."""

from django import template

from portal.text import visible_controls as _visible_controls

register = template.Library()


@register.filter
def visible_controls(value):
    return _visible_controls(value)
