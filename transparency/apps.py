from django.apps import AppConfig


class TransparencyConfig(AppConfig):
    name = "transparency"
    verbose_name = "Transparency"

    def ready(self):
        # Importing registers the beat task and the goals' audit actions.
        from portal.demo import register_seeder
        from portal.roles import Role, grant
        from transparency import audit_actions, tasks  # noqa: F401
        from transparency.demo import seed_history
        from transparency.policies import MANAGE_GOALS

        grant(Role.SUPERVISOR, MANAGE_GOALS)
        grant(Role.AGENCY_ADMIN, MANAGE_GOALS)
        register_seeder(seed_history)
