from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "submissions"
    verbose_name = "Anonymous tips"

    def ready(self):
        from evidence.case_links import register_case_item_finder, register_case_link_provider
        from evidence.models import Source
        from evidence.policies import register_metadata_policy, register_sealed_at_source
        from evidence.services import register_item_received_listener
        from portal.demo import register_seeder
        from submissions import audit_actions, cases, policies  # noqa: F401 - register actions and capabilities
        from submissions.demo import seed_tips

        register_case_link_provider(cases.tip_links)
        register_case_item_finder(cases.tip_items_filed_under)
        register_item_received_listener(Source.TIP, cases.tip_item_received)
        register_seeder(seed_tips)
        # Who sees time and place stored in a tipster's files: the tipster's choice decides.
        register_metadata_policy(Source.TIP, policies.sees_tip_item_identifying_metadata)
        # ...and, where the tipster said no, the audit log withholds the file's name too.
        register_sealed_at_source(Source.TIP, policies.tip_item_sealed)
