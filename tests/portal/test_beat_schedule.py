"""Every beat entry names a task the worker knows: a task moved to another module keeps its name."""

from django.conf import settings

from portal.celery import app
from registry.footage import tasks as footage_tasks


def _registered_tasks() -> dict:
    # What a worker has after start-up: autodiscovered <app>.tasks plus what apps' ready() import.
    app.loader.import_default_modules()
    return app.tasks


def test_every_beat_entry_names_a_registered_task():
    registered = _registered_tasks()
    missing = {
        entry: spec["task"]
        for entry, spec in settings.CELERY_BEAT_SCHEDULE.items()
        if spec["task"] not in registered
    }
    assert not missing


def test_the_footage_sweep_keeps_its_old_name_after_its_move():
    entry = settings.CELERY_BEAT_SCHEDULE["footage-requests-sweep"]["task"]
    assert entry == "registry.requests_tasks.footage_requests_sweep"
    assert _registered_tasks()[entry].name == footage_tasks.footage_requests_sweep.name == entry
