from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Camera registry"

    def ready(self):
        # Importing these registers audit actions, capabilities and the footage-request beat task.
        from evidence.models import Source
        from evidence.sources import SourceHooks, source_register
        from registry import audit_actions, cases, policies, tasks  # noqa: F401
        from registry.demo import seed_cameras, seed_live_camera
        from registry.footage import audit_actions as footage_audit_actions  # noqa: F401
        from registry.footage import policies as footage_policies  # noqa: F401
        from registry.footage import tasks as footage_tasks  # noqa: F401
        from registry.footage.demo import seed_footage_request

        source_register(
            SourceHooks(
                source=Source.FOOTAGE_REQUEST,
                item_received=cases.footage_item_received,
                case_links=cases.footage_request_links,
                item_camera=cases.footage_item_camera,
                case_items=cases.footage_items_filed_under,
                # the footage request asks about the cameras, so they come first
                demo_seeders=(seed_cameras, seed_live_camera, seed_footage_request),
            )
        )
