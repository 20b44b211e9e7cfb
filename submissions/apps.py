from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "submissions"
    verbose_name = "Anonymous tips"

    def ready(self):
        from evidence.models import Source
        from evidence.policies import register_metadata_policy
        from portal.demo import register_seeder
        from submissions import audit_actions, policies  # noqa: F401 - register actions and capabilities
        from submissions.demo import seed_tips

        register_seeder(seed_tips)
        # Who sees time and place stored in a tipster's files: the tipster's choice decides.
        register_metadata_policy(Source.TIP, policies.sees_tip_item_identifying_metadata)
