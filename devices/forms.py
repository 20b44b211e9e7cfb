"""Forms of the inventory pages. User and device choices start empty: the view fills them from
the selectors, scoped to the signed-in user's agency."""

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join

from devices.models import AlertPriority, Device
from portal.models import User
from portal.text import CleanTextFormMixin

ANY = [("", "Any")]


class DeviceForm(CleanTextFormMixin, forms.Form):
    serial = forms.CharField(max_length=64)
    make = forms.CharField(max_length=64)
    model = forms.CharField(max_length=64)
    firmware = forms.CharField(max_length=64, required=False)


class DeviceStatusForm(CleanTextFormMixin, forms.Form):
    status = forms.ChoiceField(choices=Device.Status.choices)
    firmware = forms.CharField(max_length=64, required=False)


class PlainSelect(forms.Select):
    """A select written in one pass: Django's renders a template for each option, which for
    a force's officers (thousands) costs more than the rest of the page."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "",
            "{}",
            (
                (
                    format_html('<option value="{}" selected>{}</option>', v, label)
                    if str(v) in chosen
                    else format_html('<option value="{}">{}</option>', v, label),
                )
                for v, label in self.choices
            ),
        )
        final = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        return format_html("<select{}>{}</select>", flatatt(final), options)


class OfficerChoiceField(forms.ModelChoiceField):
    widget = PlainSelect

    def label_from_instance(self, obj: User) -> str:
        current = getattr(obj, "training_current", None)
        return f"{obj.full_name or obj.email}" + ("" if current else " (training not current)")


class CheckOutForm(forms.Form):
    officer = OfficerChoiceField(queryset=User.objects.none(), empty_label="Choose an officer")
    unit = forms.CharField(
        max_length=32, required=False, help_text="The CAD call sign this shift, e.g. 2A33."
    )

    def __init__(self, *args, officers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = officers


class TrainingForm(CleanTextFormMixin, forms.Form):
    course = forms.CharField(max_length=200, initial="Body-worn camera operation")
    completed_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    expires_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


class InventoryFilterForm(forms.Form):
    status = forms.ChoiceField(choices=ANY + list(Device.Status.choices), required=False)
    assigned = forms.ChoiceField(
        choices=ANY + [("yes", "Checked out"), ("no", "Not checked out")], required=False
    )
    training = forms.ChoiceField(
        label="Officer's training",
        choices=ANY + [("current", "Current"), ("expired", "Not current")],
        required=False,
    )


class RecordingFilterForm(forms.Form):
    """Typed, not chosen from a list: a force has thousands of devices and officers. The
    device and officer pages link here with their id (kept as hidden fields)."""

    officer = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, widget=forms.HiddenInput
    )
    device = forms.ModelChoiceField(
        queryset=Device.objects.none(), required=False, widget=forms.HiddenInput
    )
    serial = forms.CharField(required=False, max_length=64, label="Device serial")
    wearer = forms.CharField(
        required=False, max_length=200, label="Officer", help_text="Part of the name, or the email."
    )
    incident = forms.CharField(
        required=False, max_length=64, label="CAD incident", help_text="The incident number."
    )

    def __init__(self, *args, officers, devices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = officers
        self.fields["device"].queryset = devices


class AlertCloseForm(CleanTextFormMixin, forms.Form):
    """Resolve an alert or mark it false; the reason goes into the audit log."""

    state = forms.ChoiceField(
        choices=[("resolved", "Resolve"), ("false", "Mark false")],
        error_messages={"required": "Resolve the alert or mark it false."},
    )
    reason = forms.CharField(
        max_length=500, error_messages={"required": "Say why (it goes into the audit log)."}
    )


class TriggerSourceForm(CleanTextFormMixin, forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What sends the triggers, e.g. “TASER hub” or “ShotSpotter”."
    )


class AlertRuleForm(CleanTextFormMixin, forms.Form):
    """The agency's rule for one trigger type; `label` names a type the agency adds."""

    kind = forms.CharField(
        label="Type",
        max_length=40,
        help_text="Lower-case letters, digits and underscores, e.g. door_breach.",
    )
    label = forms.CharField(
        max_length=100, required=False, help_text="How the operations page names it."
    )
    priority = forms.ChoiceField(choices=AlertPriority.choices)
    start_recording = forms.BooleanField(
        label="Start the officer's camera", required=False, initial=True
    )
    nearby_radius_m = forms.IntegerField(
        label="Nearby cameras within (metres)",
        min_value=0,
        initial=0,
        help_text="Cameras of the same unit this close start too; 0: none.",
    )
