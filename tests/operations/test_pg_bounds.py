"""serverlesspresso.database_bounds in the worker: before each task its kind's lock and statement
bounds are on the task's connection (a stage's, a sweep's), set again only when they change; a
Task state's Celery task runs with the server's defaults; an eager task, running on its caller's
connection, is left alone. (The web's bounds, and what a request past them answers, are in
test_pg_faults.py, on a real web process.)"""

from types import SimpleNamespace

import pytest
from django.db import connection

from serverlesspresso.database_bounds import STAGE_TASK, _bounds_for_task

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="lock_timeout and statement_timeout: PostgreSQL's"
)


def task(name: str, *, eager: bool = False) -> SimpleNamespace:
    return SimpleNamespace(name=name, request=SimpleNamespace(is_eager=eager))


def bounds() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"
        )
        return cursor.fetchone()


def test_each_task_runs_under_its_kinds_bounds(transactional_db, settings):
    settings.DATABASE_BOUNDS = {
        "web": {"lock_timeout": 3, "statement_timeout": 15},
        "stage": {"lock_timeout": 1.5, "statement_timeout": 20},
        "sweep": {"lock_timeout": 2.5, "statement_timeout": 0},
    }
    try:
        _bounds_for_task(task=task(STAGE_TASK))
        assert bounds() == ("1500ms", "20s")
        _bounds_for_task(task=task("stepfunctions.tasks.expire_tokens"))
        assert bounds() == ("2500ms", "0")
        _bounds_for_task(task=task(STAGE_TASK, eager=True))
        assert bounds() == ("2500ms", "0"), "an eager task keeps its caller's settings"

        # A new connection starts from the server's defaults: the next task sets its bounds again.
        connection.close()
        _bounds_for_task(task=task("stepfunctions.tasks.relay_due_stages"))
        assert bounds() == ("2500ms", "0")

        # A Task state's Celery task (the project's work) runs unbounded, as PostgreSQL's defaults.
        _bounds_for_task(task=task(STAGE_TASK))
        assert bounds() == ("1500ms", "20s")
        _bounds_for_task(task=task("stepfunctions.tasks.run_celery_task"))
        assert bounds() == ("0", "0")
        _bounds_for_task(task=task(STAGE_TASK))
        assert bounds() == ("1500ms", "20s"), "bounded again for the next stage"
    finally:
        connection.close()
