"""Staff pages of the registry: the investigators' map and cameras near an incident."""

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from portal.decorators import requires
from registry import selectors, services
from registry.forms import SearchForm
from registry.models import RETENTION_STEPS, CameraKind, Participation, SearchReasonCategory
from registry.policies import can_search_cameras, can_view_camera_map
from registry.search import SearchRefused


@requires(can_view_camera_map)
def agency_map(request):
    return render(
        request,
        "registry/agency_map.html",
        {
            "kinds": CameraKind.choices,
            "participations": Participation.choices,
            "retention_steps": RETENTION_STEPS,
        },
    )


def _search_page(request, *, form, error="", outcome=None, status=200):
    results = outcome.results if outcome is not None else []
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
            "area_geojson": outcome.search.area.geojson
            if outcome is not None and outcome.search.area
            else "",
        },
        status=status,
    )


@requires(can_search_cameras)
def search(request):
    """The incident form. A POST runs one audited search, stores it, and redirects to its page
    (POST-redirect-GET: reloading the answer never runs the search again)."""
    if request.method != "POST":
        return _search_page(request, form=SearchForm(initial={"radius_m": 300}))
    form = SearchForm(request.POST)
    if not form.is_valid():
        return _search_page(request, form=form, status=400)
    try:
        outcome = services.camera_search(actor=request.user, query=form.query())
    except SearchRefused as exc:
        return _search_page(request, form=form, error=str(exc), status=400)
    except ValidationError as exc:
        return _search_page(request, form=form, error=exc.messages[0], status=400)
    return redirect("registry:search_results", search_id=outcome.search.pk)


@requires(can_search_cameras)
def search_results(request, search_id):
    """A stored search's answer (audited as a view of it), with the form to search again."""
    found = selectors.camera_search_get_for_searcher(actor=request.user, id=search_id)
    outcome = services.camera_search_view(actor=request.user, search=found)
    form = SearchForm(
        initial={
            "case_number": found.case_number,
            # A search from before categories leaves the choice to the searcher.
            "reason_category": (
                ""
                if found.reason_category == SearchReasonCategory.UNSPECIFIED
                else found.reason_category
            ),
            "reason": found.reason,
            "latitude": found.incident.y,
            "longitude": found.incident.x,
            "address": found.address,
            "area": found.area.geojson if found.area else "",
            "window_start": found.window_start,
            "window_end": found.window_end,
            "radius_m": found.radius_m,
        }
    )
    return _search_page(request, form=form, outcome=outcome)
