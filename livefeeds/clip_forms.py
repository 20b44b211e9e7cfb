"""The viewer page's clip form: the last N seconds, or from … to …, into a case."""

import datetime as dt
import zoneinfo

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator


class ClipForm(forms.Form):
    """`seconds` (30, 60, 120 or another number up to LIVE_CLIP_MAX_SECONDS), or `start` and
    `end` as the agency's local times (to the second); and the case number."""

    case_number = forms.CharField(
        max_length=50, label="Case number", help_text="The case the clip is filed into."
    )
    # The quick buttons send `seconds`; "Save the last seconds" sends mode=custom with
    # `custom_seconds`; "Save this window" sends mode=between with `start` and `end`.
    seconds = forms.IntegerField(required=False, min_value=1, label="Seconds")
    custom_seconds = forms.IntegerField(required=False, min_value=1, label="Other (seconds)")
    mode = forms.CharField(required=False)
    start = forms.DateTimeField(
        required=False,
        label="From",
        input_formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}),
    )
    end = forms.DateTimeField(
        required=False,
        label="To",
        input_formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}),
    )

    def __init__(self, *args, time_zone: str = "UTC", **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zoneinfo.ZoneInfo(time_zone)
        limit = settings.LIVE_CLIP_MAX_SECONDS
        for name in ("seconds", "custom_seconds"):
            self.fields[name].validators.append(MaxValueValidator(limit))

    def _local(self, value: dt.datetime | None) -> dt.datetime | None:
        # The page's times are the agency's wall clock: read them in its zone, not the server's.
        if value is None:
            return None
        return value.replace(tzinfo=None).replace(tzinfo=self.zone)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        mode = data.get("mode")
        start, end = self._local(data.get("start")), self._local(data.get("end"))
        data["start"] = data["end"] = None
        if mode == "between":
            if not (start and end):
                raise forms.ValidationError("Give the window's start and end.")
            data.update(seconds=None, start=start, end=end)
        elif mode == "custom":
            if data.get("custom_seconds") is None:
                raise forms.ValidationError("Give the number of seconds to save.")
            data["seconds"] = data["custom_seconds"]
        elif data.get("seconds") is None:
            raise forms.ValidationError(
                "Choose how many seconds to save, or give a start and an end."
            )
        return data
