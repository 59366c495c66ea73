"""Bounds on how long a statement waits for a lock and runs (settings.DATABASE_BOUNDS), applied
to each PostgreSQL connection by the process that uses it.

- The web servers (serverlesspresso.asgi, serverlesspresso.wsgi) pass the "web" bounds as the
  connection's startup options: no round trip, and every request thread's connection has them.
- The Celery worker sets the "stage" bounds before a stage and the "sweep" bounds before a task
  beat schedules (the sweeps), on the task's kept connection, only when the connection's bounds
  are not those already. Any other task (a Task state's Celery task, on the task queue: the
  project's own work, a report that may rightly run for minutes) runs with PostgreSQL's defaults.
- Migrations and other management commands keep PostgreSQL's defaults (no bound): a long index
  build is not a stuck request.

A statement past its bound fails with an OperationalError (lock_not_available or query_canceled);
serverlesspresso.outage answers it as a retryable 503, and a stage's transaction rolls back for
the relay to drive it again.
"""

from celery import signals
from django.conf import settings
from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

STAGE_TASK = "stepfunctions.tasks.advance_execution"


def _milliseconds(seconds: float) -> str:
    # PostgreSQL reads a bare number as milliseconds; 0 means no bound.
    return str(max(int(seconds * 1000), 0))


def database_bounds(*, kind: str) -> dict[str, str]:
    """{"lock_timeout": ms, "statement_timeout": ms} for "web", "stage" or "sweep" (KeyError
    for any other kind)."""
    return {name: _milliseconds(value) for name, value in settings.DATABASE_BOUNDS[kind].items()}


def _postgres_aliases() -> list[str]:
    return [
        alias
        for alias, values in connections.settings.items()
        if values["ENGINE"] == "django.db.backends.postgresql"
    ]


def web_bounds_install() -> None:
    """Adds the "web" bounds to the startup options of every PostgreSQL connection this process
    will open. Called once by the web server's entry module, before the first request."""
    options = " ".join(f"-c {name}={value}" for name, value in database_bounds(kind="web").items())
    for alias in _postgres_aliases():
        database_options = connections.settings[alias].setdefault("OPTIONS", {})
        database_options["options"] = f"{database_options.get('options', '')} {options}".strip()


def _bounds_apply(connection: BaseDatabaseWrapper, kind: str) -> None:
    if getattr(connection, "_bounds_kind", None) == kind and connection.connection is not None:
        return
    bounds = database_bounds(kind=kind)
    try:
        # Opens the connection, or health-checks the kept one (CONN_HEALTH_CHECKS), first.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, false),"
                " set_config('statement_timeout', %s, false)",
                [bounds["lock_timeout"], bounds["statement_timeout"]],
            )
    except DatabaseError:
        # The database cannot answer now: the task meets the same error, and is retried as
        # every failed stage is; nothing is recorded, so the next task tries again.
        connection._bounds_kind = None
        return
    connection._bounds_kind = kind


def _bounds_cleared(connection: BaseDatabaseWrapper) -> None:
    """Back to the server's defaults, on a connection a stage or a sweep bounded before."""
    if getattr(connection, "_bounds_kind", None) is None or connection.connection is None:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout; RESET statement_timeout")
    except DatabaseError:
        return  # the task meets the same error; the next task tries again
    connection._bounds_kind = None


def _task_kind(name: str) -> str | None:
    if name == STAGE_TASK:
        return "stage"
    swept = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    return "sweep" if name in swept else None


def _bounds_for_task(sender=None, task=None, **kwargs) -> None:
    # An eager task runs on its caller's connection, perhaps inside the caller's transaction.
    if task is None or getattr(task.request, "is_eager", False):
        return
    kind = _task_kind(task.name)
    for alias in _postgres_aliases():
        if kind is None:
            _bounds_cleared(connections[alias])
        else:
            _bounds_apply(connections[alias], kind)


def _bounds_forgotten(sender, connection: BaseDatabaseWrapper, **kwargs) -> None:
    # A new connection starts with the server's defaults, whatever the previous one had.
    connection._bounds_kind = None


def worker_bounds_install(app) -> None:
    """Sets the stage's or the sweep's bounds before each task (called once, by
    serverlesspresso.celery, after its own connection tidying)."""
    signals.task_prerun.connect(_bounds_for_task, weak=False)
    connection_created.connect(_bounds_forgotten, weak=False)
