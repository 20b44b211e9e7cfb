from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = "Evidence"

    def ready(self):
        from evidence import audit_actions, policies  # noqa: F401 - register actions and capabilities
        from evidence.demo import seed_evidence
        from evidence.models import EvidenceItem
        from evidence.selectors import audit_details_for_reader
        from portal.audit import register_details_filter
        from portal.demo import register_seeder

        register_seeder(seed_evidence)
        register_details_filter(EvidenceItem._meta.label_lower, audit_details_for_reader)
