import factory
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import Agency, User
from portal.roles import AgencyKind, Role

PASSWORD = "correct horse battery staple"


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Agency {n}")
    slug = factory.Sequence(lambda n: f"agency-{n}")
    kind = AgencyKind.POLICE
    time_zone = "America/New_York"
    jurisdiction = factory.LazyFunction(
        lambda: MultiPolygon(Polygon.from_bbox((-74.0, 40.7, -73.9, 40.8)), srid=4326)
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Sequence(lambda n: f"User {n}")
    role = Role.INVESTIGATOR
    agency = factory.SubFactory(AgencyFactory)
    is_staff = factory.LazyAttribute(lambda u: u.role == Role.AGENCY_ADMIN)
    last_login = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def password(self, create, value, **kwargs):
        self.set_password(value or PASSWORD)
        if create:
            self.save(update_fields=["password"])


class PublicUserFactory(UserFactory):
    role = Role.RESIDENT
    agency = None
    email_verified_at = factory.LazyFunction(timezone.now)


def add_totp_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)


def stored_item(*, agency, content: bytes = b"\x00\x00\x00\x18ftypmp42 evidence bytes", **fields):
    """An evidence item whose original is really in storage, hashed, for tests not about intake."""
    import hashlib

    from django.core.files.base import ContentFile

    from evidence.models import EvidenceItem, Source
    from portal import storage

    key = storage.new_object_key(f"evidence/{agency.slug}/originals")
    storage.save_once(key, ContentFile(content))
    defaults = {
        "source": Source.STAFF_UPLOAD,
        "original_key": key,
        "original_filename": "clip.mp4",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "media_type": "video/mp4",
        "media_kind": "video",
        "state": EvidenceItem.State.READY,
        "uploaded_by_label": "test",
        "received_at": timezone.now(),
    }
    return EvidenceItem.objects.create(agency=agency, **{**defaults, **fields})
