from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal.api import views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="api-schema"),
    path(
        "docs/",
        # Our own template: drf-spectacular's inlines its script and style, which the CSP refuses.
        SpectacularSwaggerView.as_view(
            url_name="api-schema", permission_classes=[], template_name="portal/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("audit-events/", views.AuditEventList.as_view(), name="api-audit-events"),
]
