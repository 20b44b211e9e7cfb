from base64 import b32encode

from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import demo_town, services
from portal.checkpoints import audit_checkpoints_take, checkpoint_signer_for
from portal.demo import run_seeders
from portal.models import Agency, User
from portal.roles import AgencyKind, Role

DEMO_PASSWORD = "canvass-demo-2026"  # noqa: S105 - printed for newcomers, demo data only

# Riverton is fictional; its streets are portal/demo_town.py's, its basemap `basemap_demo`'s.
RIVERTON = MultiPolygon(Polygon.from_bbox(demo_town.BBOX), srid=4326)

DEMO_STAFF = [
    ("investigator@riverton.example", "Ines Investigator", Role.INVESTIGATOR, "police"),
    ("supervisor@riverton.example", "Sam Supervisor", Role.SUPERVISOR, "police"),
    ("dispatcher@riverton.example", "Dana Dispatcher", Role.DISPATCHER, "police"),
    ("admin@riverton.example", "Ada Admin", Role.AGENCY_ADMIN, "police"),
    ("auditor@riverton.example", "Aud Auditor", Role.AUDITOR, "police"),
    ("reviewer@riverton.example", "Remy Reviewer", Role.COMMUNITY_REVIEWER, "police"),
    ("prosecutor@riverton-da.example", "Pat Prosecutor", Role.PROSECUTOR, "prosecution"),
]
DEMO_PUBLIC = [
    ("resident@example.com", "Rosa Resident", Role.RESIDENT),
    ("shop@example.com", "Corner Shop Ltd", Role.BUSINESS),
]


def demo_agencies() -> dict[str, Agency]:
    police, _ = Agency.objects.get_or_create(
        slug="riverton-pd",
        defaults={
            "name": "Riverton Police Department",
            "kind": AgencyKind.POLICE,
            "jurisdiction": RIVERTON,
            "time_zone": "America/New_York",
        },
    )
    prosecution, _ = Agency.objects.get_or_create(
        slug="riverton-da",
        defaults={
            "name": "Riverton County Prosecutor's Office",
            "kind": AgencyKind.PROSECUTION,
            "jurisdiction": RIVERTON,
            "time_zone": "America/New_York",
        },
    )
    return {"police": police, "prosecution": prosecution}


def demo_staff_user(email, name, role, agency) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = services.staff_user_create(
            actor=None,
            email=email,
            full_name=name,
            role=role,
            agency=agency,
            send_invite=False,
        )
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        TOTPDevice.objects.create(user=user, name="Demo authenticator", confirmed=True)
    return user


SEALED_ELSEWHERE = (
    "This database was seeded by another Canvass checkout: the signing key of agency "
    "'{agency}' is sealed under a different SECRET_KEY than the one in this checkout's .env. "
    "Either put that checkout's SECRET_KEY in this .env, or start the demo afresh: "
    "psql -h 127.0.0.1 -U postgres -c 'DROP DATABASE canvass WITH (FORCE)' and run make run again."
)


class Command(BaseCommand):
    help = "Load demo agencies and one user per role; print their logins and TOTP secrets."

    def handle(self, *args, **options):
        self._check_keys_open()
        with transaction.atomic():
            agencies, users, rows = self._platform()
        self._print_logins(rows)
        run_seeders(agencies=agencies, users=users, stdout=self.stdout)
        # Today's audit checkpoints now, so the demo shows one before the nightly job runs.
        for checkpoint in audit_checkpoints_take():
            self.stdout.write(
                f"Audit checkpoint of {checkpoint.agency.slug} at seq {checkpoint.seq}: "
                + reverse("checkpoints:list", kwargs={"agency_slug": checkpoint.agency.slug})
            )

    def _check_keys_open(self):
        """A database seeded by another checkout holds keys sealed under that checkout's
        SECRET_KEY, which this one cannot open: say so before seeding anything."""
        for agency in Agency.objects.order_by("pk"):
            try:
                checkpoint_signer_for(agency)
            except ValueError:
                raise CommandError(SEALED_ELSEWHERE.format(agency=agency.slug)) from None

    def _platform(self):
        agencies = demo_agencies()
        rows, users = [], {}
        for email, name, role, kind in DEMO_STAFF:
            user = demo_staff_user(email, name, role, agencies[kind])
            users[role] = user
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            secret = b32encode(device.bin_key).decode().rstrip("=") if device else "-"
            rows.append((Role(role).label, email, secret, device.config_url if device else ""))
        for email, name, role in DEMO_PUBLIC:
            if not User.objects.filter(email=email).exists():
                User.objects.create_user(
                    email,
                    DEMO_PASSWORD,
                    full_name=name,
                    role=role,
                    email_verified_at=timezone.now(),
                )
            rows.append((Role(role).label, email, "(optional, none set)", ""))
        return agencies, users, rows

    def _print_logins(self, rows):
        self.stdout.write(f"\nCanvass demo logins (password for all: {DEMO_PASSWORD})\n")
        for label, email, secret, uri in rows:
            self.stdout.write(f"  {label:<18} {email:<34} TOTP secret: {secret}")
            if uri:
                self.stdout.write(f"  {'':<18} {uri}")
        self.stdout.write(
            "\nAdd a secret to any authenticator app (or `oathtool --totp -b SECRET`).\n"
        )
