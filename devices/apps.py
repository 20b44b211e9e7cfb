from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "Body-worn cameras"

    def ready(self):
        # Importing these registers audit actions and capabilities.
        from devices import audit_actions, policies, tasks  # noqa: F401
        from devices.demo import seed_bodycam
        from devices.selectors import item_track
        from devices.services.offload import recording_item_hashed, recording_item_received
        from evidence.models import Source
        from evidence.sources import SourceHooks, source_register

        source_register(
            SourceHooks(
                source=Source.BODYCAM,
                item_received=recording_item_received,
                item_hashed=recording_item_hashed,
                item_track=item_track,
                demo_seeders=(seed_bodycam,),
            )
        )
