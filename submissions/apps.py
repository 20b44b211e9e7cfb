from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "submissions"
    verbose_name = "Anonymous tips"

    def ready(self):
        from portal.demo import register_seeder
        from submissions import audit_actions, policies  # noqa: F401 - register actions and capabilities
        from submissions.demo import seed_tips

        register_seeder(seed_tips)
