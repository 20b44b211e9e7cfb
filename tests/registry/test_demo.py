"""The demo seeder gives `make run` a populated registry, once."""

import io

import pytest
from django.core.management import call_command

from registry.models import Camera, CameraCell

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_cameras_once():
    call_command("seed_demo", stdout=io.StringIO())
    first = Camera.objects.count()
    assert Camera.objects.filter(owner__email="resident@example.com", kind="doorbell").count() == 1
    assert Camera.objects.filter(owner__email="shop@example.com").count() == 12
    assert first == 313
    assert CameraCell.objects.filter(scope=0, count__gt=0).exists()
    call_command("seed_demo", stdout=io.StringIO())
    assert Camera.objects.count() == first
