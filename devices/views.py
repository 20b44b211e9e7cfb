"""Staff pages of the body-camera inventory, mounted at /staff/devices/: devices, officers and
their training, check-out and check-in, credentials, and the recordings list."""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from devices import selectors as sel
from devices import services as ds
from devices.auth import stream_key_for
from devices.forms import (
    AlertRuleForm,
    CheckOutForm,
    DeviceForm,
    DeviceStatusForm,
    InventoryFilterForm,
    RecordingFilterForm,
    TrainingForm,
    TriggerSourceForm,
)
from devices.models import AlertPriority
from devices.policies import can_manage_devices, can_view_devices
from devices.services import cad as cad_services
from devices.services import triggers as trigger_services
from portal.decorators import requires
from portal.pagination import BoundedPaginator
from portal.qr import qr_svg

# The inventory's and the officers' list show this many rows a page (keyset pages).
LIST_PAGE = 100
# Where devices call the API; the provisioning QR code carries its absolute URL.
DEVICE_API_PATH = "/api/devices/v1/"
CAD_API_PATH = "/api/cad/v1/incidents"
TRIGGER_API_PATH = "/api/devices/v1/triggers/"


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "You may not do that."


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@requires(can_view_devices)
def device_list(request):
    form = InventoryFilterForm(request.GET or None)
    filters = sel.InventoryFilters()
    if form.is_valid():
        filters = sel.InventoryFilters(**form.cleaned_data)
    devices = sel.devices_for(actor=request.user, filters=filters)
    after = request.GET.get("after", "")
    if after and "\x00" not in after:  # PostgreSQL refuses a NUL in text (a 500)
        devices = devices.filter(serial__gt=after)
    rows = list(devices[: LIST_PAGE + 1])
    return render(
        request,
        "devices/device_list.html",
        {
            "devices": rows[:LIST_PAGE],
            "form": form,
            "can_manage": can_manage_devices(request.user),
            **_next_page(
                request, rows, rows[LIST_PAGE - 1].serial if len(rows) > LIST_PAGE else ""
            ),
        },
    )


def _next_page(request, rows, after) -> dict:
    """Keyset pages: `after` is the last row's key when there are more rows (else empty); the
    next page's query keeps the filters."""
    query = request.GET.copy()
    query.pop("after", None)
    first = query.urlencode()
    query["after"] = after
    return {
        "next_query": query.urlencode() if after else "",
        "first_query": first if "after" in request.GET else None,
    }


@requires(can_manage_devices)
def device_add(request):
    form = DeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = ds.device_add(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Device added.")
            return redirect("devices:detail", device.pk)
    return render(request, "devices/device_add.html", {"form": form})


def _device_page(request, device, *, issued=None, status=200):
    ds.device_record_view(actor=request.user, device=device)
    open_assignment = sel.open_assignment_of(device)
    can_manage = can_manage_devices(request.user)
    context = {
        "device": device,
        "zone": request.user.agency.time_zone,
        "assignments": sel.assignments_of(device)[:100],
        "open_assignment": open_assignment,
        "credential": sel.live_credential_of(device),
        "can_manage": can_manage,
        "status_form": DeviceStatusForm(
            initial={"status": device.status, "firmware": device.firmware}
        ),
        "checkout_form": CheckOutForm(officers=sel.officers_free_for(actor=request.user))
        if can_manage and open_assignment is None
        else None,
        "recordings": sel.recordings_for(actor=request.user, device=device)[:20],
        "issued": issued,
    }
    response = render(request, "devices/device_detail.html", context, status=status)
    if issued:
        response["Cache-Control"] = "no-store"
    return response


@requires(can_view_devices)
def device_detail(request, device_id):
    device = sel.device_get_for(actor=request.user, id=device_id)
    return _device_page(request, device)


@require_POST
@requires(can_view_devices)
def device_edit(request, device_id):
    device = sel.device_get_for(actor=request.user, id=device_id, write=True)
    form = DeviceStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a status.")
        return redirect("devices:detail", device.pk)
    try:
        ds.device_update(actor=request.user, device=device, **form.cleaned_data)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, "Device updated.")
    return redirect("devices:detail", device.pk)


@require_POST
@requires(can_view_devices)
def device_check_out(request, device_id):
    device = sel.device_get_for(actor=request.user, id=device_id, write=True)
    form = CheckOutForm(request.POST, officers=sel.officers_for(actor=request.user))
    if not form.is_valid():
        messages.error(request, "Choose an officer of the agency.")
        return redirect("devices:detail", device.pk)
    officer = form.cleaned_data["officer"]
    try:
        ds.device_check_out(
            actor=request.user, device=device, officer=officer, unit=form.cleaned_data["unit"]
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, f"Not checked out: {_message(exc)}")
    else:
        messages.success(request, f"Checked out to {officer.full_name or officer.email}.")
    return redirect("devices:detail", device.pk)


