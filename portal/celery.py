"""The Celery application: broker on Redis, tasks discovered in every installed app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("canvass")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
