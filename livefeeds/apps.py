from django.apps import AppConfig


class LivefeedsConfig(AppConfig):
    name = "livefeeds"
    verbose_name = "Live feeds"

    def ready(self):
        # Importing these registers audit actions and capabilities (grant in policies).
        from devices import hooks
        from livefeeds import audit_actions, policies, tasks  # noqa: F401
        from livefeeds.services import device_stopped_recording

        hooks.on_recording_stopped(device_stopped_recording)
