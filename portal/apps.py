from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Canvass platform"
    default = True

    def ready(self):
        # Importing these registers the platform's audit actions and its Celery tasks (queued by
        # name from services, so every process knows them, not only a worker that autodiscovers).
        from portal import audit_actions, tasks  # noqa: F401


class CanvassAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "portal.admin_site.CanvassAdminSite"
