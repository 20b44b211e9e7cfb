from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "submissions"
    verbose_name = "Anonymous tips"

    def ready(self):
        from evidence.models import Source
        from evidence.sources import SourceHooks, source_register
        from submissions import audit_actions, cases, policies, tasks  # noqa: F401 - register actions, capabilities, tasks
        from submissions.demo import seed_tips

        source_register(
            SourceHooks(
                source=Source.TIP,
                item_received=cases.tip_item_received,
                case_links=cases.tip_links,
                case_items=cases.tip_items_filed_under,
                # Who sees time and place stored in a tipster's files: the tipster's choice...
                sees_identifying_metadata=policies.sees_tip_item_identifying_metadata,
                # ...and, where the tipster said no, the audit log withholds the file's name too.
                sealed_at_source=policies.tip_item_sealed,
                demo_seeders=(seed_tips,),
            )
        )
