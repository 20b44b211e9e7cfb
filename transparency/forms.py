"""The goal form: it reads what a supervisor typed; transparency.services.goal_validate says
whether the goal makes sense (and computes its baseline)."""

import datetime as dt
import re

from django import forms

from portal.text import CleanTextFormMixin
from transparency.metrics import GOALS_NOT_YET, goal_metrics
from transparency.models import Goal
from transparency.services import TITLE_MAX, WHY_MAX, GoalInput

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class MonthInput(forms.TextInput):
    input_type = "month"


class MonthField(forms.CharField):
    """A month as YYYY-MM (what <input type="month"> sends), read as its first day."""

    widget = MonthInput

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        match = _MONTH.match(text.strip())
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
            raise forms.ValidationError("Give a month as YYYY-MM, e.g. 2026-01.")
        return dt.date(int(match.group(1)), int(match.group(2)), 1)

    def prepare_value(self, value):
        return f"{value:%Y-%m}" if isinstance(value, dt.date) else value


class MetricField(forms.ChoiceField):
    """The registered goal metrics; a metric the issue names that Canvass cannot compute yet
    passes through, so the service can say why it is not yet (its reason, not "invalid")."""

    def valid_value(self, value):
        return super().valid_value(value) or value in {n.name for n in GOALS_NOT_YET}


class GoalForm(CleanTextFormMixin, forms.Form):
    title = forms.CharField(max_length=TITLE_MAX)
    why = forms.CharField(
        label="Why this goal",
        max_length=WHY_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Plain text; shown with the goal (on the public page too, if it is public).",
    )
    metric = MetricField(
        label="What is measured",
        error_messages={
            "invalid_choice": "Choose one of the metrics Canvass computes (the list on this page)."
        },
    )
    direction = forms.ChoiceField(
        label="Better is", choices=Goal.Direction.choices, widget=forms.RadioSelect
    )
    target_value = forms.FloatField(label="Target")
    period_start = MonthField(label="Period: first month")
    period_end = MonthField(label="Period: last month")
    baseline_start = MonthField(
        label="Baseline: first month",
        help_text="The baseline is computed by the metric over these months, from what Canvass "
        "recorded; it is never typed in.",
    )
    baseline_end = MonthField(label="Baseline: last month")
    public = forms.BooleanField(
        label="Publish on the agency's transparency page and in its open data", required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = [(m.name, str(m.title)) for m in goal_metrics()]

    def goal_input(self) -> GoalInput:
        data = self.cleaned_data
        return GoalInput(
            title=data["title"],
            why=data.get("why") or "",
            metric=data["metric"],
            direction=data["direction"],
            target_value=data["target_value"],
            period_start=data["period_start"],
            period_end=data["period_end"],
            baseline_start=data["baseline_start"],
            baseline_end=data["baseline_end"],
            public=data["public"],
        )

    @classmethod
    def initial_of(cls, goal: Goal) -> dict:
        return {
            name: getattr(goal, name)
            for name in (
                "title",
                "why",
                "metric",
                "direction",
                "target_value",
                "period_start",
                "period_end",
                "baseline_start",
                "baseline_end",
                "public",
            )
        }
