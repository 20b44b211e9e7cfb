from django.apps import AppConfig


class TransparencyConfig(AppConfig):
    name = "transparency"
    verbose_name = "Transparency"

    def ready(self):
        # Importing registers the beat task.
        from transparency import tasks  # noqa: F401
