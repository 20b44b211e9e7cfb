"""Django's `migrate`, connected as the role that owns the tables (DATABASE_OWNER_URL).

The app's own role (DATABASE_URL) may not create or alter tables; every `migrate` (make run,
a deployment, the test database pytest-django builds) runs as the owner here, and then grants
the app role its privileges (portal.dbroles, on post_migrate).
"""

from django.core.management.commands import migrate

from portal.dbroles import connected_as_owner


class Command(migrate.Command):
    help = migrate.Command.help + " Runs as the owner role (DATABASE_OWNER_URL)."

    def handle(self, *args, **options):
        with connected_as_owner(options["database"]):
            return super().handle(*args, **options)
