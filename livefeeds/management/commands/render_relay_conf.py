"""`manage.py render_relay_conf`: write the relay's nginx.conf from the settings."""

from django.core.management.base import BaseCommand

from livefeeds import relay


class Command(BaseCommand):
    help = (
        "Render the live relay's nginx.conf (nginx + nginx-rtmp) into RELAY_DIR from the "
        "settings, with the folders it names; prints its path."
    )

    def handle(self, *args, **options):
        path = relay.write(relay.RelayConfig.from_settings())
        self.stdout.write(str(path))