@require_POST
@requires(can_view_devices)
def device_check_in(request, device_id):
    device = sel.device_get_for(actor=request.user, id=device_id, write=True)
    try:
        ds.device_check_in(actor=request.user, device=device)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, "Checked in.")
    return redirect("devices:detail", device.pk)


@never_cache
@require_POST
@requires(can_view_devices)
def credential_issue(request, device_id):
    """Issue (or rotate) the credential: the token is in this response only, never stored."""
    device = sel.device_get_for(actor=request.user, id=device_id, write=True)
    try:
        credential, token = ds.credential_issue(actor=request.user, device=device)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message(exc))
        return redirect("devices:detail", device.pk)
    provisioning = json.dumps(
        {
            "api": request.build_absolute_uri(DEVICE_API_PATH),
            "device": str(device.pk),
            "token": token,
        },
        separators=(",", ":"),
    )
    issued = {
        "credential": credential,
        "token": token,
        "stream_key": stream_key_for(token),
        "live_stream": device.pk.hex,
        "provisioning": provisioning,
        "qr_svg": qr_svg(provisioning),
    }
    return _device_page(request, device, issued=issued)


@require_POST
@requires(can_view_devices)
def credential_revoke(request, device_id):
    device = sel.device_get_for(actor=request.user, id=device_id, write=True)
    try:
        ds.credential_revoke(actor=request.user, device=device)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, "Credential revoked: the device's next call is refused.")
    return redirect("devices:detail", device.pk)


@requires(can_view_devices)
def officer_list(request):
    officers = sel.officers_for(actor=request.user)
    after = request.GET.get("after", "")
    last = (
        sel.officers_for(actor=request.user).filter(pk=after).values_list("full_name", "pk").first()
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses (a 500).
        if after.isascii() and after.isdigit()
        else None
    )
    if last is not None:  # the officers after the last one shown, in the list's order
        officers = officers.filter(Q(full_name__gt=last[0]) | Q(full_name=last[0], pk__gt=last[1]))
    rows = list(officers[: LIST_PAGE + 1])
    more = len(rows) > LIST_PAGE
    return render(
        request,
        "devices/officer_list.html",
        {
            "officers": rows[:LIST_PAGE],
            **_next_page(request, rows, rows[LIST_PAGE - 1].pk if more else ""),
        },
    )


def _officer_page(request, officer, training_form=None, status=200):
    can_manage = can_manage_devices(request.user)
    if training_form is None and can_manage:
        training_form = TrainingForm()
    context = {
        "officer": officer,
        "zone": request.user.agency.time_zone,
        "training": sel.training_of(officer),
        "current_device": sel.current_device_of(officer),
        "recordings": sel.recordings_for(actor=request.user, officer=officer)[:50],
        "can_manage": can_manage,
        "training_form": training_form,
    }
    return render(request, "devices/officer_detail.html", context, status=status)


@requires(can_view_devices)
def officer_detail(request, officer_id):
    officer = sel.officer_get_for(actor=request.user, id=officer_id)
    return _officer_page(request, officer)


@require_POST
@requires(can_view_devices)
def officer_training(request, officer_id):
    officer = sel.officer_get_for(actor=request.user, id=officer_id, write=True)
    form = TrainingForm(request.POST)
    if form.is_valid():
        try:
            ds.training_record(actor=request.user, officer=officer, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Training recorded.")
            return redirect("devices:officer", officer.pk)
    return _officer_page(request, officer, training_form=form, status=400)


@requires(can_view_devices)
def recording_list(request):
    officers = sel.officers_for(actor=request.user)
    devices = sel.device_choices_for(actor=request.user)
    form = RecordingFilterForm(request.GET or None, officers=officers, devices=devices)
    filters: dict = {}
    if form.is_valid():
        filters = {k: v.strip() if isinstance(v, str) else v for k, v in form.cleaned_data.items()}
    recordings = sel.recordings_for(actor=request.user, **filters)
    page = BoundedPaginator(recordings, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "devices/recording_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "scope": _recording_scope(query, filters),
            "zone": request.user.agency.time_zone,
        },
    )


def _recording_scope(query, filters: dict) -> list[dict]:
    """The device or officer a link narrowed the recordings to (hidden fields, so the form
    does not show them): what each is, and the same search without it."""
    scope = []
    device, officer = filters.get("device"), filters.get("officer")
    for key, label in (
        ("device", f"device {device.serial}" if device else ""),
        ("officer", (officer.full_name or officer.email) if officer else ""),
    ):
        if label:
            rest = query.copy()
            rest.pop(key, None)
            scope.append({"label": label, "without": rest.urlencode()})
    return scope


