from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = "Evidence"

    def ready(self):
        from evidence import audit_actions, policies  # noqa: F401 - register actions and capabilities
        from evidence.demo import seed_evidence
        from portal.demo import register_seeder

        register_seeder(seed_evidence)
