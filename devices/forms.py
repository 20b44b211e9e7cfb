"""Forms of the inventory pages. User and device choices start empty: the view fills them from
the selectors, scoped to the signed-in user's agency."""

from django import forms

from devices.models import Device
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


class OfficerChoiceField(forms.ModelChoiceField):
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
    officer = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Any"
    )
    device = forms.ModelChoiceField(
        queryset=Device.objects.none(), required=False, empty_label="Any"
    )
    incident = forms.CharField(
        required=False, max_length=64, label="CAD incident", help_text="The incident number."
    )

    def __init__(self, *args, officers, devices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = officers
        self.fields["device"].queryset = devices
