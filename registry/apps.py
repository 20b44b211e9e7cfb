from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Camera registry"

    def ready(self):
        from registry import audit_actions, policies  # noqa: F401 - register actions and capabilities
        from registry import (  # noqa: F401 - the same for footage requests, and their beat task
            requests_audit_actions,
            requests_policies,
            requests_tasks,
        )
