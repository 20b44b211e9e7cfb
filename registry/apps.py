from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Camera registry"

    def ready(self):
        # Importing these registers audit actions, capabilities and the footage-request beat task.
        from evidence.case_links import register_case_item_finder, register_case_link_provider
        from evidence.models import Source
        from evidence.services import register_item_received_listener
        from portal.demo import register_seeder
        from registry import audit_actions, cases, policies, tasks  # noqa: F401
        from registry.demo import seed_cameras
        from registry.footage import audit_actions as footage_audit_actions  # noqa: F401
        from registry.footage import policies as footage_policies  # noqa: F401
        from registry.footage import tasks as footage_tasks  # noqa: F401
        from registry.footage.demo import seed_footage_request

        register_case_link_provider(cases.footage_request_links)
        register_case_item_finder(cases.footage_items_filed_under)
        register_item_received_listener(Source.FOOTAGE_REQUEST, cases.footage_item_received)
        register_seeder(seed_cameras)
        register_seeder(seed_footage_request)  # after the cameras it asks about
