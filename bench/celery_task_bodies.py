"""The project's Celery app with the benchmark's tasks, for the task queue's worker of
bench.celery_tasks (`celery -A bench.celery_task_bodies worker -Q stepfunctions-tasks`): an
empty task (what the engine adds to a Celery task) and one that sleeps (long work beside the
stages)."""

import time

from serverlesspresso.celery import app

__all__ = ["app", "empty", "sleep"]


@app.task(name="bench.empty")
def empty() -> None:
    return None


@app.task(name="bench.sleep")
def sleep(seconds: float) -> dict:
    time.sleep(seconds)
    return {"slept": seconds}
