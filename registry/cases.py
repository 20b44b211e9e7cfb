"""How footage requests meet cases: listed and mapped on the case page, and their files
filed into the case with the same number as they arrive."""

import json

from django.urls import reverse

from evidence import selectors as evidence_selectors
from evidence import services as evidence_services
from evidence.models import Case, EvidenceItem, Source
from evidence.sources import CaseLink
from notifications.kinds import Kind as NotificationKind
from notifications.services import notify
from portal.models import User
from portal.templatetags.portal_time import local_and_utc
from registry.footage.selectors import answer_counts, footage_requests_for_case_number
from registry.footage.services import footage_uploads_record
from registry.models import FootageRequestCamera
from registry.policies import can_view_camera_map


def footage_request_links(*, actor: User, case: Case) -> list[CaseLink]:
    """The agency's footage requests filed under the case's number, with counts of the answers,
    and the cameras whose owners answered, for the map (unanswered ones are only counted)."""
    links = []
    requests = footage_requests_for_case_number(actor=actor, case_number=case.number)
    for request in requests:
        url = reverse("registry_requests:detail", args=[request.pk])
        counts = answer_counts(request)
        links.append(
            CaseLink(
                kind="footage_request",
                label=f"Footage request: window from {local_and_utc(request.window_start)}",
                url=url,
                status=(
                    f"{request.get_status_display()}; {counts.asked} asked, "
                    f"{counts.uploaded} uploaded, {counts.no_footage} no footage, "
                    f"{counts.declined} declined, {counts.no_answer} no answer"
                ),
                created_at=request.created_at,
            )
        )
        for rc in request.cameras.filter(status__in=FootageRequestCamera.ANSWERED).select_related(
            "camera"
        ):
            camera = rc.camera
            links.append(
                CaseLink(
                    kind="camera",
                    label=f"{camera.name} ({camera.get_kind_display()})",
                    url=url,
                    status=rc.get_status_display(),
                    created_at=request.created_at,
                    lat=camera.location.y,
                    lon=camera.location.x,
                )
            )
    return links


def footage_item_received(item: EvidenceItem) -> None:
    """An owner's file arrived: the camera counts as answered at once, and the file joins the case."""
    try:
        rc = FootageRequestCamera.objects.select_related("request__requested_by").get(
            pk=int(item.source_ref)
        )
    except (ValueError, FootageRequestCamera.DoesNotExist):
        return
    if rc.request.agency_id != item.agency_id:
        return
    footage_uploads_record(request_cameras=[rc])
    evidence_services.case_item_link_by_number(
        agency=item.agency,
        case_number=rc.request.case_number,
        item=item,
        actor_label=f"footage request {rc.request_id}",
    )
    notify(
        recipient=rc.request.requested_by,
        kind=NotificationKind.FOOTAGE_ARRIVED,
        url=reverse("registry_requests:detail", args=[rc.request_id]),
        params={"case_number": rc.request.case_number},
        dedupe_key=f"footage_arrived:{rc.pk}",
    )


def footage_items_filed_under(*, case) -> list[EvidenceItem]:
    """Files owners sent for the agency's requests under the case's number."""
    refs = FootageRequestCamera.objects.filter(
        request__agency=case.agency, request__case_number__iexact=case.number
    ).values_list("pk", flat=True)
    return list(
        evidence_selectors.items_from_source(
            source=Source.FOOTAGE_REQUEST, refs=[str(ref) for ref in refs]
        ).filter(agency=case.agency)
    )


def footage_item_camera(actor: User, item: EvidenceItem) -> dict | None:
    """The registered camera whose owner sent this file, with its cone, for the case map; only
    for whom the registry shows cameras (a case member without camera access sees none)."""
    if not can_view_camera_map(actor):
        return None
    try:
        rc = FootageRequestCamera.objects.select_related("camera", "request").get(
            pk=int(item.source_ref)
        )
    except (ValueError, FootageRequestCamera.DoesNotExist):
        return None
    if rc.request.agency_id != item.agency_id:
        return None
    camera = rc.camera
    return {
        "label": f"{camera.name} ({camera.get_kind_display()})",
        "lat": camera.location.y,
        "lon": camera.location.x,
        "cone": json.loads(camera.fov.geojson) if camera.fov else None,
    }
