from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    name = "workbench"
    verbose_name = "Home and work queues"

    def ready(self):
        # Importing registers the due-soon beat task.
        from workbench import tasks  # noqa: F401
