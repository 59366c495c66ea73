"""The Celery app, configured from Django's CELERY_* settings."""

import os

from celery import Celery, signals
from django.db import close_old_connections, connections

from serverlesspresso import broker, database_bounds
from serverlesspresso.operations import celery_hooks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverlesspresso.settings.production")

# Before the app makes a connection: the worker survives Redis dropping it mid-task.
broker.install()
app = Celery("serverlesspresso")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Heartbeats, task metrics and Django's logging config in the Celery processes.
celery_hooks.install(app)


# Database connections in the worker. Celery's Django fixup closes every connection before and
# after each task unless CELERY_DB_REUSE_MAX is set (settings.base sets it): each nudge then paid a
# new PostgreSQL connection, a backend started and authenticated and the hot path's prepared
# statements lost, which was most of what an empty nudge cost. Instead a task treats its
# connections as Django's request cycle does, and a pool process checks a kept one before using it.
@signals.task_prerun.connect(weak=False)
@signals.task_postrun.connect(weak=False)
def _connections_tidied(sender=None, **kwargs) -> None:
    """Before and after each task: closes a connection past CONN_MAX_AGE, or one an error left
    unusable; the next query opens a new one. Not around an eager task, which runs on its
    caller's connection, perhaps inside the caller's transaction."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    close_old_connections()


@signals.worker_process_init.connect(weak=False)
def _connections_health_checked(**kwargs) -> None:
    """In a pool process, a kept connection answers a SELECT 1 before a task's first query
    (Django's CONN_HEALTH_CHECKS), so one the server dropped between tasks (a restart, an idle
    timeout) is replaced instead of failing the stage. (settings.base now turns it on for every
    process, web requests too; kept here for settings of another origin.)"""
    for alias in connections:
        connections[alias].settings_dict["CONN_HEALTH_CHECKS"] = True


# After the tidying above: the stage's or the sweep's lock and statement bounds on the connection.
database_bounds.worker_bounds_install(app)
