"""Owners' camera pages (/cameras/mine/) and the public map (/cameras/map/)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from portal import geocoding
from portal.decorators import requires
from registry import selectors, services
from registry.forms import AddressForm, CameraForm
from registry.policies import can_own_cameras

# Where the map opens when the owner has no camera yet and no address was looked up.
DEFAULT_CENTRE = (40.75, -73.95)


@requires(can_own_cameras)
def camera_list(request):
    cameras = selectors.cameras_of(actor=request.user)
    return render(request, "registry/camera_list.html", {"cameras": cameras})


def _centre(request, camera=None) -> tuple[float, float]:
    if camera is not None:
        return camera.location.y, camera.location.x
    last = selectors.cameras_of(actor=request.user).order_by("-created_at").first()
    if last is not None:
        return last.location.y, last.location.x
    return DEFAULT_CENTRE


def _lookup(request) -> tuple[AddressForm, dict]:
    """Geocode the typed address; say plainly when the service cannot, so the owner drags the pin."""
    form = AddressForm(request.POST)
    if not form.is_valid():
        return form, {"geocode_error": "Type an address (at most 300 characters)."}
    try:
        place = geocoding.geocode(form.cleaned_data["address"])
    except geocoding.GeocoderUnavailable:
        return form, {
            "geocode_error": "Address search is not available right now: drag the pin instead."
        }
    except ValueError as exc:
        return form, {"geocode_error": str(exc)}
    if place is None:
        return form, {"geocode_error": "No place matches that address: drag the pin instead."}
    return form, {"geocoded": place}


def _camera_page(request, *, camera=None):
    lookup = {}
    address_form = AddressForm()
    if request.method == "POST" and "find_address" in request.POST:
        address_form, lookup = _lookup(request)
        data = request.POST.copy()
        if "geocoded" in lookup:
            data["latitude"] = f"{lookup['geocoded'].latitude:.7f}"
            data["longitude"] = f"{lookup['geocoded'].longitude:.7f}"
        form = CameraForm(initial=data.dict())
    elif request.method == "POST":
        form = CameraForm(request.POST)
        if form.is_valid():
            try:
                if camera is None:
                    camera = services.camera_register(actor=request.user, data=form.cleaned_data)
                    messages.success(
                        request, _("“%(name)s” is registered.") % {"name": camera.name}
                    )
                else:
                    services.camera_update(
                        actor=request.user, camera_id=camera.id, data=form.cleaned_data
                    )
                    messages.success(request, _("“%(name)s” is saved.") % {"name": camera.name})
                return redirect("cameras:mine")
            except ValidationError as exc:
                form.add_error(None, exc)
    elif camera is not None:
        form = CameraForm(
            initial={
                **{name: getattr(camera, name) for name in services.CAMERA_FIELDS},
                "latitude": camera.location.y,
                "longitude": camera.location.x,
            }
        )
    else:
        lat, lon = _centre(request)
        form = CameraForm(
            initial={
                "latitude": lat,
                "longitude": lon,
                "time_zone": services.default_time_zone(latitude=lat, longitude=lon),
            }
        )
    centre = (
        (form["latitude"].value(), form["longitude"].value())
        if form["latitude"].value() not in (None, "")
        else _centre(request, camera)
    )
    return render(
        request,
        "registry/camera_form.html",
        {
            "form": form,
            "camera": camera,
            "address_form": address_form,
            "centre": centre,
            "geocoder_configured": geocoding.is_configured(),
            **lookup,
        },
    )


@requires(can_own_cameras)
def camera_new(request):
    return _camera_page(request)


@requires(can_own_cameras)
def camera_edit(request, camera_id):
    camera = selectors.camera_get_for(actor=request.user, id=camera_id, write=True)
    return _camera_page(request, camera=camera)


@require_POST
@requires(can_own_cameras)
def camera_pause(request, camera_id):
    camera = services.camera_pause(actor=request.user, camera_id=camera_id)
    messages.success(
        request, _("“%(name)s” is paused: it is in no map and no search.") % {"name": camera.name}
    )
    return redirect("cameras:mine")


@require_POST
@requires(can_own_cameras)
def camera_resume(request, camera_id):
    camera = services.camera_resume(actor=request.user, camera_id=camera_id)
    messages.success(request, _("“%(name)s” takes part again.") % {"name": camera.name})
    return redirect("cameras:mine")


@require_POST
@requires(can_own_cameras)
def camera_delete(request, camera_id):
    camera = services.camera_delete(actor=request.user, camera_id=camera_id)
    messages.success(request, _("“%(name)s” is deleted.") % {"name": camera.name})
    return redirect("cameras:mine")


@requires(can_own_cameras)
def camera_import(request):
    errors = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors = [(0, "Choose a CSV file.")]
        elif upload.size > services.CSV_MAX_BYTES:
            errors = [(0, f"The file is larger than {services.CSV_MAX_BYTES // 1024} KB.")]
        else:
            try:
                cameras = services.cameras_import_csv(actor=request.user, raw=upload.read())
            except services.CsvImportError as exc:
                errors = exc.errors
            else:
                messages.success(
                    request,
                    ngettext(
                        "%(count)d camera imported.", "%(count)d cameras imported.", len(cameras)
                    )
                    % {"count": len(cameras)},
                )
                return redirect("cameras:mine")
    return render(
        request,
        "registry/camera_import.html",
        {
            "errors": errors,
            "required": services.CSV_REQUIRED,
            "optional": services.CSV_OPTIONAL,
            "max_rows": services.CSV_MAX_ROWS,
            "max_kb": services.CSV_MAX_BYTES // 1024,
        },
        status=400 if errors else 200,
    )


def public_map(request):
    """No sign-in: counts of public cameras per area, never a camera's position."""
    return render(request, "registry/public_map.html")
