"""How tips meet cases: listed on the case page, and their files filed into the case whose
number the tip carries (when the tip gets the number, when a file arrives, when the case opens)."""

from django.core.exceptions import PermissionDenied
from django.urls import reverse

from evidence import selectors as evidence_selectors
from evidence import services as evidence_services
from evidence.models import EvidenceItem, Source
from evidence.sources import CaseLink
from portal.models import User
from submissions import selectors, services
from submissions.models import Tip


def tip_links(*, actor: User, case) -> list[CaseLink]:
    """The agency's tips filed under the case's number, as the case page lists them."""
    try:
        tips = list(selectors.tips_for_case_number(actor=actor, case_number=case.number))
    except PermissionDenied:
        return []
    services.tips_record_case_lookup(actor=actor, case_number=case.number, count=len(tips))
    return [
        CaseLink(
            kind="tip",
            label=f"Tip {tip.reference}: {tip.category.name}",
            url=reverse("submissions_staff:tip", args=[tip.reference]),
            status=tip.get_status_display(),
            created_at=tip.received_at,
        )
        for tip in tips
    ]


def tip_item_received(item: EvidenceItem) -> None:
    """A file sent with (or added to) a tip joins the tip's case, if it has one."""
    tip = Tip.objects.filter(agency_id=item.agency_id, reference=item.source_ref).first()
    if tip is not None and tip.case_number:
        evidence_services.case_item_link_by_number(
            agency=tip.agency,
            case_number=tip.case_number,
            item=item,
            actor_label=services.tip_label(tip),
        )


def tip_items_filed_under(*, case) -> list[EvidenceItem]:
    """Files of the agency's tips that carry the case's number."""
    refs = Tip.objects.filter(agency=case.agency, case_number__iexact=case.number).values_list(
        "reference", flat=True
    )
    return list(
        evidence_selectors.items_from_source(source=Source.TIP, refs=list(refs)).filter(
            agency=case.agency
        )
    )
