from django.apps import AppConfig


class LivefeedsConfig(AppConfig):
    name = "livefeeds"
    verbose_name = "Live feeds"

    def ready(self):
        # Importing these registers audit actions and capabilities (grant in policies).
        from devices import hooks
        from evidence.sources import source_register
        from livefeeds import audit_actions, clip_intake, policies, tasks  # noqa: F401
        from livefeeds.services import device_stopped_recording

        hooks.on_recording_stopped(device_stopped_recording)
        # Clips cut from the relay's ring arrive as live_clip items (and the worker finds
        # clip_intake's save_live_clip task through this import).
        source_register(clip_intake.SOURCE_HOOKS)
