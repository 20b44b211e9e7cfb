"""The community review pages: the panel's samples, one sample, one item and its finding."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from portal import storage
from portal.decorators import requires
from review import policies, selectors, services
from review.forms import FindingForm
from review.kinds import kind_label
from review.models import Outcome


@requires(policies.can_see_samples)
def index(request):
    return render(
        request,
        "review/index.html",
        {
            "samples": selectors.samples_for(actor=request.user),
            "reviewer": policies.can_review_items(request.user),
        },
    )


@requires(policies.can_see_samples)
def sample(request, sample_id: int):
    found = selectors.sample_get_for(actor=request.user, sample_id=sample_id)
    services.sample_view_record(actor=request.user, sample=found)
    return render(
        request,
        "review/sample.html",
        {
            "sample": found,
            "reviewer": policies.can_review_items(request.user),
            "ended": selectors.access_ended(found),
            "rows": selectors.sample_rows(actor=request.user, sample=found),
            "summary": selectors.findings_summary(sample=found),
            "outcomes": Outcome.choices,
        },
    )


@requires(policies.can_see_samples)
def item(request, item_id: int):
    found = services.sampled_item_open(actor=request.user, item_id=item_id)
    mine = selectors.finding_of(actor=request.user, item=found)
    form = FindingForm(request.POST if request.method == "POST" and mine is None else None)
    if request.method == "POST" and mine is None and form.is_valid():
        try:
            services.finding_record(
                actor=request.user,
                item=found,
                outcome=form.cleaned_data["outcome"],
                text=form.cleaned_data["text"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("Finding recorded."))
            return redirect("review:sample", sample_id=found.sample_id)
    return render(
        request,
        "review/item.html",
        {
            "item": found,
            "sample": found.sample,
            "label": kind_label(found.kind),
            "facts": selectors.item_facts(item=found),
            "mine": mine,
            "form": form,
            "redacted": selectors.redacted_copy_of(item=found),
        },
        status=400 if request.method == "POST" and form.errors else 200,
    )


@requires(policies.can_see_samples)
def item_redacted(request, item_id: int):
    """The released redacted copy of a sampled recording (solid fill, approved): each fetch
    audited; the original is never served here."""
    derivative = services.sampled_redacted_copy_open(actor=request.user, item_id=item_id)
    response = FileResponse(storage.open_object(derivative.key), content_type=derivative.media_type)
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
