"""Staff pages of footage requests (dashboard, new, detail, approval) and the owner's history."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.decorators import requires
from registry.footage import selectors as sel
from registry.footage import services as rs
from registry.footage.forms import FootageRequestForm, RefuseForm
from registry.footage.policies import (
    can_approve_footage_request,
    can_request_footage,
    can_view_footage_requests,
)
from registry.policies import can_own_cameras


def _camera_label(camera) -> str:
    if not camera.contactable:
        return f"{camera.name} — its owner does not want to be contacted"
    if not camera.is_active:
        return f"{camera.name} — paused by its owner"
    return f"{camera.name} ({camera.get_kind_display()}, keeps {camera.retention_days} days)"


@requires(can_request_footage)
def request_new(request):
    """Ask the owners of cameras chosen from a search (`?search=<id>&camera=<id>...`)."""
    found = sel.camera_search_get_for_footage_viewer(
        actor=request.user, id=request.GET.get("search", "")
    )
    cameras = sel.search_cameras(search=found)
    choices = [(str(c.pk), _camera_label(c)) for c in cameras]
    if request.method == "POST":
        form = FootageRequestForm(request.POST, camera_choices=choices)
        if form.is_valid():
            data = form.cleaned_data
            try:
                made = rs.footage_request_create(
                    actor=request.user,
                    search=found,
                    camera_ids=data["cameras"],
                    case_number=data["case_number"],
                    reason=data["reason"],
                    message=data["message"],
                    window_start=data["window_start"],
                    window_end=data["window_end"],
                    deadline=data["deadline"],
                    ask_approval=data["ask_approval"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                if made.status == made.Status.AWAITING_APPROVAL:
                    messages.success(
                        request, "Saved. It is sent to the owners once a supervisor approves it."
                    )
                else:
                    messages.success(request, "The request was emailed to the camera owners.")
                return redirect("registry_requests:detail", made.pk)
    else:
        wanted = set(request.GET.getlist("camera"))
        form = FootageRequestForm(
            camera_choices=choices,
            initial={
                "cameras": [c for c, _ in choices if c in wanted],
                "case_number": found.case_number,
                "reason": found.reason,
                "window_start": found.window_start,
                "window_end": found.window_end,
            },
        )
    cap = sel.registry_policy_for(request.user.agency).max_window_minutes
    return render(
        request,
        "registry/footage/new.html",
        {"form": form, "search": found, "cap_minutes": cap},
    )


@requires(can_view_footage_requests)
def request_list(request):
    rows = [
        {
            "req": row.req,
            "counts": row.counts,
            "state": row.state,
            "first_answer": _since(row.first_answer),
        }
        for row in sel.footage_request_rows(actor=request.user)
    ]
    rs.footage_requests_record_list(actor=request.user, count=len(rows))
    return render(
        request,
        "registry/footage/list.html",
        {
            "rows": rows,
            "awaiting": sel.awaiting_my_approval(actor=request.user)
            if any(r["state"] == sel.RequestState.AWAITING_APPROVAL for r in rows)
            else [],
        },
    )


@requires(can_view_footage_requests)
def request_detail(request, request_id):
    req = sel.footage_request_get_for(actor=request.user, id=request_id)
    cameras = sel.answered_camera_rows(actor=request.user, request=req)
    rs.footage_request_record_view(
        actor=request.user, request=req, items=sum(len(c.items) for c in cameras), via="page"
    )
    counts = sel.answer_counts(req)
    return render(
        request,
        "registry/footage/detail.html",
        {
            "req": req,
            "cameras": cameras,
            "counts": counts,
            "state": sel.request_state(
                status=req.status,
                asked=counts.asked,
                answered=counts.answered,
                deadline=req.deadline,
            ),
            "first_answer": _since(sel.time_to_first_answer(req)),
            "can_decide": can_approve_footage_request(request.user, req),
            "failed_emails": sel.failed_emails(request=req),
            "refuse_form": RefuseForm(),
        },
    )


@require_POST
@requires(can_request_footage)
def request_approve(request, request_id):
    req = sel.footage_request_get_for(actor=request.user, id=request_id)
    try:
        rs.footage_request_approve(actor=request.user, request=req)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, "Approved: the request was emailed to the camera owners.")
    return redirect("registry_requests:detail", req.pk)


@require_POST
@requires(can_request_footage)
def request_refuse(request, request_id):
    req = sel.footage_request_get_for(actor=request.user, id=request_id)
    form = RefuseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the request is refused.")
        return redirect("registry_requests:detail", req.pk)
    try:
        rs.footage_request_refuse(
            actor=request.user, request=req, reason=form.cleaned_data["reason"]
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, "Refused: nobody was contacted.")
    return redirect("registry_requests:detail", req.pk)


@require_POST
@requires(can_request_footage)
def request_resend(request, request_id, recipient_id):
    """Send a failed email again, with a fresh link."""
    req = sel.footage_request_get_for(actor=request.user, id=request_id)
    try:
        sent = rs.footage_request_resend(actor=request.user, request=req, recipient_id=recipient_id)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message(exc))
    else:
        if sent:
            messages.success(request, "Sent again with a fresh link.")
        else:
            messages.error(request, "Sending failed again: the mail server refused it. Try later.")
    return redirect("registry_requests:detail", req.pk)


def _since(delta) -> str | None:
    return None if delta is None else rs.duration_text(delta)


def _message(exc) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "You may not do that."


def access_history(request, camera_id=None):
    """An owner's page: who searched for or asked about their cameras, from the audit log."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_own_cameras(request.user):
        raise PermissionDenied
    entries = sel.camera_access_history_for(owner=request.user, camera_id=camera_id)
    if camera_id is not None and not sel.owns_camera(owner=request.user, camera_id=camera_id):
        raise Http404("No such camera.")
    return render(request, "registry/footage/history.html", {"entries": entries})
