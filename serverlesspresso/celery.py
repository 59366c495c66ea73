"""The Celery app, configured from Django's CELERY_* settings."""

import os

from celery import Celery

from serverlesspresso import broker
from serverlesspresso.operations import celery_hooks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverlesspresso.settings.production")

# Before the app makes a connection: the worker survives Redis dropping it mid-task.
broker.install()
app = Celery("serverlesspresso")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Heartbeats, task metrics and Django's logging config in the Celery processes.
celery_hooks.install(app)
