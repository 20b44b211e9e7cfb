from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = "Community review"

    def ready(self):
        from portal.demo import register_seeder
        from portal.roles import Role, grant
        from review import audit_actions, kinds, tasks  # noqa: F401 - registers actions, kinds, beat task
        from review.demo import seed_review
        from review.policies import OVERSEE_SAMPLES, REVIEW_ITEMS

        grant(Role.COMMUNITY_REVIEWER, REVIEW_ITEMS)
        grant(Role.AGENCY_ADMIN, OVERSEE_SAMPLES)
        register_seeder(seed_review)
