from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Canvass platform"
    default = True

    def ready(self):
        from portal import audit_actions  # noqa: F401 - registers the platform's actions


class CanvassAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "portal.admin_site.CanvassAdminSite"
