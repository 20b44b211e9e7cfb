from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Canvass platform"
    default = True

    def ready(self):
        # Importing these registers the platform's audit actions and its Celery tasks (queued by
        # name from services, so every process knows them, not only a worker that autodiscovers).
        from django.core import checks
        from django.db.models.signals import post_migrate

        from portal import audit_actions, tasks  # noqa: F401
        from portal.dbroles import grant_after_migrate, single_role_check

        post_migrate.connect(grant_after_migrate, dispatch_uid="portal.dbroles.grant")
        checks.register(single_role_check, checks.Tags.security, deploy=True)


class CanvassAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "portal.admin_site.CanvassAdminSite"
