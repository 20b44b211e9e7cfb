"""Staff pages of the registry: the investigators' map and cameras near an incident."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import render

from portal.decorators import requires
from registry import services
from registry.forms import SearchForm
from registry.models import RETENTION_STEPS, CameraKind, Participation
from registry.policies import can_search_cameras, can_view_camera_map


def _map_context() -> dict:
    return {"tile_url": settings.MAP_TILE_URL, "tile_attribution": settings.MAP_TILE_ATTRIBUTION}


@requires(can_view_camera_map)
def agency_map(request):
    return render(
        request,
        "registry/agency_map.html",
        {
            "kinds": CameraKind.choices,
            "participations": Participation.choices,
            "retention_steps": RETENTION_STEPS,
            **_map_context(),
        },
    )


@requires(can_search_cameras)
def search(request):
    """The incident form; a POST runs one audited search and shows its answer."""
    outcome, error = None, ""
    if request.method == "POST":
        form = SearchForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                outcome = services.camera_search(
                    actor=request.user,
                    query=services.SearchQuery(
                        case_number=data["case_number"],
                        reason=data["reason"],
                        window_start=data["window_start"],
                        window_end=data["window_end"],
                        latitude=data["latitude"],
                        longitude=data["longitude"],
                        address=data["address"],
                        area=data["area"],
                        radius_m=data["radius_m"],
                    ),
                )
            except (services.SearchRefused, ValidationError) as exc:
                error = str(exc) if isinstance(exc, services.SearchRefused) else exc.messages[0]
    else:
        form = SearchForm(initial={"radius_m": 300})
    agency_zone = zoneinfo.ZoneInfo(request.user.agency.time_zone)
    results = []
    if outcome is not None:
        for hit in outcome.results:
            hit.overwritten_local = hit.overwritten_at.astimezone(agency_zone)
            results.append(hit)
    return render(
        request,
        "registry/search.html",
        {
            "form": form,
            "error": error,
            "outcome": outcome,
            "results": results,
            "results_geo": [
                {
                    "lat": h.latitude,
                    "lon": h.longitude,
                    "name": h.name,
                    "direction_deg": h.direction_deg,
                    "fov_angle_deg": h.fov_angle_deg,
                    "range_m": h.range_m,
                    "coverage": h.coverage,
                }
                for h in results
            ],
            "agency_zone": request.user.agency.time_zone,
            **_map_context(),
        },
        status=400 if request.method == "POST" and outcome is None else 200,
    )
