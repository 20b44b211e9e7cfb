"""Prosecutors' pages ("Shared with me") and the defence counsel's reshare link.

Every page, play and download through a share is recorded for the sharing agency (its
disclosure log); a revoked or expired share is 404 from the next request on.
"""

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from evidence import audit_actions as actions
from evidence import playback as playback_grants
from evidence import policies, selectors
from evidence.cases import policies as case_policies
from evidence.cases import selectors as case_selectors
from evidence.disclosure import packages, receipts
from evidence.disclosure import policies as share_policies
from evidence.disclosure import selectors as share_selectors
from evidence.disclosure import services as share_services
from evidence.disclosure.forms import ShareForm, ShareLinkForm
from evidence.models import Derivative, EvidenceItem
from evidence.views import item_flag_save
from portal import storage
from portal.decorators import requires
from portal.templatetags.portal_time import local_and_utc
from portal.text import errors_text

VIEW_ONLY_MESSAGE = (
    "This share is view only: the agency that shared it did not allow downloads. "
    "Ask them for a view-and-download share."
)

SEALED_MESSAGE = (
    "The original of this item stays sealed: the person who sent it chose not to share what "
    "the file says about its time, place and device. Its copies, made without that metadata, "
    "play on the item's page and are in the case package with the original's SHA-256."
)


WITHHELD_MESSAGE = (
    "This share holds redacted copies only, and this item has no redacted copy that may be "
    "released yet: it is withheld. Ask the agency that shared it."
)


def _refuse_download(request, share, what: str):
    share_services.share_refuse(actor=request.user, share=share, what=what, why="view-only share")
    return render(
        request,
        "evidence/disclosure/share_refused.html",
        {"share": share, "message": VIEW_ONLY_MESSAGE},
        status=403,
    )


@requires(share_policies.can_view_shared)
def shared_list(request):
    shares = share_selectors.shares_received(actor=request.user)
    return render(request, "evidence/disclosure/shared_list.html", {"shares": shares})


@requires(share_policies.can_view_shared)
def shared_case(request, share_id):
    share = share_selectors.received_share_get_for(actor=request.user, id=share_id)
    share_services.share_record_access(
        actor=request.user, share=share, action=actions.SHARE_VIEWED.name
    )
    can_reshare = share_policies.can_reshare(request.user, share)
    items = selectors.items_with_facts(
        actor=request.user, items=share_selectors.shared_items(share=share)
    )
    if share.require_redacted:
        for item in items:
            item.release = share_selectors.release_of(item=item)
    return render(
        request,
        "evidence/disclosure/shared_case.html",
        {
            "share": share,
            "case": share.case,
            "items": items,
            "can_download": share_policies.can_download_share(request.user, share),
            "can_reshare": can_reshare,
            "link_form": ShareLinkForm() if can_reshare else None,
            "links": share_selectors.share_links_of(share=share) if can_reshare else (),
        },
    )


@requires(share_policies.can_view_shared)
def shared_item(request, share_id, item_id):
    share, item = share_selectors.shared_item_get_for(
        actor=request.user, share_id=share_id, item_id=item_id
    )
    share_services.share_record_access(
        actor=request.user,
        share=share,
        item=item,
        action=actions.VIEWED.name,
        details={"via": "shared item page"},
    )
    derivatives = {
        d.kind: d
        for d in share_selectors.shared_derivatives(share=share, item=item).exclude(
            kind=Derivative.Kind.HLS_SEGMENT
        )
    }
    facts = selectors.item_facts_for(actor=request.user, item=item)
    custody = share_selectors.custody_through_share(item=item, share=share)
    for event in custody:
        event.details = selectors.custody_details_for(
            actor=request.user, item=item, details=event.details
        )
    return render(
        request,
        "evidence/disclosure/shared_item.html",
        {
            "share": share,
            "item": item,
            "facts": facts,
            "derivatives": derivatives,
            "custody": custody,
            "can_download": share_policies.can_download_share(request.user, share),
            "release": share_selectors.release_of(item=item) if share.require_redacted else None,
        },
    )


