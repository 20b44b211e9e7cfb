"""Public receipt pages: verify a receipt, and each agency's published public keys (no login)."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from evidence.disclosure.receipts import (
    MAX_RECEIPT_BYTES,
    ReceiptError,
    receipt_parse,
    receipt_verify,
)
from evidence.disclosure.signing import published_keys
from evidence.models import SigningKey
from portal.models import Agency


def _key_for(document: dict, pasted: str):
    """The key to check against: the one pasted, else the one this Canvass published."""
    if pasted.strip():
        return pasted, _("the public key you gave")
    key_id = document["signature"].get("key_id")
    key = SigningKey.objects.filter(key_id=str(key_id)).select_related("agency").first()
    if key is None:
        return None, ""
    return key.public_key, _("the key %(agency)s published here") % {"agency": key.agency.name}


@require_http_methods(["GET", "POST"])
def verify(request):
    """Paste or upload a receipt: valid or invalid, with the reason."""
    context = {"max_kib": MAX_RECEIPT_BYTES // 1024}
    if request.method == "POST":
        upload = request.FILES.get("receipt_file")
        if upload is not None:
            data = upload.read(MAX_RECEIPT_BYTES + 1)
        else:
            data = request.POST.get("receipt", "").encode()
        pasted = request.POST.get("public_key", "")
        context["pasted_key"] = pasted
        ok, reason, receipt = False, "", None
        if not data.strip():
            reason = _("invalid: no receipt was given; paste it or choose its file")
        else:
            try:
                document = receipt_parse(data)
            except ReceiptError as exc:
                reason = _("invalid: %(reason)s") % {"reason": exc}
            else:
                public_key, checked_with = _key_for(document, pasted)
                if public_key is None:
                    reason = _(
                        "invalid: this Canvass has no published key with the receipt's key id; "
                        "paste the sharing agency's public key to check it"
                    )
                else:
                    ok, reason = receipt_verify(document, public_key)
                    context["checked_with"] = checked_with
                    receipt = document["receipt"] if ok else None
        context.update(ok=ok, reason=reason, receipt=receipt, checked=True)
        return render(
            request, "evidence/disclosure/receipt_verify.html", context, status=200 if ok else 422
        )
    return render(request, "evidence/disclosure/receipt_verify.html", context)


@require_GET
def keys(request, agency_slug):
    """An agency's receipt-signing public keys, current first; old receipts still verify."""
    agency = get_object_or_404(Agency, slug=agency_slug)
    return render(
        request,
        "evidence/disclosure/receipt_keys.html",
        {"agency": agency, "keys": list(published_keys(agency=agency))},
    )


@require_GET
def public_key(request, agency_slug, key_id):
    """One public key as 64 hex digits, for `manage.py receipt_verify --public-key`."""
    key = SigningKey.objects.filter(agency__slug=agency_slug, key_id=key_id).first()
    if key is None:
        raise Http404("No such key.")
    response = HttpResponse(key.public_key + "\n", content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{key.key_id}.pub"'
    return response
