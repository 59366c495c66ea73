"""The Celery app, configured from Django's CELERY_* settings."""

import os

from celery import Celery

from serverlesspresso.operations import celery_hooks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverlesspresso.settings.production")

app = Celery("serverlesspresso")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Heartbeats, task metrics and Django's logging config in the Celery processes.
celery_hooks.install(app)
