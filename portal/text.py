"""User text without invisible tricks: bidirectional overrides and control characters.

A right-to-left override (U+202E) or an isolate can make staff pages show text reversed or
reordered ("exe.gpj" read as "jpg.exe", a plate number backwards), and control characters and
terminal escape sequences (ESC [ ...) can rewrite what a log or terminal shows. Every form and
serializer that takes user text cleans it on input with `clean_text`: each such character
becomes U+FFFD (one visible character for one, so length limits still hold). Newlines and tabs
stay; CR LF becomes LF.

Evidence files are never altered; their names are marked on display only (`visible_controls`,
the `visible_controls` template filter).
"""

import re

from django import forms
from django.core.exceptions import ValidationError

REPLACEMENT = "\ufffd"
# LRE RLE PDF LRO RLO, LRI RLI FSI PDI, LRM RLM, the Arabic letter mark.
_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
# C0 (but tab and newline), DEL and C1: ESC (U+001B) and CSI (U+009B) start escape sequences.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_UNSAFE = re.compile(f"[{_BIDI}{_CONTROLS}]")


def clean_text(value):
    """`value` with line ends made LF and every unsafe character replaced by U+FFFD."""
    if not isinstance(value, str):
        return value
    return _UNSAFE.sub(REPLACEMENT, value.replace("\r\n", "\n"))


def has_unsafe(value: str) -> bool:
    return bool(_UNSAFE.search(value or ""))


def visible_controls(value) -> str:
    """For display of text we must not change (an evidence file's name): each unsafe character
    shown as its code, e.g. "[U+202E]", so nothing is reordered and the trick is visible."""
    if not isinstance(value, str):
        return value
    return _UNSAFE.sub(lambda m: f"[U+{ord(m.group()):04X}]", value)


def _clean_values(data: dict, skip=()) -> dict:
    for name, value in list(data.items()):
        if name in skip:
            continue
        if isinstance(value, str):
            data[name] = clean_text(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            data[name] = [clean_text(v) for v in value]
    return data


class CleanTextFormMixin:
    """Put first in a form's bases: every text value it cleans comes out through clean_text.

    Passwords (PasswordInput) are left exactly as typed.
    """

    def full_clean(self):
        # After every clean_<field> and clean(), whether or not they call super().
        super().full_clean()
        if hasattr(self, "cleaned_data"):
            passwords = {
                name
                for name, field in self.fields.items()
                if isinstance(field.widget, forms.PasswordInput)
            }
            _clean_values(self.cleaned_data, skip=passwords)


class CleanTextSerializerMixin:
    """Put first in a serializer's bases: every text value it accepts goes through clean_text."""

    def to_internal_value(self, data):
        return _clean_values(super().to_internal_value(data))


def errors_text(exc: ValidationError) -> str:
    """A refused change's messages as one line for the page."""
    return " ".join(exc.messages)
