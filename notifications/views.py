from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notifications import selectors, services
from notifications.forms import PreferencesForm
from notifications.kinds import Kind
from notifications.policies import can_use_notifications
from portal.decorators import requires


@requires(can_use_notifications)
def notification_list(request):
    page = Paginator(selectors.notifications_for(user=request.user), 30).get_page(
        request.GET.get("page")
    )
    return render(request, "notifications/list.html", {"page": page})


@require_POST
@requires(can_use_notifications)
def notification_read(request, notification_id):
    """Mark one read and open what it is about (a path on this site only)."""
    notification = selectors.notification_get_for(user=request.user, id=notification_id)
    services.notification_mark_read(notification=notification)
    if url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None):
        return redirect(notification.url)
    return redirect("notifications:list")


@require_POST
@requires(can_use_notifications)
def notification_read_all(request):
    services.notifications_mark_all_read(user=request.user)
    messages.info(request, _("All notifications are marked read."))
    return redirect("notifications:list")


@requires(can_use_notifications)
def notification_settings(request):
    prefs = selectors.preferences_for(user=request.user)
    everything = Kind.values
    initial = {
        "email_on": [k for k in everything if k not in prefs.email_off],
        "in_app_on": [k for k in everything if k not in prefs.in_app_off],
        "language": prefs.language,
    }
    form = PreferencesForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.preferences_update(
            user=request.user,
            email_off=[k for k in everything if k not in data["email_on"]],
            in_app_off=[k for k in everything if k not in data["in_app_on"]],
            language=data["language"],
        )
        messages.info(request, _("Your notification settings are saved."))
        return redirect("notifications:settings")
    return render(request, "notifications/settings.html", {"form": form})
