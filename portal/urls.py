from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import set_language

from portal import map_views, views

portal_patterns = [
    # The home page and the staff dashboard read every app's queues: they live in workbench,
    # mounted here so their names stay `portal:home` and `portal:dashboard`.
    path("", include("workbench.urls")),
    path("login/", views.login_view, name="login"),
    path("login/code/", views.login_verify, name="login_verify"),
    path("login/enrol/", views.login_enrol, name="login_enrol"),
    path("logout/", views.logout_view, name="logout"),
    path("signup/", views.signup, name="signup"),
    path("signup/verify/", views.signup_verify, name="signup_verify"),
    path("account/", views.account, name="account"),
    path("account/mfa/", views.account_mfa, name="account_mfa"),
    path(
        "password/reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="portal/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password/set/<uidb64>/<token>/",
        views.PasswordSetView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/set/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="portal/password_set_done.html"),
        name="password_reset_complete",
    ),
    path("staff/audit/", views.audit_log, name="audit_log"),
    path("staff/audit/export.csv", views.audit_export, name="audit_export"),
    path("healthz", views.healthz, name="healthz"),
    path("maps/basemap.pmtiles", map_views.basemap, name="basemap"),
    path("maps/geocode", map_views.geocode, name="geocode"),
]

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    path("staff/evidence/", include("evidence.urls")),
    path("evidence/", include("evidence.public_urls")),
    path("receipts/", include("evidence.disclosure.receipt_urls")),
    path("audit/checkpoints/", include("portal.checkpoint_urls")),
    path("api/evidence/", include("evidence.api_urls")),
    path("api/uploads/", include("evidence.intake.tus_urls")),
    path("staff/devices/", include("devices.urls")),
    path("api/cad/v1/", include("devices.cad_urls")),
    path("staff/live/", include("livefeeds.urls")),
    path("relay/", include("livefeeds.relay_urls")),
    path("staff/registry/requests/", include("registry.footage.urls")),
    path("staff/registry/", include("registry.urls")),
    path("cameras/mine/history/", include("registry.history_urls")),
    path("cameras/mine/", include("livefeeds.owner_urls")),
    path("cameras/", include("registry.public_urls")),
    path("api/registry/", include("registry.api_urls")),
    path("api/registry/", include("registry.footage.api_urls")),
    path("footage/", include("registry.footage.owner_urls")),
    path("notifications/", include("notifications.urls")),
    path("tips/", include("submissions.urls")),
    path("staff/tips/", include("submissions.staff_urls")),
    path("api/tips/", include("submissions.api_urls")),
    path("api/devices/v1/", include("devices.api_urls")),
    path("api/", include("portal.api.urls")),
    path("transparency/", include("transparency.urls")),
    path("staff/review/", include("review.urls")),
    path("staff/goals/", include("transparency.staff_urls")),
    path("admin/", admin.site.urls),
    # The language switcher in base.html posts to Django's set_language. Without a CSRF token:
    # the public tip pages set no cookie at all until someone picks a language, and a forged
    # switch can only change the language a page is shown in (`next` is checked as usual).
    path("i18n/setlang/", csrf_exempt(set_language), name="set_language"),
]

handler403 = "portal.views.error_403"
handler404 = "portal.views.error_404"
