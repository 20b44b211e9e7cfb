from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = "Evidence"

    def ready(self):
        # Importing these registers audit actions, capabilities and the Celery tasks (items are
        # offered to workers by task name, so every process must know the tasks).
        from evidence import audit_actions, policies, tasks  # noqa: F401
        from evidence.cases import policies as case_policies  # noqa: F401
        from evidence.demo import seed_evidence
        from evidence.disclosure import policies as share_policies  # noqa: F401
        from evidence.disclosure.signing import checkpoint_signer_for
        from evidence.models import EvidenceItem
        from evidence.selectors import audit_details_for_reader
        from portal.audit import register_details_filter
        from portal.checkpoints import register_checkpoint_signer
        from portal.demo import register_seeder

        register_seeder(seed_evidence)
        register_details_filter(EvidenceItem._meta.label_lower, audit_details_for_reader)
        register_checkpoint_signer(checkpoint_signer_for)