@requires(share_policies.can_view_shared)
def shared_media(request, share_id, item_id, name):
    """Playback through the share, on the same terms as the agency's own player (see
    evidence.views.media_file): each fetch recorded, HLS segments only after the playlist."""
    share, derivative = share_selectors.shared_derivative_get_for(
        actor=request.user, share_id=share_id, item_id=item_id, name=name
    )
    item_key = str(derivative.item_id)
    if derivative.kind == Derivative.Kind.HLS_SEGMENT:
        if not playback_grants.playback_granted(session=request.session, item_id=item_key):
            raise Http404("Start playback from the item's page.")
    else:
        playback = derivative.kind in (
            Derivative.Kind.HLS_PLAYLIST,
            Derivative.Kind.PROXY_MP4,
            Derivative.Kind.AUDIO_PROXY,
            Derivative.Kind.REDACTED_VIDEO,
        )
        share_services.share_record_access(
            actor=request.user,
            share=share,
            item=derivative.item,
            action=(actions.PLAYED if playback else actions.VIEWED).name,
            details={"derivative": derivative.name, "sha256": derivative.sha256},
        )
        if derivative.kind == Derivative.Kind.HLS_PLAYLIST:
            playback_grants.playback_grant(session=request.session, item_id=item_key)
    response = FileResponse(storage.open_object(derivative.key), content_type=derivative.media_type)
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_POST
@requires(share_policies.can_view_shared)
def shared_item_download(request, share_id, item_id):
    share, item = share_selectors.shared_item_get_for(
        actor=request.user, share_id=share_id, item_id=item_id
    )
    if not share_policies.can_download_share(request.user, share):
        return _refuse_download(request, share, "download original")
    if share.require_redacted:
        return _download_redacted(request, share, item)
    if not policies.can_see_identifying_metadata(request.user, item):
        share_services.share_refuse(
            actor=request.user,
            share=share,
            what=f"download original {item.pk}",
            why="original sealed: the sender did not share its metadata",
        )
        return render(
            request,
            "evidence/disclosure/share_refused.html",
            {"share": share, "message": SEALED_MESSAGE},
            status=403,
        )
    share_services.share_record_access(
        actor=request.user,
        share=share,
        item=item,
        action=actions.DOWNLOADED.name,
        details={"what": "original", "sha256": item.sha256},
    )
    return _attachment(item.original_key, item.original_filename or str(item.pk))


def _attachment(key: str, name: str) -> FileResponse:
    """A stored object sent as a download under `name`, never cached."""
    response = FileResponse(
        storage.open_object(key),
        as_attachment=True,
        filename=name,
        content_type="application/octet-stream",
    )
    response["Content-Disposition"] = storage.attachment_disposition(name)
    response["Cache-Control"] = "private, no-store"
    return response


def _download_redacted(request, share, item):
    """A redacted-only share's download: the item's releasable redacted copy, never the
    original; an item without one is refused with the reason."""
    release = selectors.releasable_redaction(item=item)
    if release is None or release.output is None:
        share_services.share_refuse(
            actor=request.user,
            share=share,
            what=f"download {item.pk}",
            why=f"withheld: {selectors.RELEASE_WITHHELD_REASON}",
        )
        return render(
            request,
            "evidence/disclosure/share_refused.html",
            {"share": share, "message": WITHHELD_MESSAGE},
            status=403,
        )
    share_services.share_record_access(
        actor=request.user,
        share=share,
        item=item,
        action=actions.DOWNLOADED.name,
        details={
            "what": "redacted copy",
            "sha256": release.output.sha256,
            **share_services.release_details(release),
        },
    )
    return _attachment(release.output.key, release.output.name)


@requires(share_policies.can_view_shared)
def shared_package(request, share_id):
    share = share_selectors.received_share_get_for(actor=request.user, id=share_id)
    if not share_policies.can_download_share(request.user, share):
        return _refuse_download(request, share, "download package")
    items = list(share_selectors.shared_items(share=share))
    if not items:
        raise Http404("Nothing in this share can be packaged.")
    share_services.share_record_access(
        actor=request.user,
        share=share,
        action=actions.SHARE_PACKAGE_DOWNLOADED.name,
        details={"items": [str(i.pk) for i in items]},
    )
    return package_response(
        actor=request.user, case=share.case, items=items, via=f"share {share.pk}", share=share
    )


@require_POST
@requires(share_policies.can_view_shared)
def shared_acknowledge(request, share_id):
    share = share_selectors.received_share_get_for(actor=request.user, id=share_id)
    share_services.share_acknowledge(actor=request.user, share=share)
    receipts.receipt_issue(actor=request.user, share=share)
    messages.success(request, "Receipt acknowledged: the signed receipt is ready to download.")
    return redirect("evidence:shared_case", share.pk)


