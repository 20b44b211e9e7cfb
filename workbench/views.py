"""The home page and the staff dashboard: where each person's work is."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from evidence.context_processors import navigation as evidence_navigation
from portal import policies as portal_policies
from portal import selectors as portal_selectors
from portal import services as portal_services
from portal.decorators import requires
from registry.policies import can_own_cameras
from workbench import selectors
from workbench.forms import FootageLinkForm

RESIDENT_TOP = 10


def home(request):
    """Signed out: the three things a visitor came to do. Signed in: where their work is."""
    user = request.user
    # The header's own decision (evidence's policies): a prosecutor's work is what is shared.
    if evidence_navigation(request).get("evidence_nav", {}).get("shared"):
        return redirect("evidence:shared_list")
    if portal_policies.can_enter_staff_area(user):
        return redirect("portal:dashboard")
    if user.is_authenticated and can_own_cameras(user):
        cameras = selectors.cameras_home(actor=user)
        context = {
            "cameras": cameras[:RESIDENT_TOP],
            "camera_count": cameras.count(),
            "requests": selectors.open_requests_of_owner(owner=user)[:RESIDENT_TOP],
            "link_form": FootageLinkForm(),
        }
        return render(request, "workbench/owner_home.html", context)
    return render(request, "workbench/home.html", {"link_form": FootageLinkForm()})


@require_POST
def footage_link(request):
    """Open a footage request from its pasted link (the same page the emailed link opens)."""
    form = FootageLinkForm(request.POST)
    if form.is_valid():
        return redirect(form.cleaned_data["link"])
    return render(request, "workbench/home.html", {"link_form": form}, status=400)


@requires(portal_policies.can_enter_staff_area)
def dashboard(request):
    """The staff member's work queues, each a count and the first few rows."""
    context = {
        "cards": selectors.dashboard_cards(actor=request.user),
        "sign_ins": portal_selectors.recent_sign_ins_of(user=request.user, limit=3),
    }
    if portal_policies.can_view_audit_log(request.user):
        context["recent_events"] = portal_selectors.audit_events_readable(
            actor=request.user, events=portal_selectors.audit_events_for(actor=request.user)[:15]
        )
        portal_services.audit_log_record_read(
            actor=request.user, view="dashboard", rows=len(context["recent_events"])
        )
    return render(request, "workbench/dashboard.html", context)
