from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Camera registry"

    def ready(self):
        # Importing these registers audit actions, capabilities and the footage-request beat task.
        from portal.demo import register_seeder
        from registry import (  # noqa: F401
            audit_actions,
            policies,
            requests_audit_actions,
            requests_policies,
            requests_tasks,
        )
        from registry.demo import seed_cameras
        from registry.requests_demo import seed_footage_request

        register_seeder(seed_cameras)
        register_seeder(seed_footage_request)  # after the cameras it asks about