@requires(share_policies.can_view_shared)
def shared_receipt(request, share_id):
    """The signed receipt (JSON) of an acknowledged share, for the prosecutor's records."""
    share = share_selectors.received_share_get_for(actor=request.user, id=share_id)
    document = receipts.receipt_for(share=share)
    if document is None:
        raise Http404("Acknowledge receipt first.")
    response = HttpResponse(
        json.dumps(document, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = storage.attachment_disposition(
        f"receipt-{share.case.number}-{share.pk}.json"
    )
    return response


@require_POST
@requires(share_policies.can_view_shared)
def shared_link_create(request, share_id):
    share = share_selectors.received_share_get_for(actor=request.user, id=share_id)
    form = ShareLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect("evidence:shared_case", share.pk)
    try:
        link, token = share_services.share_link_create(
            actor=request.user,
            share=share,
            recipient_label=form.cleaned_data["recipient_label"],
            expires_at=form.expires_at(),
            max_downloads=form.cleaned_data["max_downloads"],
        )
    except PermissionDenied as exc:
        return render(
            request,
            "evidence/disclosure/share_refused.html",
            {"share": share, "message": str(exc)},
            status=403,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("evidence:shared_case", share.pk)
    url = request.build_absolute_uri(f"{reverse('evidence_public:link')}?{urlencode({'t': token})}")
    return render(
        request,
        "evidence/disclosure/share_link_made.html",
        {"share": share, "link": link, "url": url},
    )


def link_download(request):
    """Defence counsel's link: GET shows what it is (mail scanners may fetch it); POST downloads."""
    token = request.POST.get("t") or request.GET.get("t", "")
    if request.method == "POST":
        try:
            link = share_services.share_link_use(token=token)
        except share_services.LinkUnusable as exc:
            return render(
                request, "evidence/disclosure/link_unusable.html", {"message": str(exc)}, status=410
            )
        share = link.share
        items = list(share_selectors.shared_items(share=share))
        return package_response(
            actor=link.created_by,
            case=share.case,
            items=items,
            via=f"reshare link {link.pk} for {link.recipient_label}",
            share=share,
        )
    link, why = share_services.share_link_peek(token=token)
    if why:
        return render(
            request,
            "evidence/disclosure/link_unusable.html",
            {"message": why},
            status=404 if link is None else 410,
        )
    return render(request, "evidence/disclosure/link_download.html", {"link": link, "token": token})


@requires(case_policies.can_manage_cases)
def share_create(request, case_id):
    case = case_selectors.case_get_for(actor=request.user, id=case_id, write=True)
    if not share_policies.can_share_case(request.user, case):
        raise PermissionDenied
    shareable, withheld = share_services.share_disclosable_items(case=case)
    form = ShareForm(request.POST or None, case=case, shareable=shareable, actor=request.user)
    if form.is_bound and form.is_valid():
        try:
            share = share_services.share_create(actor=request.user, case=case, **form.values())
        except ValidationError as exc:
            form.add_error(None, errors_text(exc))
        else:
            messages.success(
                request,
                f"Shared {share.share_items.count()} item(s) with {share.recipient_agency} "
                f"until {local_and_utc(share.expires_at)}.",
            )
            return redirect("evidence:case_detail", case.pk)
    return render(
        request,
        "evidence/disclosure/share_form.html",
        {
            "case": case,
            "form": form,
            "shareable": shareable,
            "withheld": withheld,
            # Told before sending: what each item would go out as under "redacted copies only".
            "release_plan": selectors.release_plan(items=shareable),
            "release_withheld_reason": selectors.RELEASE_WITHHELD_REASON,
        },
    )


@require_POST
@requires(case_policies.can_manage_cases)
def share_revoke(request, case_id, share_id):
    share = share_selectors.share_get_for(actor=request.user, id=share_id, write=True)
    if str(share.case_id) != str(case_id) or not share_policies.can_share_case(
        request.user, share.case
    ):
        raise PermissionDenied
    share_services.share_revoke(actor=request.user, share=share)
    messages.success(request, f"The share with {share.recipient_agency} is revoked.")
    return redirect("evidence:case_detail", share.case_id)


@requires(case_policies.can_manage_cases)
def case_package(request, case_id):
    """The investigator's case package: every item of the case, streamed (custody per item)."""
    case = case_selectors.case_get_for(actor=request.user, id=case_id, write=True)
    items = [
        i for i in case_selectors.items_of_case(case=case) if i.state != EvidenceItem.State.DELETED
    ]
    if not items:
        raise Http404("This case has no items to package.")
    return package_response(
        actor=request.user,
        case=case,
        items=items,
        via="case page",
        include_proxies=request.GET.get("proxies") == "1",
    )


def package_response(*, actor, case, items, via: str, include_proxies: bool = False, share=None):
    """A streaming download of the case package; its download is recorded first.

    Through a share, the package speaks of that share only and every custody row it writes
    carries the share's id (the case's disclosure log)."""
    package = packages.package_stream(
        actor=actor, case=case, items=items, include_proxies=include_proxies, share=share
    )
    packages.package_record_download(
        actor=actor,
        case=case,
        items=items,
        via=via,
        share=share,
        sealed=[f["item_id"] for f in package.manifest["files"] if f.get("sealed")],
        released=packages.package_released(package.manifest),
    )
    response = StreamingHttpResponse(package, content_type="application/zip")
    response["Content-Length"] = str(package.size)
    response["Content-Disposition"] = storage.attachment_disposition(package.filename)
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@requires(case_policies.can_manage_cases)
def item_do_not_disclose(request, item_id):
    return item_flag_save(
        request,
        item_id,
        save=lambda item, on, reason: share_services.item_do_not_disclose_set(
            actor=request.user, item=item, flag=on, reason=reason
        ),
        saved="Disclosure flag saved.",
    )
