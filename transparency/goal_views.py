"""The goals dashboard for supervisors and agency admins: list, set, change and retire goals,
each with its monthly values, trend chart, status and the latest month's unit comparison."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.decorators import requires
from transparency import selectors, services
from transparency.forms import GoalForm
from transparency.metrics import GOALS_NOT_YET, goal_metrics
from transparency.policies import can_manage_goals
from transparency.templatetags.transparency import figure


def _chart_context() -> dict:
    return {
        "width": selectors.CHART_WIDTH,
        "height": selectors.CHART_HEIGHT,
        "baseline": selectors.CHART_HEIGHT - selectors.CHART_BOTTOM,
    }


def _shown(view: selectors.GoalView) -> dict:
    """A goal as the staff pages draw it: exact values (staff see the small counts too)."""
    unit = view.metric.unit if view.metric else "count"
    period = selectors.goal_months(goal=view.goal, now=selectors._far_future())
    short = {m: date_format(m, "M") for m in period}
    values = [v[0] if v else None for v in view.values]
    return {
        "view": view,
        "unit": unit,
        "chart": selectors.goal_chart(view, values, short),
        "rows": [
            {
                "label": date_format(m, "M Y"),
                "key": f"{m:%Y-%m}",
                "value": figure(v[0], unit) if v else "–",
                "basis": v[1] if v else 0,
            }
            for m, v in reversed(list(zip(view.months, view.values, strict=True)))
        ],
        "baseline": figure(view.goal.baseline_value, unit),
        "target": figure(view.goal.target_value, unit),
        "latest": figure(view.latest_value[0], unit) if view.latest_value else "–",
        "expected": figure(view.expected, unit) if view.expected is not None else "–",
        "comparison": [
            {"unit": d, "value": figure(v, unit), "basis": b} for d, v, b in view.comparison
        ],
    }


def _metrics_context() -> dict:
    return {"metrics": goal_metrics(), "not_yet": GOALS_NOT_YET}


@never_cache
@requires(can_manage_goals)
def goal_list(request):
    goals = [_shown(selectors.goal_view(goal=g)) for g in selectors.goals_for(actor=request.user)]
    return render(
        request,
        "transparency/goals/list.html",
        {"goals": goals, "chart": _chart_context(), **_metrics_context()},
    )


def _save(request, form: GoalForm, goal=None):
    """Create or change the goal from a valid form; the service's refusals land on the form."""
    try:
        if goal is None:
            goal = services.goal_create(actor=request.user, data=form.goal_input())
            messages.success(request, f"Goal “{goal.title}” set.")
        else:
            goal = services.goal_update(actor=request.user, goal=goal, data=form.goal_input())
            messages.success(request, f"Goal “{goal.title}” saved.")
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc.messages)
        return None
    return goal


@never_cache
@requires(can_manage_goals)
def goal_new(request):
    form = GoalForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and (goal := _save(request, form)) is not None:
            return redirect("goals:detail", goal_id=goal.pk)
        status = 400
    return render(
        request,
        "transparency/goals/form.html",
        {"form": form, "goal": None, **_metrics_context()},
        status=status,
    )


@never_cache
@requires(can_manage_goals)
def goal_detail(request, goal_id: int):
    goal = selectors.goal_get_for(actor=request.user, id=goal_id)
    return render(
        request,
        "transparency/goals/detail.html",
        {"g": _shown(selectors.goal_view(goal=goal)), "chart": _chart_context()},
    )


@never_cache
@requires(can_manage_goals)
def goal_edit(request, goal_id: int):
    goal = selectors.goal_get_for(actor=request.user, id=goal_id)
    if goal.retired_at is not None:
        messages.error(request, "A retired goal is kept as it was; set a new one instead.")
        return redirect("goals:detail", goal_id=goal.pk)
    form = GoalForm(request.POST or None, initial=GoalForm.initial_of(goal))
    status = 200
    if request.method == "POST":
        if form.is_valid() and _save(request, form, goal) is not None:
            return redirect("goals:detail", goal_id=goal.pk)
        status = 400
    return render(
        request,
        "transparency/goals/form.html",
        {"form": form, "goal": goal, **_metrics_context()},
        status=status,
    )


@require_POST
@requires(can_manage_goals)
def goal_retire(request, goal_id: int):
    goal = selectors.goal_get_for(actor=request.user, id=goal_id)
    services.goal_retire(actor=request.user, goal=goal)
    messages.success(request, f"Goal “{goal.title}” retired.")
    return redirect("goals:list")
