from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        # Importing registers the audit action and the email task.
        from notifications import audit_actions, tasks  # noqa: F401