def _cad_page(request, *, secret: str = "", status: int = 200):
    return render(
        request,
        "devices/cad_settings.html",
        {
            "link": sel.cad_link_for(actor=request.user),
            "secret": secret,
            "agency_slug": request.user.agency.slug,
            "endpoint": request.build_absolute_uri(CAD_API_PATH),
        },
        status=status,
    )


@never_cache
@requires(can_manage_devices)
def cad_settings(request):
    return _cad_page(request)


@never_cache
@require_POST
@requires(can_manage_devices)
def cad_secret_rotate(request):
    """Make or rotate the CAD secret: it is in this response only, stored sealed."""
    try:
        _, secret = cad_services.cad_secret_rotate(actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message(exc))
        return redirect("devices:cad")
    return _cad_page(request, secret=secret)


@require_POST
@requires(can_manage_devices)
def cad_remote_activation(request):
    enabled = request.POST.get("remote_activation") == "on"
    try:
        cad_services.cad_remote_activation_set(actor=request.user, enabled=enabled)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(
            request, "Remote activation from CAD is on." if enabled else "Remote activation is off."
        )
    return redirect("devices:cad")


# --- trigger sources and the agency's rule per trigger type ----------------------------------


def _triggers_page(request, *, issued=None, rule_form=None, status: int = 200):
    rules = sel.rules_for(actor=request.user)
    response = render(
        request,
        "devices/triggers.html",
        {
            "sources": sel.trigger_sources_for(actor=request.user).select_related("rotated_by"),
            "rules": rules,
            "priorities": AlertPriority.choices,
            "rule_form": rule_form or AlertRuleForm(initial={"priority": AlertPriority.GENERAL}),
            "source_form": TriggerSourceForm(),
            "issued": issued,
            "endpoint": request.build_absolute_uri(TRIGGER_API_PATH),
            "zone": request.user.agency.time_zone,
        },
        status=status,
    )
    if issued:
        response["Cache-Control"] = "no-store"
    return response


@never_cache
@requires(can_manage_devices)
def trigger_settings(request):
    return _triggers_page(request)


@never_cache
@require_POST
@requires(can_manage_devices)
def trigger_source_add(request):
    """Add a trigger source: its id and secret are in this response only."""
    form = TriggerSourceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name the source (at most 100 characters).")
        return redirect("devices:triggers")
    try:
        source, secret = trigger_services.trigger_source_add(
            actor=request.user, name=form.cleaned_data["name"]
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, f"Not added: {_message(exc)}")
        return redirect("devices:triggers")
    return _triggers_page(request, issued={"source": source, "secret": secret, "new": True})


@never_cache
@require_POST
@requires(can_manage_devices)
def trigger_source_rotate(request, source_id):
    """A new secret for the source, in this response only; the old one stops working."""
    source = sel.trigger_source_get_for(actor=request.user, id=source_id)
    try:
        source, secret = trigger_services.trigger_source_rotate(
            actor=request.user, source_id=source.pk
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message(exc))
        return redirect("devices:triggers")
    return _triggers_page(request, issued={"source": source, "secret": secret, "new": False})


@require_POST
@requires(can_manage_devices)
def trigger_source_revoke(request, source_id):
    source = sel.trigger_source_get_for(actor=request.user, id=source_id)
    try:
        trigger_services.trigger_source_revoke(actor=request.user, source_id=source.pk)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, f"“{source.name}” revoked: its next delivery is refused.")
    return redirect("devices:triggers")


@require_POST
@requires(can_manage_devices)
def alert_rule_set(request):
    """Set the rule of one trigger type (a row of the table), or add a type of the agency's."""
    form = AlertRuleForm(request.POST)
    if form.is_valid():
        try:
            rule = trigger_services.alert_rule_set(actor=request.user, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            if isinstance(exc, ValidationError):
                _form_errors(form, exc)
            else:
                form.add_error(None, _message(exc))
        else:
            shown = sel.rule_for(request.user.agency, rule.kind)
            label = shown.label if shown else rule.kind
            messages.success(request, f"Saved the rule for “{label}”.")
            return redirect("devices:triggers")
    kind = request.POST.get("kind", "")
    for field, errors in form.errors.items():
        where = "" if field == "__all__" else f"{form.fields[field].label or field}: "
        for error in errors:
            messages.error(request, f"Rule for “{kind}” not saved. {where}{error}")
    return _triggers_page(request, rule_form=form, status=400)
